# hone-bench's guest script: HumanEval public tests from a prompt's doctest
# examples, one `assert` per example that can be one. Runs in the Python
# sandbox guest (standard library only). Reads a JSON list of prompts on
# stdin, prints a JSON list of [asserts, skipped] pairs, one per prompt.

import ast
import doctest
import io
import json
import sys
import tokenize


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


def main():
    prompts = json.loads(sys.stdin.read())
    print(json.dumps([list(public_asserts(p)) for p in prompts]))


main()
