"""Tensor creation calls whose paddle form depends on how they are written.

- `sizes` (torch.zeros/ones/empty/rand/randn): torch takes the shape as varargs, `torch.zeros(2, 3)`;
  the documented paddle form takes one shape argument, so `paddle.zeros([2, 3])`. A single shape argument
  (`torch.zeros(5)`, `torch.zeros(shape)`, `torch.zeros((2, 3))`) is kept as written.
- `full` (torch.full): torch infers the dtype from the Python type of the fill value (bool → bool,
  int → int64, float → float32); paddle makes float32 for any number (REFERENCE.md §3, measured:
  `paddle.full([2], 1)` is float32). With an int literal porter adds `dtype=paddle.int64`; with a fill value
  whose type it cannot see and no `dtype=`, the call is reported, not guessed.
- `randint`: torch's two-positional form is `randint(high, size)`, the three-positional form
  `randint(low, high, size)`; paddle's order is always (low, high, shape).
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import Unsupported, rule
from porter.convert.rules._callargs import code, number, strip_parens


def _finish(row, call: cst.Call, args: list[cst.Arg]):
    from porter.convert.engine import convert_args

    plan = convert_args(row, args)
    if plan.args is None:
        return Unsupported(plan.reason)
    return call.with_changes(args=plan.args)


@rule("sizes")
def sizes(row, call: cst.Call, ctx):
    args = list(call.args)
    lead = 0
    while lead < len(args) and args[lead].keyword is None and args[lead].star != "**":
        lead += 1
    if lead > 1 or (lead == 1 and args[0].star == "*"):
        elements = [cst.StarredElement(value=a.value) if a.star == "*" else cst.Element(value=a.value)
                    for a in args[:lead]]
        shape = cst.List(elements=[e.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                                   for e in elements[:-1]] + [elements[-1]])
        args = [cst.Arg(value=shape, comma=args[lead - 1].comma)] + args[lead:]
    return _finish(row, call, args)


_FLOAT_NAMES = {"math.inf", "math.nan", "math.pi", "math.e", "math.tau", "np.inf", "np.nan", "np.pi", "np.e",
                "numpy.inf", "numpy.nan", "numpy.pi", "numpy.e"}


def _python_type(expr: cst.BaseExpression) -> str | None:
    """'bool', 'int' or 'float' where the expression's Python type is plain from the source, else None."""
    expr = strip_parens(expr)
    v = number(expr)
    if v is not None:
        return "int" if isinstance(v, int) else "float"
    if isinstance(expr, cst.Name) and expr.value in ("True", "False"):
        return "bool"
    if isinstance(expr, (cst.Comparison,)) or (isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not)):
        return "bool"
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value in ("float", "int", "bool"):
        return expr.func.value
    if isinstance(expr, cst.Attribute) and code(expr) in _FLOAT_NAMES:
        return "float"
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.Minus, cst.Plus)):
        inner = _python_type(expr.expression)
        return inner if inner in ("int", "float") else None
    if isinstance(expr, cst.BinaryOperation):
        left, right = _python_type(expr.left), _python_type(expr.right)
        if isinstance(expr.operator, cst.Divide) and left in ("int", "float") and right in ("int", "float"):
            return "float"
        if "float" in (left, right) and {left, right} <= {"int", "float"}:
            return "float"
        if left == right == "int":
            return "int"
    return None


@rule("full")
def full(row, call: cst.Call, ctx):
    args = list(call.args)
    if any(a.keyword is not None and a.keyword.value == "dtype" for a in args) or any(a.star for a in args):
        return _finish(row, call, args)
    fill = next((a.value for a in args if a.keyword is not None and a.keyword.value == "fill_value"), None)
    if fill is None:
        positional = [a for a in args if a.keyword is None]
        if len(positional) < 2:
            return _finish(row, call, args)        # let the generic transform report what is missing
        fill = positional[1].value
    kind = _python_type(fill)
    if kind in ("float", "bool"):
        return _finish(row, call, args)            # paddle infers float32 / bool, as torch does
    if kind == "int":
        args = args[:-1] + [args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                            cst.Arg(keyword=cst.Name("dtype"), value=ctx.emit("paddle.int64"),
                                    equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                                          whitespace_after=cst.SimpleWhitespace("")),
                                    comma=args[-1].comma)]
        return _finish(row, call, args)
    return Unsupported("torch takes the dtype from the fill value's Python type (int → int64, float → float32, "
                       "bool → bool) and paddle.full makes float32 for any number: pass dtype=")


@rule("randint")
def randint(row, call: cst.Call, ctx):
    args = list(call.args)
    positional = [a for a in args if a.keyword is None and not a.star]
    if any(a.star for a in args):
        return Unsupported("starred arguments cannot be matched to the signature")
    if len(positional) == 2 and not any(a.keyword is not None and a.keyword.value in ("low", "high", "size")
                                        for a in args):
        # torch.randint(high, size): name both, paddle's low defaults to 0
        args = [args[0].with_changes(keyword=cst.Name("high"),
                                     equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                                           whitespace_after=cst.SimpleWhitespace(""))),
                args[1].with_changes(keyword=cst.Name("size"),
                                     equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                                           whitespace_after=cst.SimpleWhitespace("")))] + args[2:]
    return _finish(row, call, args)
