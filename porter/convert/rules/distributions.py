"""torch.distributions rules (cases in tests/parity/cases/distributions.toml).

- `dist_number_params` (Normal, LogNormal, Gamma, Uniform: two parameters): paddle raises when one parameter is a
  Tensor and the other a Python number (`Normal(mu, 1.0)`, common in torch code), and it does not broadcast
  its parameters (a 0-D tensor next to a [3] one gives mean/variance of shape [] where torch gives [3]).
  When one parameter is a number literal and the other a name or attribute, the number becomes
  `paddle.full_like(other, number)`: the other's shape and dtype, as torch's broadcast_all gives. Two
  numbers stay numbers, written as floats (paddle's Gamma refuses ints; batch shape [] as in torch). A number next to any other
  expression is left as written (paddle raises: an error, not a wrong value). Then the row applies.
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import generic, rule
from porter.convert.rules._callargs import strip_parens


def _number(expr) -> float | None:
    expr = strip_parens(expr)
    sign = 1.0
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.Minus, cst.Plus)):
        sign = -1.0 if isinstance(expr.operator, cst.Minus) else 1.0
        expr = strip_parens(expr.expression)
    if isinstance(expr, (cst.Integer, cst.Float)):
        return sign * float(expr.evaluated_value)
    return None


def _simple(expr) -> bool:
    expr = strip_parens(expr)
    while isinstance(expr, cst.Attribute):
        expr = expr.value
    return isinstance(expr, cst.Name)


@rule("dist_number_params")
def dist_number_params(row, call: cst.Call, ctx):
    sig = [a for a in (row.args or ()) if a != "*"]
    params = sig[:2]                      # the two distribution parameters (loc/scale, concentration/rate)
    where: dict[str, int] = {}
    for i, a in enumerate(call.args):
        if a.star:
            return generic(row, call)
        name = a.keyword.value if a.keyword is not None else (sig[i] if i < len(sig) else None)
        if name in params:
            where[name] = i
    if len(where) != 2:
        return generic(row, call)
    i0, i1 = where[params[0]], where[params[1]]
    v0, v1 = _number(call.args[i0].value), _number(call.args[i1].value)
    if v0 is None and v1 is None:
        return generic(row, call)
    if v0 is not None and v1 is not None:      # two numbers: written as floats (paddle's Gamma refuses ints)
        args = list(call.args)
        for i, v in ((i0, v0), (i1, v1)):
            args[i] = args[i].with_changes(value=cst.parse_expression(repr(v)))
        return generic(row, call, args)
    num_i, other_i, v = (i0, i1, v0) if v0 is not None else (i1, i0, v1)
    other = call.args[other_i].value
    if not _simple(other):
        return generic(row, call)
    args = list(call.args)
    full = cst.Call(func=ctx.emit("paddle.full_like"), args=[cst.Arg(other), cst.Arg(cst.parse_expression(repr(v)))])
    args[num_i] = args[num_i].with_changes(value=full)
    return generic(row, call, args)
