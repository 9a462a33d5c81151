"""Optimizer constructors whose paddle class depends on the arguments.

What it does: `torch.optim.SGD(..., momentum=m)` with a non-zero momentum becomes
`paddle.optimizer.Momentum(..., momentum=m, use_nesterov=...)`; paddle's SGD has no momentum.
The update rule is the same (v = m*v + g; p -= lr*v), measured in REFERENCE.md §4.
Unsupported: `dampening` (paddle has none).
"""
from __future__ import annotations

import dataclasses

import libcst as cst

from porter.convert.rules import Unsupported, rule


def _arg(call: cst.Call, name: str, index: int) -> cst.Arg | None:
    for i, a in enumerate(call.args):
        if (a.keyword is not None and a.keyword.value == name) or (a.keyword is None and not a.star and i == index):
            return a
    return None


@rule("sgd")
def sgd(row, call: cst.Call, ctx):
    from porter.convert.engine import convert_args

    momentum = _arg(call, "momentum", row.args.index("momentum"))
    if momentum is not None and not (isinstance(momentum.value, (cst.Integer, cst.Float))
                                      and momentum.value.evaluated_value == 0):
        unsupported = {k: v for k, v in row.unsupported.items() if k not in ("momentum", "nesterov")}
        row = dataclasses.replace(row, paddle="paddle.optimizer.Momentum", unsupported=unsupported,
                                  rename={**row.rename, "nesterov": "use_nesterov"})
    elif momentum is not None:
        row = dataclasses.replace(row, drop=row.drop | {"momentum"})
    plan = convert_args(row, list(call.args))
    if plan.args is None:
        return Unsupported(plan.reason)
    return call.with_changes(func=ctx.emit(row.paddle), args=plan.args)
