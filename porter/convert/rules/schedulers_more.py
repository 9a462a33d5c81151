"""More torch.optim.lr_scheduler rules (cases in tests/parity/cases/optim.toml).

- `constant_lr` (torch.optim.lr_scheduler.ConstantLR): paddle has no ConstantLR; the same schedule is
  `LambdaDecay(lr_lambda=lambda e: factor if e < total_iters else 1.0)`. The call is rewritten to that
  LambdaDecay form and then goes through the `scheduler` rule (rules/optimizers.py), which attaches it to
  the optimizer. factor and total_iters are bound as lambda defaults, so they are evaluated once, at the
  call, as in torch.
"""
from __future__ import annotations

import dataclasses

import libcst as cst

from porter.convert.rules import RULES, Unsupported, rule
from porter.convert.rules._callargs import bind, code


def _kw(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(keyword=cst.Name(name), value=value, equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))


@rule("constant_lr")
def constant_lr(row, call: cst.Call, ctx):
    b = bind(call.args, ["optimizer", "factor", "total_iters", "last_epoch"])
    if isinstance(b, str):
        return Unsupported(b)
    if "optimizer" not in b.named:
        return Unsupported("the optimizer argument cannot be found")
    factor = code(b.named["factor"]) if "factor" in b.named else "1.0 / 3"
    total = code(b.named["total_iters"]) if "total_iters" in b.named else "5"
    lam = cst.parse_expression(f"lambda epoch, _factor={factor}, _total={total}: _factor if epoch < _total else 1.0")
    args = [cst.Arg(b.named["optimizer"]), _kw("lr_lambda", lam)]
    if "last_epoch" in b.named:
        args.append(_kw("last_epoch", b.named["last_epoch"]))
    lambda_row = dataclasses.replace(row, args=("optimizer", "lr_lambda", "last_epoch"))
    return RULES["scheduler"](lambda_row, call.with_changes(args=args), ctx)
