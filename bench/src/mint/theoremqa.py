# MINT's TheoremQA check, run in the sandbox's Python guest (never on the
# host: the prediction is evaluated as a Python expression).
#
# The host appends `_PAYLOAD` (JSON text of {"solution", "reference",
# "answer_type"} as a Python string literal) and `_tq_main(_PAYLOAD)`; the
# last stdout line is {"correct": bool, "normalised": str}. An exception
# while evaluating is raised, and the host turns its traceback into the
# observation the model sees.

import json
import math
import re


def _tq_normalise(pred):
    s = str(pred).strip()
    # The value after the last "=" or "≈".
    cut = max(s.rfind("="), s.rfind("\u2248"))
    if cut >= 0:
        s = s[cut + 1:]
    for ch in ("`", "$", "\u00b0"):
        s = s.replace(ch, "")
    s = s.strip()
    low = s.lower().rstrip(".")
    if low in ("true", "yes"):
        return "True"
    if low in ("false", "no"):
        return "False"
    s = s.replace("approximately", "").strip()
    if " or " in s:
        s = s.split(" or ")[0]
    # Unit words next to a number: "5 meters" -> "5", "20%" -> "20".
    s = re.sub(r"(\d)\s*(?:[A-Za-z]{2,}|[%])(?:\^\d+)?(?![\w(])", r"\1", s)
    s = s.replace(" x ", "*").replace(" \u00d7 ", "*").replace("\u00d7", "*")
    while re.search(r"(\d),(\d{3})(?!\d)", s):
        s = re.sub(r"(\d),(\d{3})(?!\d)", r"\1\2", s)
    s = re.sub(r"^\(?([a-dA-D])\)", lambda m: "(%s)" % m.group(1).lower(), s.strip())
    return s.strip().rstrip(".")


_TQ_NAMES = {
    "pi": math.pi, "e": math.e, "sqrt": math.sqrt, "log": math.log,
    "exp": math.exp, "sin": math.sin, "cos": math.cos, "tan": math.tan,
    "True": True, "False": False,
}


def _tq_value(text):
    return eval(text, {"__builtins__": {}}, dict(_TQ_NAMES))


def _tq_number_equal(pred, ref, integer):
    if integer:
        return round(pred) == ref
    return abs(pred - ref) <= 0.04 * abs(ref)


def _tq_correct(solution, reference, answer_type):
    normalised = _tq_normalise(solution)
    if answer_type == "option":
        letter = normalised.strip("() ").lower()
        return letter[:1] == str(reference).strip("() ").lower()[:1], normalised
    if answer_type == "bool":
        return _tq_value(normalised) == reference, normalised
    pred = _tq_value(normalised)
    integer = "integer" in answer_type
    if answer_type.startswith("list"):
        if not isinstance(pred, (list, tuple)) or len(pred) != len(reference):
            return False, normalised
        pairs = zip(sorted(pred), sorted(reference))
        return all(_tq_number_equal(p, r, integer) for p, r in pairs), normalised
    return _tq_number_equal(pred, reference, integer), normalised


def _tq_main(payload):
    data = json.loads(payload)
    correct, normalised = _tq_correct(data["solution"], data["reference"], data["answer_type"])
    print(json.dumps({"correct": bool(correct), "normalised": normalised}))
