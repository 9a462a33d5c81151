"""`torch.device(...)` becomes the device string paddle's `.to()` / `paddle.device.set_device` take.

What it does: `torch.device('cuda')` -> `'gpu'`, `torch.device('cuda:1')` -> `'gpu:1'`,
`torch.device('cpu')` -> `'cpu'`, `torch.device('cuda', 1)` -> `'gpu:1'`; a computed argument becomes
`str(arg).replace('cuda', 'gpu')`. Paddle has no device object of torch's kind; its tensors and layers
take these strings (`x.to('cpu')`, `layer.to(device='gpu:0')`).
Unsupported: keyword forms (`type=`, `index=`).
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import Unsupported, rule


def _gpu(text: str) -> str:
    return text.replace("cuda", "gpu")


@rule("device")
def device(row, call: cst.Call, ctx):
    args = list(call.args)
    if not 1 <= len(args) <= 2 or any(a.keyword is not None or a.star for a in args):
        return Unsupported("only torch.device('kind[:index]') and torch.device('kind', index) convert")
    first = args[0].value
    if isinstance(first, cst.SimpleString):
        kind = _gpu(first.evaluated_value)
        if len(args) == 2:
            if not isinstance(args[1].value, cst.Integer):
                return cst.parse_expression(f"{kind!r} + ':' + str({cst.Module([]).code_for_node(args[1].value)})")
            kind = f"{kind}:{args[1].value.value}"
        return cst.SimpleString(repr(kind))
    src = cst.Module([]).code_for_node(first)
    if len(args) == 2:
        return Unsupported("a computed device kind with an index")
    return cst.parse_expression(f"str({src}).replace('cuda', 'gpu')")
