# hone-bench's guest script for review items: seeded single-site changes to
# a Python program. Runs in the Python sandbox guest (standard library only).
# Clean changes: a mirrored comparison, swapped commutative operands, a
# renamed local variable, a re-wrapped return value, a docstring sentence,
# an added comment.
# Reads JSON on stdin: {"source": str, "seed": int, "kind": "mutant"|"clean"}.
# Prints JSON: {"operator": str, "after": str, "start_line": int,
# "end_line": int} or {"operator": null} when no site of any operator exists.
#
# Only the changed node's text is replaced (the rest of the file keeps its
# formatting), so the change is exactly the lines a reviewer should flag.

import ast
import json
import random
import sys

NEGATED = {ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt,
           ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
           ast.Is: ast.IsNot, ast.IsNot: ast.Is}
MIRRORED = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE,
            ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}
NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
COMMUTATIVE = (ast.Add, ast.Mult)


def offsets(source):
    starts, total = [], 0
    for line in source.splitlines(True):
        starts.append(total)
        total += len(line)
    return starts


def span(source, node):
    starts = offsets(source)
    begin = starts[node.lineno - 1] + len(source.splitlines(True)[node.lineno - 1].encode("utf-8")[: node.col_offset].decode("utf-8"))
    end_line = source.splitlines(True)[node.end_lineno - 1]
    end = starts[node.end_lineno - 1] + len(end_line.encode("utf-8")[: node.end_col_offset].decode("utf-8"))
    return begin, end


def replace(source, node, text):
    begin, end = span(source, node)
    return source[:begin] + text + source[end:]


def is_int(node):
    return isinstance(node, ast.Constant) and type(node.value) is int


def function_names(tree):
    """Names assigned or bound as arguments inside each function."""
    out = {}
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names = {a.arg for a in fn.args.args}
            for n in ast.walk(fn):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    names.add(n.id)
            out[fn] = names
    return out


def mutants(source, tree):
    """(operator, node, replacement text) for every mutation site."""
    sites = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in NEGATED:
            flipped = ast.Compare(node.left, [NEGATED[type(node.ops[0])]()], node.comparators)
            sites.append(("flipped comparison", node, ast.unparse(flipped)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" and node.args:
            bound = node.args[-1] if len(node.args) <= 2 else node.args[1]
            sites.append(("off-by-one bound", bound, "(%s) + 1" % ast.unparse(bound)))
        if isinstance(node, ast.BinOp) and isinstance(node.op, NON_COMMUTATIVE):
            swapped = ast.BinOp(node.right, node.op, node.left)
            sites.append(("swapped operands", node, ast.unparse(swapped)))
        if is_int(node) and not isinstance(node.value, bool):
            sites.append(("wrong constant", node, repr(node.value + 1)))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            sites.append(("dropped negation", node, "(%s)" % ast.unparse(node.operand)))
    for fn, names in function_names(tree).items():
        names = sorted(names)
        for n in ast.walk(fn):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in names and len(names) > 1:
                others = [m for m in names if m != n.id]
                sites.append(("wrong variable", n, others[len(n.id) % len(others)]))
    return sites


def clean_changes(source, tree):
    """(operator, start_line, end_line, new source) for behaviour-preserving edits."""
    changes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in MIRRORED \
                and len(node.comparators) == 1:
            mirrored = ast.Compare(node.comparators[0], [MIRRORED[type(node.ops[0])]()], [node.left])
            changes.append(("mirrored comparison", node, ast.unparse(mirrored)))
        if isinstance(node, ast.BinOp) and isinstance(node.op, COMMUTATIVE) \
                and all(isinstance(x, (ast.Name, ast.Constant)) for x in (node.left, node.right)) \
                and not any(isinstance(x, ast.Constant) and isinstance(x.value, str) for x in (node.left, node.right)):
            swapped = ast.BinOp(node.right, node.op, node.left)
            changes.append(("swapped commutative operands", node, ast.unparse(swapped)))
    out = []
    for op, node, text in changes:
        out.append((op, node.lineno, node.end_lineno, replace(source, node, text)))
    # A renamed local variable: every occurrence in its function.
    for fn, names in function_names(tree).items():
        params = {a.arg for a in fn.args.args}
        for name in sorted(names - params):
            new = name + "_value"
            nodes = [n for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id == name]
            if not nodes or any(isinstance(n, ast.Name) and n.id == new for n in ast.walk(tree)):
                continue
            after = source
            for n in sorted(nodes, key=lambda n: (n.lineno, n.col_offset), reverse=True):
                after = replace(after, n, new)
            out.append(("renamed variable", min(n.lineno for n in nodes), max(n.end_lineno for n in nodes), after))
    # A return value re-wrapped over three lines (reformatting only).
    lines = source.splitlines(True)
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and node.value is not None and node.lineno == node.end_lineno:
            line = lines[node.lineno - 1]
            indent = line[: len(line) - len(line.lstrip())]
            wrapped = "(\n%s    %s\n%s)" % (indent, ast.unparse(node.value), indent)
            out.append(("reformatted return", node.lineno, node.lineno + 2, replace(source, node.value, wrapped)))
    # A sentence added to a multi-line docstring.
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.body:
            doc = fn.body[0]
            if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) \
                    and isinstance(doc.value.value, str) and doc.end_lineno > doc.lineno:
                first = lines[doc.lineno - 1]
                indent = first[: len(first) - len(first.lstrip())]
                edited = list(lines)
                edited.insert(doc.lineno, indent + "The arguments are not modified.\n")
                out.append(("docstring edit", doc.lineno + 1, doc.lineno + 1, "".join(edited)))
    # A comment before the first statement of each function.
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.body:
            first = fn.body[0]
            lines = source.splitlines(True)
            indent = lines[first.lineno - 1][: len(lines[first.lineno - 1]) - len(lines[first.lineno - 1].lstrip())]
            lines.insert(first.lineno - 1, indent + "# Work through the input once.\n")
            out.append(("added comment", first.lineno, first.lineno, "".join(lines)))
    return out


def main():
    spec = json.loads(sys.stdin.read())
    source, rng = spec["source"], random.Random(spec["seed"])
    try:
        tree = ast.parse(source)
    except SyntaxError:
        print(json.dumps({"operator": None}))
        return
    if spec["kind"] == "mutant":
        sites = mutants(source, tree)
        if not sites:
            print(json.dumps({"operator": None}))
            return
        op, node, text = sites[rng.randrange(len(sites))]
        after = replace(source, node, text)
        start, end = node.lineno, node.end_lineno
    else:
        changes = clean_changes(source, tree)
        if not changes:
            print(json.dumps({"operator": None}))
            return
        op, start, end, after = changes[rng.randrange(len(changes))]
    try:
        ast.parse(after)
    except SyntaxError:
        print(json.dumps({"operator": None}))
        return
    if after == source:
        print(json.dumps({"operator": None}))
        return
    print(json.dumps({"operator": op, "after": after, "start_line": start, "end_line": end}))


main()
