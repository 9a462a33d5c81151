"""The context object of a custom autograd Function (`torch.autograd.Function` -> `paddle.autograd.PyLayer`).

What it does: `ctx.saved_tensors` (an attribute in torch) becomes `ctx.saved_tensor()` (a method of
paddle's PyLayerContext); `ctx.save_for_backward(...)` and `ctx.mark_non_differentiable(...)` are
the same in both.
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import rule


@rule("attribute_to_call")
def attribute_to_call(row, attribute: cst.Attribute, ctx):
    name = row.paddle.rsplit(".", 1)[1]
    return cst.Call(func=attribute.with_changes(attr=cst.Name(name)))
