"""Fused arithmetic paddle has no function for, written as Python operators:

- `addcmul`: `torch.addcmul(x, t1, t2, value=v)` is `x + v * (t1 * t2)`; `torch.addcdiv` divides.
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import Unsupported, rule
from porter.convert.rules._callargs import atom, bind


@rule("addcmul")
def addcmul(row, call: cst.Call, ctx):
    b = bind(call.args, ["input", "tensor1", "tensor2"], kwonly=("value", "out"))
    if isinstance(b, str):
        return Unsupported(b)
    if "out" in b.named:
        return Unsupported("out= has no paddle counterpart")
    if not all(k in b.named for k in ("input", "tensor1", "tensor2")):
        return Unsupported("input, tensor1 and tensor2 are required")
    op = "*" if row.torch.endswith("addcmul") else "/"
    term = f"({atom(b.named['tensor1'])} {op} {atom(b.named['tensor2'])})"
    if "value" in b.named:
        term = f"{atom(b.named['value'])} * {term}"
    return cst.parse_expression(f"({atom(b.named['input'])} + {term})")
