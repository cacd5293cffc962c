# hone execution-trace driver. Runs inside the Python sandbox guest as the
# cell "<hone-trace>", after the candidate's own cell (`candidate.py`).
# `__HONE_SPEC__` is replaced by a JSON literal by the host (tools/src/trace.rs).
#
# It runs one test statement under `sys.settrace` and reports, for every line
# the candidate executed, the local variables' values after that line ran
# (the reference's "value after each block", at line granularity). Only the
# candidate's frames are traced. The first `head` events are streamed as they
# happen (so a timeout keeps them); the last `tail` are reported at the end.


def __hone_trace_main(spec):
    import collections
    import json
    import sys

    from wit_world import report

    cand_file = spec["candidate_file"]
    max_value = spec["max_value_chars"]
    max_vars = spec["max_vars"]
    head = spec["head"]
    tail = spec["tail"]
    hard_cap = spec["hard_cap"]
    lines = spec["candidate"].splitlines()

    def emit(obj):
        report(json.dumps(obj))

    def short(value):
        try:
            text = repr(value)
        except BaseException as exc:  # noqa: BLE001
            text = "<repr failed: %s>" % type(exc).__name__
        if len(text) > max_value:
            half = max(max_value // 2, 1)
            text = text[:half] + "..." + text[-half:]
        return text

    def code_of(lineno):
        if 1 <= lineno <= len(lines):
            return lines[lineno - 1].strip()
        return ""

    def snapshot(frame):
        out = []
        for name, value in list(frame.f_locals.items()):
            if name.startswith("__"):
                continue
            if len(out) >= max_vars:
                out.append(["...", "%d more" % (len(frame.f_locals) - max_vars)])
                break
            out.append([name, short(value)])
        return out

    state = {"count": 0, "stopped": False}
    last = collections.deque(maxlen=max(tail, 1))
    started = {}

    def record(event):
        n = state["count"]
        state["count"] = n + 1
        event["n"] = n
        if n < head:
            emit({"event": "step", "step": event})
        elif tail > 0:
            last.append(event)
        if state["count"] >= hard_cap:
            state["stopped"] = True

    def local_trace(frame, event, arg):
        if state["stopped"]:
            return None
        key = id(frame)
        if event == "line":
            prev = started.get(key)
            if prev is not None:
                record({"kind": "line", "line": prev, "code": code_of(prev), "values": snapshot(frame)})
            started[key] = frame.f_lineno
        elif event == "return":
            prev = started.pop(key, None)
            line = prev if prev is not None else frame.f_lineno
            record({"kind": "return", "line": line, "code": code_of(line), "values": snapshot(frame), "detail": short(arg)})
        elif event == "exception":
            exc_type, exc, _ = arg
            msg = str(exc)
            record({"kind": "exception", "line": frame.f_lineno, "code": code_of(frame.f_lineno), "values": snapshot(frame),
                    "detail": exc_type.__name__ + (": " + msg if msg else "")})
        return local_trace

    def global_trace(frame, event, arg):
        if state["stopped"] or event != "call" or frame.f_code.co_filename != cand_file:
            return None
        record({"kind": "call", "line": frame.f_lineno, "code": code_of(frame.f_lineno), "values": snapshot(frame)})
        return local_trace

    g = globals()
    ns = {}
    for key, value in list(g.items()):
        if not key.startswith("__hone"):
            ns[key] = value
    ns["__name__"] = "__main__"
    entry = spec.get("entry_point")
    if entry:
        if entry not in g:
            emit({"event": "fatal", "message": "entry point %r is not defined by the candidate" % entry})
            return
        ns["candidate"] = g[entry]
    try:
        if spec["setup"]:
            exec(compile(spec["setup"], "<hone-trace-setup>", "exec"), ns)
        code = compile(spec["statement"], "<test>", "exec")
    except BaseException as exc:  # noqa: BLE001
        msg = str(exc)
        emit({"event": "fatal", "message": "the test could not be prepared: " + type(exc).__name__ + (": " + msg if msg else "")})
        return

    outcome = "completed"
    sys.settrace(global_trace)
    try:
        exec(code, ns)
    except BaseException as exc:  # noqa: BLE001 - AssertionError is the usual end
        msg = str(exc)
        outcome = type(exc).__name__ + (": " + msg if msg else "")
    finally:
        sys.settrace(None)
    for event in last:
        emit({"event": "step", "step": event})
    emit({"event": "done", "total": state["count"], "outcome": outcome, "capped": state["stopped"]})


__hone_trace_main(__HONE_SPEC__)
del __hone_trace_main
