"""Calls that become other Python: statements and negations.

- `assert_statement`: `torch._assert(cond, msg)` as a statement becomes `assert cond, msg` (it is
  torch's traceable assert; paddle has none, and in eager mode both raise AssertionError on a false
  condition). Used inside an expression it stays unconverted.
- `negate`: `torch.jit.is_scripting()` is `not paddle.in_dynamic_mode()` (True only under
  paddle.jit.to_static), the row's target negated.
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import Unsupported, rule


@rule("assert_statement")
def assert_statement(row, call: cst.Call, ctx):
    args = [a for a in call.args if not a.star]
    if not ctx.is_statement(ctx.current_call) or not 1 <= len(args) <= 2 or len(args) != len(call.args):
        return Unsupported("only `torch._assert(cond[, msg])` as a whole statement converts (to `assert`)")
    test = args[0].value
    msg = args[1].value if len(args) == 2 else None
    return ctx.replace_statement(call, cst.Assert(test=test, msg=msg))


@rule("negate")
def negate(row, call: cst.Call, ctx):
    if call.args:
        return Unsupported("takes no arguments")
    return cst.UnaryOperation(operator=cst.Not(), expression=cst.Call(func=ctx.emit(row.paddle)))
