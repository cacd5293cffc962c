# hone test-harness driver. Runs inside the Python sandbox guest as the cell
# "<hone-harness>", after the candidate's own cell. `__HONE_SPEC__` is
# replaced by a JSON literal by the host. Results go through the guest's
# `report` import, one JSON object per event, so results before a timeout or
# a crash survive it.


def __hone_tests_of(style, source, test_file):
    """(tree, check, body): where a suite's tests are — the body of
    `def check(candidate)` for HumanEval style, else the module. Raises
    ValueError with the reason when there are none to find."""
    import ast

    try:
        tree = ast.parse(source, test_file)
    except SyntaxError as exc:
        msg = str(exc)
        raise ValueError("tests do not parse: " + type(exc).__name__ + (": " + msg if msg else ""))
    body = tree.body
    check = None
    if style == "check":
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "check":
                check = node
        if check is None:
            raise ValueError("tests define no check(candidate) function")
        body = check.body
    return tree, check, body


def __hone_is_test(node):
    """A statement is a test when it holds an assert that is not `assert
    <constant>`."""
    import ast

    if isinstance(node, ast.Assert) and isinstance(node.test, ast.Constant):
        return False
    return any(isinstance(n, ast.Assert) for n in ast.walk(node))


def __hone_harness_main(spec):
    import ast
    import functools
    import io
    import json
    import linecache
    import operator
    import sys
    import time
    import traceback

    from wit_world import report

    if spec.get("plans") is not None:
        # Plan mode: the tests of each suite as the driver numbers them,
        # found from the sources alone (nothing of the tests runs, and
        # there is no candidate).
        for j, (style, source) in enumerate(spec["plans"]):
            try:
                _, _, body = __hone_tests_of(style, source, spec["test_file"])
            except ValueError:
                report(json.dumps({"event": "unplannable", "suite": j}))
                continue
            index = 0
            for node in body:
                if __hone_is_test(node):
                    text = ast.get_source_segment(source, node) or ""
                    report(json.dumps({"event": "test", "suite": j, "i": index, "source": text, "line": node.lineno}))
                    index += 1
            report(json.dumps({"event": "planned", "suite": j, "total": index}))
        report(json.dumps({"event": "done"}))
        return

    g = globals()
    test_file = spec["test_file"]
    cand_file = spec["candidate_file"]
    max_repr = spec["max_repr"]
    max_stdout = spec["max_stdout"]
    skip = set(spec["skip"])
    user_files = {test_file, cand_file}

    def emit(obj):
        report(json.dumps(obj))

    def short(value):
        try:
            text = repr(value)
        except BaseException as exc:  # noqa: BLE001
            text = "<repr failed: %s>" % type(exc).__name__
        if len(text) > max_repr:
            text = text[:max_repr] + "...[%d chars]" % len(text)
        return text

    class Capped(io.TextIOBase):
        def __init__(self, cap):
            self.parts, self.size, self.cap, self.truncated = [], 0, cap, False

        def writable(self):
            return True

        def write(self, s):
            s = str(s)
            room = self.cap - self.size
            if len(s) > room:
                self.truncated = True
            piece = s[: max(room, 0)]
            if piece:
                self.parts.append(piece)
                self.size += len(piece)
            return len(s)

        def value(self):
            return "".join(self.parts)

    def user_traceback(exc):
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in user_files]
        lines = []
        if frames:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.StackSummary.from_list(frames).format())
        lines.extend(traceback.format_exception_only(type(exc), exc))
        return "".join(lines), frames

    def exc_text(exc):
        msg = str(exc)
        return type(exc).__name__ + (": " + msg if msg else "")

    # The namespace tests run in: the candidate's globals, with its
    # functions wrapped so the outermost call and its result are recorded.
    calls = {"depth": 0, "last": None}

    def recorder(name, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            outer = calls["depth"] == 0
            calls["depth"] += 1
            try:
                result = fn(*args, **kwargs)
            finally:
                calls["depth"] -= 1
            if outer:
                shown = ", ".join([short(a) for a in args] + ["%s=%s" % (k, short(v)) for k, v in kwargs.items()])
                calls["last"] = "%s(%s) returned %s" % (name, shown, short(result))
            return result

        return wrapper

    ns = {}
    for key, value in list(g.items()):
        if key.startswith("__hone"):
            continue
        code = getattr(value, "__code__", None)
        if code is not None and code.co_filename == cand_file:
            value = recorder(key, value)
        ns[key] = value
    ns["__name__"] = "__main__"
    entry = spec.get("entry_point")
    if entry:
        if entry not in g:
            emit({"event": "fatal", "message": "entry point %r is not defined by the candidate" % entry})
            return
        ns["candidate"] = recorder(entry, g[entry])

    source = spec["test_source"]
    linecache.cache[test_file] = (len(source), None, source.splitlines(True), test_file)
    try:
        tree, check, body = __hone_tests_of(spec["style"], source, test_file)
    except ValueError as exc:
        emit({"event": "fatal", "message": str(exc)})
        return

    if check is not None:
        # Module-level statements other than `check` (imports, helpers).
        for node in tree.body:
            if node is check:
                continue
            try:
                exec(compile(ast.Module([node], []), test_file, "exec"), ns)
            except BaseException as exc:  # noqa: BLE001
                emit({"event": "fatal", "message": "test setup failed: " + exc_text(exc), "traceback": user_traceback(exc)[0]})
                return

    ops = {
        ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
        ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
        ast.Is: operator.is_, ast.IsNot: operator.is_not,
        ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    }
    op_text = {
        ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
        ast.GtE: ">=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
    }

    def evaluate(expr):
        return eval(compile(ast.Expression(expr), test_file, "eval"), ns)

    index = 0
    for node in body:
        if not __hone_is_test(node):
            try:
                exec(compile(ast.Module([node], []), test_file, "exec"), ns)
            except BaseException as exc:  # noqa: BLE001
                emit({"event": "fatal", "message": "test setup failed: " + exc_text(exc), "traceback": user_traceback(exc)[0]})
                return
            continue
        i = index
        index += 1
        if i in skip:
            continue
        text = ast.get_source_segment(source, node) or ""
        emit({"event": "start", "i": i, "source": text, "line": node.lineno})
        calls["last"] = None
        out = Capped(max_stdout)
        result = {"event": "result", "i": i, "source": text, "line": node.lineno}
        saved = sys.stdout
        sys.stdout = out
        started = time.perf_counter()
        try:
            test = node.test if isinstance(node, ast.Assert) else None
            if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in ops:
                left = evaluate(test.left)
                right = evaluate(test.comparators[0])
                op = type(test.ops[0])
                if bool(ops[op](left, right)):
                    result["status"] = "passed"
                else:
                    result["status"] = "failed"
                    if op is ast.Eq:
                        result["expected"], result["actual"] = short(right), short(left)
                    else:
                        result["expected"] = "%s %s" % (op_text[op], short(right))
                        result["actual"] = short(left)
            elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
                value = evaluate(test.operand)
                if not value:
                    result["status"] = "passed"
                else:
                    result["status"] = "failed"
                    result["expected"], result["actual"] = "a falsy value", short(value)
            elif test is not None:
                value = evaluate(test)
                if value:
                    result["status"] = "passed"
                else:
                    result["status"] = "failed"
                    result["expected"], result["actual"] = "a truthy value", short(value)
            else:
                exec(compile(ast.Module([node], []), test_file, "exec"), ns)
                result["status"] = "passed"
        except AssertionError as exc:
            tb_text, frames = user_traceback(exc)
            result["status"] = "failed"
            result["exception"] = exc_text(exc)
            result["traceback"] = tb_text
            test_frames = [f for f in frames if f.filename == test_file]
            if test_frames and test_frames[-1].line:
                result["source"] = test_frames[-1].line
                result["line"] = test_frames[-1].lineno
        except BaseException as exc:  # noqa: BLE001 - SystemExit, MemoryError...
            result["status"] = "error"
            result["exception"] = exc_text(exc)
            result["traceback"] = user_traceback(exc)[0]
        finally:
            sys.stdout = saved
        result["duration_ms"] = (time.perf_counter() - started) * 1000.0
        if calls["last"] is not None:
            result["call"] = calls["last"]
        result["stdout"] = out.value()
        result["stdout_truncated"] = out.truncated
        emit(result)
    emit({"event": "done", "total": index})


__hone_harness_main(__HONE_SPEC__)
del __hone_harness_main
