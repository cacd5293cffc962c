"""hone's Python guest: runs untrusted cells inside a WebAssembly component.

Everything importable is imported at build time (componentize-py snapshots the
interpreter after this module loads; modules not imported then do not exist at
run time). `run` executes cells in the instance's persistent globals, so a
host that keeps one instance per session gets REPL semantics.
"""

import sys
import types

# --- build time: import the stdlib, sympy and mpmath ------------------------

# Modules with side effects on import, GUI toolkits, and the test suite.
_SKIP_TOP = {
    "antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo",
    "test", "ensurepip", "venv", "lib2to3", "pydoc_data", "__hello__",
    "__phello__", "xxlimited", "xxlimited_35", "xxsubtype",
}
_SKIP_PARTS = {"test", "tests", "testing", "_test", "__main__", "idle_test"}


def _import_quietly(name):
    try:
        __import__(name)
        return True
    except BaseException:  # noqa: BLE001 - absent C extensions, SystemExit...
        return False


def _walk(package):
    import pkgutil

    module = sys.modules.get(package)
    path = getattr(module, "__path__", None)
    if path is None:
        return
    for info in pkgutil.walk_packages(path, package + ".", onerror=lambda _n: None):
        parts = info.name.split(".")
        if any(p in _SKIP_PARTS for p in parts[1:]):
            continue
        _import_quietly(info.name)


def _install_ctypes_stub():
    """sympy only needs `ctypes.c_long` and `sizeof`; `_ctypes` is absent."""
    try:
        import ctypes  # noqa: F401
        return
    except BaseException:  # noqa: BLE001
        pass
    stub = types.ModuleType("ctypes")

    class c_long:  # noqa: N801 - mirrors ctypes
        _size = 4

        def __init__(self, value=0):
            self.value = value

    stub.c_long = c_long
    stub.sizeof = lambda t: getattr(t, "_size", 4)
    sys.modules["ctypes"] = stub


def _preimport():
    for name in sorted(sys.stdlib_module_names):
        if name in _SKIP_TOP or name.startswith("_test"):
            continue
        if _import_quietly(name):
            _walk(name)
    _install_ctypes_stub()
    for name in ("mpmath", "sympy"):
        if _import_quietly(name):
            _walk(name)


_preimport()

# --- run time ---------------------------------------------------------------

import ast  # noqa: E402
import builtins  # noqa: E402
import io  # noqa: E402
import linecache  # noqa: E402
import marshal  # noqa: E402
import random  # noqa: E402
import traceback  # noqa: E402

import wit_world  # noqa: E402
from wit_world import Outcome, Status  # noqa: E402



# --- host tools ----------------------------------------------------------------
#
# `hone_host` is what sandboxed code sees of the host's tools: `call_tool`
# sends a JSON object of arguments to the host and returns the tool's JSON
# result; the host defines one plain function per registered tool in the
# run's globals through `define_tools` (its first cell), so code calls
# `wikipedia_search("x")` like any function.


def _make_hone_host():
    import json as _json

    import componentize_py_types as _types

    module = types.ModuleType("hone_host")
    module.__doc__ = "Tools the host lends to sandboxed code."

    class HostToolError(RuntimeError):
        """A host tool gave no result: unknown tool, bad arguments, its own
        error, or its time limit."""

    HostToolError.__module__ = "hone_host"

    def call_tool(name, /, **arguments):
        """Calls host tool `name` with keyword `arguments` (JSON values)."""
        try:
            payload = _json.dumps(arguments)
        except (TypeError, ValueError) as exc:
            raise HostToolError("%s: arguments are not JSON: %s" % (name, exc)) from None
        try:
            text = wit_world.call_tool(str(name), payload)
        except _types.Err as exc:
            raise HostToolError(str(exc.value)) from None
        return _json.loads(text)

    def _tool_function(name, params, description):
        def tool(*args, **kwargs):
            if len(args) > len(params):
                raise TypeError("%s() takes %d arguments (%d given)" % (name, len(params), len(args)))
            arguments = dict(zip(params, args))
            for key, value in kwargs.items():
                if key in arguments:
                    raise TypeError("%s() got multiple values for argument %r" % (name, key))
                arguments[key] = value
            return call_tool(name, **arguments)

        tool.__name__ = tool.__qualname__ = name
        tool.__doc__ = description
        return tool

    def define_tools(namespace, spec):
        """Defines a function per tool of `spec` (JSON: a list of
        {name, params, description}) in `namespace`."""
        for entry in _json.loads(spec):
            namespace[entry["name"]] = _tool_function(
                entry["name"], list(entry["params"]), entry["description"]
            )

    module.HostToolError = HostToolError
    module.call_tool = call_tool
    module.define_tools = define_tools
    return module


sys.modules["hone_host"] = _make_hone_host()

_THIS_FILE = __file__ if "__file__" in globals() else "app.py"
_GLOBALS = {"__name__": "__main__", "__builtins__": builtins}
_STDOUT = sys.stdout
_STDERR = sys.stderr
try:
    _STDOUT.reconfigure(line_buffering=True)
    _STDERR.reconfigure(line_buffering=True)
except Exception:  # noqa: BLE001
    pass


def _register_source(name, code):
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)


def _exec_cell(cell):
    _register_source(cell.name, cell.code)
    if not cell.echo:
        if cell.compiled:
            code = marshal.loads(cell.compiled)
        else:
            code = compile(cell.code, cell.name, "exec")
        exec(code, _GLOBALS)
        return
    tree = ast.parse(cell.code, cell.name, "exec")
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    if last is not None:
        tree.body.pop()
    exec(compile(tree, cell.name, "exec"), _GLOBALS)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), cell.name, "eval"), _GLOBALS)
        if value is not None:
            print(repr(value))


def _user_traceback(exc):
    """Format `exc`, dropping the guest's own frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == _THIS_FILE:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass


class WitWorld(wit_world.WitWorld):
    def compile(self, code, name):
        try:
            return marshal.dumps(compile(code, name, "exec"))
        except BaseException:  # noqa: BLE001 - the host falls back to source
            return b""

    def run(self, cells, stdin, seed):
        random.seed(seed)
        sys.stdin = io.StringIO(stdin)
        sys.stdout = _STDOUT
        sys.stderr = _STDERR
        current = ""
        try:
            for cell in cells:
                current = cell.name
                _exec_cell(cell)
        except SystemExit as exc:
            code = exc.code
            if code is None:
                code = 0
            elif not isinstance(code, int):
                print(code, file=sys.stderr)
                code = 1
            _flush()
            return Outcome(Status.EXIT, code, "", "", "", current)
        except MemoryError as exc:
            _flush()
            try:
                text = _user_traceback(exc)
            except BaseException:  # noqa: BLE001
                text = "MemoryError\n"
            return Outcome(Status.MEMORY_ERROR, 0, "MemoryError", str(exc), text, current)
        except BaseException as exc:  # noqa: BLE001
            _flush()
            try:
                text = _user_traceback(exc)
                message = str(exc)
            except BaseException:  # noqa: BLE001
                text, message = type(exc).__name__ + "\n", ""
            return Outcome(Status.EXCEPTION, 0, type(exc).__name__, message, text, current)
        _flush()
        return Outcome(Status.OK, 0, "", "", "", "")

    def score(self, program, entry_point, seed):
        return _score(program, entry_point, seed)


# --- scoring ------------------------------------------------------------------
#
# `score` decides a verdict that the program under test must not be able to
# forge. The program runs in this interpreter, so everything the driver uses
# after the program starts is bound to locals first (module attributes could
# be replaced), and an audit hook refuses every way Python code can reach a
# running frame (and with it the driver's locals), install a tracer that could
# jump over an `assert`, rewrite a function's code, or add a hook of its own.
# A refused operation raises, which fails the program: scoring errs towards
# "failed", never towards "passed".

_SCORE_REFUSED = frozenset(
    {
        "sys._getframe",
        "sys._current_frames",
        "sys._current_exceptions",
        "sys.settrace",
        "sys.setprofile",
        "sys.monitoring.register_callback",
        "sys.addaudithook",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
    }
)
# Attributes that lead to a running frame: reading them is refused.
_SCORE_FRAME_ATTRS = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"})
# Attributes that change what a function runs: writing them is refused for
# the driver's own functions (the program may set its own functions'
# defaults, as namedtuple and dataclasses do), and `__code__` for any.
_SCORE_DEFAULT_ATTRS = frozenset({"__defaults__", "__kwdefaults__"})


def _score_guard(event, args, _refused, _frames, _defaults, _protected, _len, _type, _str, _id):
    # Every name used here is a parameter bound once at import (see below),
    # so rebinding module attributes cannot change what the guard does.
    if event in _refused:
        raise RuntimeError("refused while scoring: " + event)
    if event in ("object.__getattr__", "object.__setattr__") and _len(args) > 1:
        name = args[1]
        # A str subclass could hash unlike the name it stands for: refuse it.
        if _type(name) is not _str:
            raise RuntimeError("refused while scoring: " + event)
        if event == "object.__getattr__" and name in _frames:
            raise RuntimeError("refused while scoring: reading " + name)
        if event == "object.__setattr__" and (
            name == "__code__" or (name in _defaults and _id(args[0]) in _protected)
        ):
            raise RuntimeError("refused while scoring: setting " + name)


def _eq_forged(value, _object=object):
    """True when `value` claims to equal a fresh, unrelated object: the
    always-true `__eq__` that the official HumanEval harness also accepts."""
    probe = _object()
    return (value == probe) is True or (value != probe) is False


def _forgery_checked(fn, _forged=_eq_forged, _error=AssertionError):
    def candidate(*args, **kwargs):
        result = fn(*args, **kwargs)
        if _forged(result):
            raise _error("the candidate returned a value that equals anything")
        return result

    return candidate


def _score(program, entry_point, seed):
    """See the module comment above `_SCORE_REFUSED`."""
    # Everything used after the program starts is a local from here on.
    passed = False
    run_exec, run_compile, guard_entry = exec, compile, _forgery_checked
    to_stderr, errors = sys.stderr.write, sys.stderr
    random.seed(seed)
    sys.stdin = io.StringIO("")
    sys.addaudithook(_score_guard)
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        run_exec(run_compile(program, "program.py", "exec", optimize=0), namespace)
        if entry_point:
            namespace["check"](guard_entry(namespace[entry_point]))
        passed = True
    except BaseException as exc:  # noqa: BLE001 - any failure is a failed score
        passed = False
        try:
            line = exc.__traceback__.tb_lineno if exc.__traceback__ is not None else 0
            to_stderr("score: %s: %s (line %d)\n" % (type(exc).__name__, exc, line))
        except BaseException:  # noqa: BLE001
            pass
    try:
        errors.flush()
    except BaseException:  # noqa: BLE001
        pass
    return passed


_score_guard.__defaults__ = (
    _SCORE_REFUSED,
    _SCORE_FRAME_ATTRS,
    _SCORE_DEFAULT_ATTRS,
    frozenset(id(f) for f in (_score_guard, _eq_forged, _forgery_checked, _score)),
    len,
    type,
    str,
    id,
)
