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
import random  # noqa: E402
import traceback  # noqa: E402

import wit_world  # noqa: E402
from wit_world import Outcome, Status  # noqa: E402

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
        exec(compile(cell.code, cell.name, "exec"), _GLOBALS)
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
