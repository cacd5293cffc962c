# hone's symbolic answer check, run inside the sandbox's Python guest.
#
# The host appends one line defining `_PAYLOAD` (a JSON text holding the two
# answers as a Python string literal) and a call to `_main(_PAYLOAD)`. The
# result is the last stdout line: {"result": "equal" | "not_equal" |
# "unknown", "reason": "..."}.

import json
import random
import re

import sympy
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication_application,
    parse_expr,
    standard_transformations,
)

_TRANSFORMATIONS = standard_transformations + (
    implicit_multiplication_application,
    convert_xor,
)


class _Unparsable(Exception):
    pass


# --- LaTeX to sympy syntax -------------------------------------------------

# Commands whose argument is kept as is.
_TRANSPARENT = {
    "boxed", "fbox", "mathrm", "mathbf", "mathit", "mathsf", "mathtt",
    "textbf", "textit", "textrm", "bm", "boldsymbol", "operatorname", "mbox",
}
# Commands that mean something this converter does not model.
_UNSUPPORTED = {
    "overline", "dots", "ldots", "cdots", "vdots", "cup", "cap", "setminus",
    "approx", "sim", "simeq", "cong", "equiv", "mid", "to", "rightarrow",
    "Rightarrow", "implies", "iff", "angle", "triangle", "int", "sum", "prod",
    "lim", "partial", "nabla", "vec", "hat", "bar", "underline", "begin",
    "end", "matrix", "pmatrix", "bmatrix", "mod", "pmod", "bmod", "perp",
    "parallel", "subset", "subseteq", "supset", "notin", "forall", "exists",
}
# Commands dropped entirely (spacing, sizing).
_IGNORED = {
    "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl",
    "Bigr", "biggl", "biggr", "Biggl", "Biggr", "displaystyle", "textstyle",
    "scriptstyle", "quad", "qquad", "limits", "nolimits", "middle",
}
_SYMBOLS = {
    "cdot": "*", "times": "*", "ast": "*", "div": "/", "pi": " pi ",
    "infty": " oo ", "infinity": " oo ", "le": "<=", "leq": "<=",
    "leqslant": "<=", "ge": ">=", "geq": ">=", "geqslant": ">=", "lt": "<",
    "gt": ">", "ne": "!=", "neq": "!=", "pm": "\u00b1", "mp": "\u2213",
    "ln": " log ", "exp": " exp ",
    "arcsin": " asin ", "arccos": " acos ", "arctan": " atan ",
    "lambda": " lamda ", "Lambda": " Lamda ", "circ": "", "degree": "",
    "%": "", "$": "", "cdotp": "*", "in": "=", "emptyset": "{}",
    "varnothing": "{}",
}
_FUNCTIONS = {
    "sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "coth",
    "sech", "csch", "arcsinh", "arccosh", "arctanh", "max", "min", "gcd",
    "lcm", "det",
}
_RENAMED_FUNCTIONS = {
    "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "max": "Max",
    "min": "Min",
}
_GREEK = [
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta",
    "theta", "vartheta", "iota", "kappa", "lamda", "mu", "nu", "xi", "rho",
    "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega",
    "Gamma", "Delta", "Theta", "Lamda", "Xi", "Sigma", "Upsilon", "Phi",
    "Psi", "Omega",
]


class _Latex:
    """A small recursive converter from answer-style LaTeX to sympy syntax.

    Grouping braces become parentheses; `\\{ \\}` become `{ }` (set
    delimiters, handled by the structure level); relations become Python
    operators; `\\pm` becomes the marker `±`.
    """

    def __init__(self, text):
        self.s = text
        self.i = 0
        self.abs_open = 0
        self.context = ""

    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_spaces(self):
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def command(self):
        """Reads the command name after a backslash (already consumed)."""
        start = self.i
        while self.i < len(self.s) and self.s[self.i].isalpha():
            self.i += 1
        if self.i == start and self.i < len(self.s):
            self.i += 1  # a one-character command: \{ \, \! \% ...
        return self.s[start:self.i]

    def braced(self):
        """Converts the `{...}` group at the cursor (cursor on `{`)."""
        self.i += 1
        out = self.convert(until="}")
        if self.peek() != "}":
            raise _Unparsable("unbalanced braces")
        self.i += 1
        return out

    def raw_braced(self):
        """The unconverted text of the `{...}` group at the cursor."""
        depth = 0
        start = self.i
        while self.i < len(self.s):
            c = self.s[self.i]
            self.i += 1
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return self.s[start + 1:self.i - 1]
        raise _Unparsable("unbalanced braces")

    def argument(self):
        """One argument: a braced group, a command, or one character."""
        self.skip_spaces()
        c = self.peek()
        if c == "":
            raise _Unparsable("missing argument")
        if c == "{":
            return self.braced()
        if c == "\\":
            self.i += 1
            return self.handle_command(self.command())
        self.i += 1
        return c

    def paren_argument(self):
        """A function argument: `(...)`, `{...}` or one token."""
        self.skip_spaces()
        if self.peek() == "(":
            depth = 0
            start = self.i
            while self.i < len(self.s):
                c = self.s[self.i]
                self.i += 1
                if c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                    if depth == 0:
                        return _Latex(self.s[start + 1:self.i - 1]).convert()
            raise _Unparsable("unbalanced parentheses")
        if self.peek().isdigit():
            start = self.i
            while self.i < len(self.s) and (self.s[self.i].isdigit() or self.s[self.i] == "."):
                self.i += 1
            return self.s[start:self.i]
        return self.argument()

    def handle_command(self, name):
        if name in ("frac", "dfrac", "tfrac", "cfrac"):
            num = self.argument()
            den = self.argument()
            return "((%s)/(%s))" % (num, den)
        if name == "sqrt":
            self.skip_spaces()
            if self.peek() == "[":
                end = self.s.find("]", self.i)
                if end < 0:
                    raise _Unparsable("unbalanced [")
                index = _Latex(self.s[self.i + 1:end]).convert()
                self.i = end + 1
                return " _root((%s), (%s))" % (self.argument(), index)
            return " sqrt(%s)" % self.argument()
        if name in ("binom", "dbinom", "tbinom"):
            n = self.argument()
            k = self.argument()
            return " binomial((%s), (%s))" % (n, k)
        if name == "log":
            self.skip_spaces()
            if self.peek() == "_":
                self.i += 1
                base = self.argument()
                arg = self.paren_argument()
                return " log((%s), (%s))" % (arg, base)
            return " log "
        if name in ("text", "textnormal", "textup"):
            self.skip_spaces()
            if self.peek() != "{":
                return ""
            content = self.raw_braced().strip()
            if content.lower() in ("or", "and", ","):
                return ","
            if not self.context.strip():
                return " %s " % content  # a word answer keeps its words
            # Units after a value are dropped, with their exponent (`cm^2`).
            self.skip_spaces()
            if self.peek() == "^":
                self.i += 1
                self.argument()
            return ""
        if name in _TRANSPARENT:
            self.skip_spaces()
            if self.peek() == "{":
                return " (%s) " % self.braced() if name in ("boxed", "fbox") else " %s " % self.braced()
            return ""
        if name in _IGNORED:
            if name in ("left", "right", "middle") and self.peek() == ".":
                self.i += 1  # `\right.`: an invisible delimiter
            return ""
        if name in (",", "!", ";", ":", " ", ">"):
            return " "
        if name == "{":
            return "{"
        if name == "}":
            return "}"
        if name in ("lvert", "vert", "lVert", "|") and self.abs_open == 0:
            self.abs_open += 1
            return " Abs("
        if name in ("rvert", "vert", "rVert", "|") and self.abs_open > 0:
            self.abs_open -= 1
            return ")"
        if name in _UNSUPPORTED:
            raise _Unparsable("unsupported command \\" + name)
        if name in _SYMBOLS:
            return _SYMBOLS[name]
        if name in _FUNCTIONS:
            return " %s " % _RENAMED_FUNCTIONS.get(name, name)
        if name.isalpha():
            return " %s " % name
        raise _Unparsable("unsupported command \\" + name)

    def convert(self, until=None):
        # `self.context`: everything produced so far, enclosing groups
        # included (a `\text{}` after a value is a unit).
        base = self.context
        out = []
        while self.i < len(self.s):
            self.context = base + "".join(out)
            c = self.s[self.i]
            if until is not None and c == until:
                break
            if c == "\\":
                self.i += 1
                out.append(self.handle_command(self.command()))
            elif c == "{":
                out.append("(%s)" % self.braced())
            elif c == "}":
                raise _Unparsable("unbalanced braces")
            elif c == "^":
                self.i += 1
                self.skip_spaces()
                if self.s.startswith("\\circ", self.i):
                    self.i += len("\\circ")
                    continue
                if self.s.startswith("{\\circ}", self.i):
                    self.i += len("{\\circ}")
                    continue
                out.append("**(%s)" % self.argument())
            elif c == "_":
                self.i += 1
                sub = self.argument()
                out.append("_" + "".join(ch for ch in sub if ch.isalnum()))
            elif c == "|":
                self.i += 1
                if self.abs_open > 0:
                    self.abs_open -= 1
                    out.append(")")
                else:
                    self.abs_open += 1
                    out.append(" Abs(")
            elif c in "$%\u00b0":
                self.i += 1
            else:
                self.i += 1
                out.append(c)
        self.context = base
        return "".join(out)


# `1,000` and `1{,}000` (not `1,000,` or `1, 000`, which may be lists), in
# answers without brackets (`(3,100)` is a point).
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")


def latex_to_plain(text):
    text = text.replace("{,}", ",")
    if not any(c in text for c in "()[]{}"):
        text = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), text)
    plain = _Latex(text).convert()
    return plain.replace("\u2212", "-").replace("\u00d7", "*").replace("\u22c5", "*")


# --- structure: sequences, sets, relations ----------------------------------

_OPEN = "([{"
_CLOSE = ")]}"


def _split_top(s, seps):
    """Splits `s` at top-level occurrences of any of `seps` (longest first)."""
    parts, ops = [], []
    depth = 0
    start = 0
    i = 0
    seps = sorted(seps, key=len, reverse=True)
    while i < len(s):
        c = s[i]
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
        elif depth == 0:
            for sep in seps:
                if s.startswith(sep, i):
                    # `**` and `==` are not a `*` or `=` separator.
                    parts.append(s[start:i])
                    ops.append(sep)
                    i += len(sep)
                    start = i
                    break
            else:
                i += 1
                continue
            continue
        i += 1
    parts.append(s[start:])
    return parts, ops


def _matching_close(s, open_index):
    depth = 0
    for j in range(open_index, len(s)):
        if s[j] in _OPEN:
            depth += 1
        elif s[j] in _CLOSE:
            depth -= 1
            if depth == 0:
                return j
    return -1


_PM = ("\u00b1", "\u2213")


def _expand_pm(items):
    """Structures of `items`, an item with `±` giving two (its `+` and `-`
    readings); the flag says whether any did."""
    out, expanded = [], False
    for item in items:
        if any(m in item for m in _PM):
            expanded = True
            plus = item.replace(_PM[0], "+").replace(_PM[1], "-")
            minus = item.replace(_PM[0], "-").replace(_PM[1], "+")
            out += [structure(plus), structure(minus)]
        else:
            out.append(structure(item))
    return out, expanded


def structure(plain):
    """The shape of an answer in sympy syntax, with its leaves unparsed:

    ("set", [items]) for `{...}` and `±`, ("seq", open, close, [items]) for
    bracketed tuples and intervals, ("list", [items]) for bare comma lists,
    ("rel", [parts], [ops]) for an expression, equation or (chained)
    inequality.
    """
    s = plain.strip()
    # `x = {1, 2}`, `x = (1, 2)`: the value is what follows.
    head, ops = _split_top(s, ["<=", ">=", "!=", "==", "="])
    if ops == ["="] and _is_name(head[0]):
        value = head[1].strip()
        if value and value[0] in _OPEN and _matching_close(value, 0) == len(value) - 1:
            s = value
    if s and s[0] in _OPEN and _matching_close(s, 0) == len(s) - 1:
        items, _ = _split_top(s[1:-1], [","])
        if s[0] == "{" and not s[1:-1].strip():
            return ("set", [])
        if s[0] == "{":
            return ("set", _expand_pm(items)[0])
        if len(items) > 1:
            return ("seq", s[0], s[-1], [structure(x) for x in items])
    items, _ = _split_top(s, [",", ";"])
    trees, expanded = _expand_pm(items) if len(items) > 1 or any(m in s for m in _PM) else ([], False)
    if expanded:
        return ("set", trees)
    if len(items) > 1:
        return ("list", trees)
    parts, ops = _split_top(s, ["<=", ">=", "!=", "==", "=", "<", ">"])
    ops = ["=" if op == "==" else op for op in ops]
    if any(not p.strip() for p in parts):
        raise _Unparsable("empty side of a relation")
    return ("rel", parts, ops)


def _is_name(s):
    s = s.strip()
    return bool(s) and s.replace("_", "").isalnum() and not s[0].isdigit()


# --- sympy ------------------------------------------------------------------


def _root(x, n):
    x, n = sympy.sympify(x), sympy.sympify(n)
    if x.is_number and x.is_negative and n.is_integer and n.is_odd:
        return -sympy.root(-x, n)
    return sympy.root(x, n)


def _locals():
    names = {}
    for letter in "abcdfghjklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ":
        names[letter] = sympy.Symbol(letter)
    for name in _GREEK:
        names[name] = sympy.Symbol(name)
    names["e"] = sympy.E
    names["i"] = sympy.I
    names["ln"] = sympy.log
    names["_root"] = _root
    return names


_LOCALS = _locals()


_ALLOWED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 +-*/^().,_=<>!")


def parse(text):
    text = text.strip()
    if not text:
        raise _Unparsable("empty expression")
    # parse_expr evaluates Python: only arithmetic gets there.
    if set(text) - _ALLOWED or "__" in text or re.search(r"\.\s*[A-Za-z_]", text):
        raise _Unparsable("unsupported characters in %r" % (text,))
    try:
        expr = parse_expr(text, local_dict=dict(_LOCALS), transformations=_TRANSFORMATIONS)
    except Exception as e:  # noqa: BLE001 - any parse failure means "unknown"
        raise _Unparsable("cannot parse %r: %s" % (text, e))
    if not isinstance(expr, sympy.Basic):
        raise _Unparsable("not an expression: %r" % (text,))
    return expr


def parse_tree(tree):
    kind = tree[0]
    if kind == "rel":
        return ("rel", [parse(p) for p in tree[1]], tree[2])
    if kind == "seq":
        return ("seq", tree[1], tree[2], [parse_tree(x) for x in tree[3]])
    return (kind, [parse_tree(x) for x in tree[1]])


# Deterministic sample points for numeric comparison.
_RNG = random.Random(20240607)
_POINTS = [
    [sympy.Rational(_RNG.randint(-997, 997), _RNG.randint(101, 499)) for _ in range(32)]
    for _ in range(4)
]


def _numeric_diff(a, b):
    """Relative differences of `a` and `b` at sample points (one point when
    there are no free symbols), computed to 40 digits; points where either
    side is undefined are skipped."""
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    if len(symbols) > 32:
        return []
    out = []
    for point in _POINTS if symbols else _POINTS[:1]:
        subs = dict(zip(symbols, point))
        try:
            va = sympy.N(a, 40, subs=subs)
            vb = sympy.N(b, 40, subs=subs)
            d = sympy.N(a - b, 40, subs=subs)
            if not (va.is_number and vb.is_number and d.is_number):
                continue
            scale = max(1.0, abs(complex(va)), abs(complex(vb)))
            rel = abs(complex(d)) / scale
        except Exception:  # noqa: BLE001 - undefined at this point
            continue
        if rel != rel or rel == float("inf") or scale == float("inf"):
            continue
        out.append(rel)
    return out


def _has_float(e):
    return any(isinstance(x, sympy.Float) for x in sympy.preorder_traversal(e))


def expr_equal(a, b):
    """True, False or None (cannot tell)."""
    if a == b:
        return True
    d = a - b
    try:
        if sympy.expand(d) == 0:
            return True
    except Exception:  # noqa: BLE001
        pass
    # Decimals in an answer are compared to 1e-9 (relative), exact answers
    # numerically only far beyond double precision.
    tolerance = 1e-9 if (_has_float(a) or _has_float(b)) else 1e-25
    diffs = _numeric_diff(a, b)
    if any(x > 1e-9 for x in diffs):
        return False
    try:
        simplified = sympy.simplify(d)
    except Exception:  # noqa: BLE001
        simplified = None
    if simplified == 0:
        return True
    if diffs and all(x <= tolerance for x in diffs):
        return True
    if simplified is not None and simplified.is_number and simplified != 0:
        try:
            return not bool(abs(sympy.N(simplified, 40)) <= tolerance)
        except Exception:  # noqa: BLE001
            return None
    return None


def _side_value(rel):
    """The value an answer states: `x = 3` -> 3, `3` -> 3; None for other
    relations."""
    parts, ops = rel[1], rel[2]
    if not ops:
        return parts[0]
    if ops == ["="]:
        lhs, rhs = parts
        if isinstance(lhs, sympy.Symbol):
            return rhs
        if isinstance(rhs, sympy.Symbol):
            return lhs
    return None


_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _canonical(rel):
    parts, ops = list(rel[1]), list(rel[2])
    if ops and all(op in (">", ">=") for op in ops):
        parts.reverse()
        ops = [_FLIP[op] for op in reversed(ops)]
    return parts, ops


def rel_equal(x, y):
    vx, vy = _side_value(x), _side_value(y)
    if vx is not None and vy is not None:
        return expr_equal(vx, vy)
    px, ox = _canonical(x)
    py, oy = _canonical(y)
    if ox == ["="] and oy == ["="]:
        # Equations: equal when one is a non-zero multiple of the other.
        dx, dy = px[0] - px[1], py[0] - py[1]
        if expr_equal(dx, sympy.S.Zero) or expr_equal(dy, sympy.S.Zero):
            return expr_equal(dx, dy)
        try:
            ratio = sympy.simplify(dx / dy)
        except Exception:  # noqa: BLE001
            return None
        if ratio.is_number and ratio != 0 and ratio.is_finite:
            return True
        if not ratio.free_symbols:
            return None
        return False
    if ox != oy or len(px) != len(py):
        return False
    verdict = True
    for a, b in zip(px, py):
        same = expr_equal(a, b)
        if same is False:
            return False
        if same is None:
            verdict = None
    return verdict


def _all(pairs):
    verdict = True
    for x, y in pairs:
        same = tree_equal(x, y)
        if same is False:
            return False
        if same is None:
            verdict = None
    return verdict


def _unordered(xs, ys):
    if len(xs) != len(ys):
        return False
    verdict = True
    remaining = list(ys)
    for x in xs:
        found = None
        unknown = False
        for j, y in enumerate(remaining):
            same = tree_equal(x, y)
            if same:
                found = j
                break
            if same is None:
                unknown = True
        if found is None:
            if unknown:
                verdict = None
                continue
            return False
        remaining.pop(found)
    return verdict


def _items(tree):
    if tree[0] == "seq":
        return tree[3]
    return tree[1]


_HALF_OPEN = {("(", "]"), ("[", ")")}


def tree_equal(x, y):
    kx, ky = x[0], y[0]
    if kx == "rel" and ky == "rel":
        return rel_equal(x, y)
    if kx == "rel" or ky == "rel":
        # One value against a collection: a one-element set may be the value.
        other = y if kx == "rel" else x
        value = x if kx == "rel" else y
        if other[0] == "set" and len(other[1]) == 1:
            return tree_equal(value, other[1][0])
        return False
    if "set" in (kx, ky):
        if kx == "seq" or ky == "seq":
            return False
        return _unordered(_items(x), _items(y))
    xs, ys = _items(x), _items(y)
    if len(xs) != len(ys):
        return False
    if kx == "seq" and ky == "seq":
        # `(a, b]` is an interval: its brackets matter. `(a, b)` and
        # `[a, b]` are compared by items, like the rule-based check does.
        bx, by = (x[1], x[2]), (y[1], y[2])
        if (bx in _HALF_OPEN or by in _HALF_OPEN) and bx != by:
            return False
    return _all(zip(xs, ys))


def decide(a, b):
    ta = parse_tree(structure(latex_to_plain(a)))
    tb = parse_tree(structure(latex_to_plain(b)))
    return tree_equal(ta, tb)


def _main(payload):
    data = json.loads(payload)
    try:
        verdict = decide(data["a"], data["b"])
        reason = ""
    except _Unparsable as e:
        verdict, reason = None, str(e)
    except RecursionError:
        verdict, reason = None, "expression too deep"
    except Exception as e:  # noqa: BLE001 - never let a sympy bug escape
        verdict, reason = None, "%s: %s" % (type(e).__name__, e)
    result = {True: "equal", False: "not_equal", None: "unknown"}[verdict]
    print(json.dumps({"result": result, "reason": reason}))
