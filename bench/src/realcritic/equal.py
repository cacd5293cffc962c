# RealCritic's answer equality as its reference grader decides it, run in the
# sandbox's Python guest after hone's math_check.py (whose `latex_to_plain`
# and `parse` stand in for the reference's LaTeX parsers, which the guest
# does not have).
#
# The host appends `_PAYLOAD` (JSON text of {"pred", "gt"} as a Python string
# literal) and `_rc_main(_PAYLOAD)`; the last stdout line is
# {"equal": true|false}. The host's time limit (3 s) scores a timeout wrong.

import math as _rc_math


def _rc_is_digit(s):
    return _rc_digits(s) is not None


def _rc_digits(s):
    s = str(s).replace(",", "")
    try:
        return float(s)
    except ValueError:
        pass
    if s.endswith("%"):
        s = s[:-1]
        if s.endswith("\\"):
            s = s[:-1]
        try:
            return float(s) / 100
        except ValueError:
            return None
    return None


def _rc_close(a, b):
    return _rc_math.isclose(a, b, rel_tol=1e-4)


def _rc_choice_clean(pred):
    pred = pred.strip("\n").rstrip(".").rstrip("/").strip(" ").lstrip(":")
    letters = re.findall(r"\b(A|B|C|D|E)\b", pred.upper())
    pred = letters[-1] if letters else pred.strip().strip(".")
    return pred.rstrip(".").rstrip("/")


def _rc_sym(s):
    """The sympy form of an answer, or the string itself."""
    s = s.replace("\\\\", "\\")
    try:
        head, ops = _split_top(latex_to_plain(s), ["="])
        if ops == ["="]:
            return sympy.Eq(parse(head[0]), parse(head[1]), evaluate=False)
        return parse(latex_to_plain(s))
    except Exception:  # noqa: BLE001 - unparsable stays a string
        return s


def _rc_symbolic_equal(a, b):
    a, b = _rc_sym(a), _rc_sym(b)
    try:
        if str(a) == str(b) or a == b:
            return True
    except Exception:  # noqa: BLE001
        pass
    try:
        if a.equals(b) or sympy.simplify(a - b) == 0:
            return True
    except Exception:  # noqa: BLE001
        pass
    try:
        if (abs(a.lhs - a.rhs)).equals(abs(b.lhs - b.rhs)):
            return True
    except Exception:  # noqa: BLE001
        pass
    try:
        if _rc_close(float(sympy.N(a)), float(sympy.N(b))):
            return True
    except Exception:  # noqa: BLE001
        pass
    try:
        if a.shape == b.shape:
            if a.applyfunc(lambda x: round(x, 3)) == b.applyfunc(lambda x: round(x, 3)):
                return True
    except Exception:  # noqa: BLE001
        pass
    return False


_RC_BRACKETED = re.compile(r"(\(|\[).+(\)|\])")


def _rc_equal(pred, ref):
    if pred is None or ref is None:
        return False
    if str(pred).strip().lower() == str(ref).strip().lower():
        return True
    if ref in ["A", "B", "C", "D", "E"] and _rc_choice_clean(pred) == ref:
        return True
    if _rc_is_digit(pred) and _rc_is_digit(ref):
        p, r = _rc_digits(pred), _rc_digits(ref)
        return any(_rc_close(p, g) for g in (r / 100, r, r * 100))
    if not pred:
        return False
    ref, pred = str(ref).strip(), str(pred).strip()
    pred_str, ref_str = pred, ref
    if (pred.startswith("[") and pred.endswith("]") and not ref.startswith("(")) or (
        pred.startswith("(") and pred.endswith(")") and not ref.startswith("[")
    ):
        pred_str = pred_str.strip("[]()")
        ref_str = ref_str.strip("[]()")
    for s in ["{", "}", "(", ")"]:
        ref_str = ref_str.replace(s, "")
        pred_str = pred_str.replace(s, "")
    if pred_str.lower() == ref_str.lower():
        return True
    if _RC_BRACKETED.match(pred) is not None and _RC_BRACKETED.match(ref) is not None:
        pred_parts = pred[1:-1].split(",")
        ref_parts = ref[1:-1].split(",")
        if len(pred_parts) == len(ref_parts) and all(
            _rc_equal(p, r) for p, r in zip(pred_parts, ref_parts)
        ):
            return True
    for env in ("pmatrix", "bmatrix"):
        begin, end = "\\begin{%s}" % env, "\\end{%s}" % env
        if pred.startswith(begin) and pred.endswith(end) and ref.startswith(begin) and ref.endswith(end):
            pred_rows = [r.strip() for r in pred[len(begin):-len(end)].split("\\\\") if r.strip()]
            ref_rows = [r.strip() for r in ref[len(begin):-len(end)].split("\\\\") if r.strip()]
            if len(pred_rows) == len(ref_rows):
                cells = [(p.split("&"), r.split("&")) for p, r in zip(pred_rows, ref_rows)]
                if all(
                    len(p) == len(r) and all(_rc_equal(a, b) for a, b in zip(p, r))
                    for p, r in cells
                ):
                    return True
    if pred.count("=") == 1 and ref.count("=") == 1:
        p = pred.split("=")
        p = "%s - (%s)" % (p[0].strip(), p[1].strip())
        r = ref.split("=")
        r = "%s - (%s)" % (r[0].strip(), r[1].strip())
        if _rc_symbolic_equal(p, r) or _rc_symbolic_equal("-(%s)" % p, r):
            return True
    elif pred.count("=") == 1 and len(pred.split("=")[0].strip()) <= 2 and "=" not in ref:
        if _rc_equal(pred.split("=")[1], ref):
            return True
    elif ref.count("=") == 1 and len(ref.split("=")[0].strip()) <= 2 and "=" not in pred:
        if _rc_equal(pred, ref.split("=")[1]):
            return True
    return _rc_symbolic_equal(pred, ref)


def _rc_main(payload):
    data = json.loads(payload)
    try:
        verdict = bool(_rc_equal(data["pred"], data["gt"]))
    except RecursionError:
        verdict = False
    print(json.dumps({"equal": verdict}))
