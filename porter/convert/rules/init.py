"""torch.nn.init helpers model code calls directly (timm's variance_scaling_, lecun_normal_):

- `fans`: `torch.nn.init._calculate_fan_in_and_fan_out(w)` is paddle's
  `paddle.nn.initializer.Initializer()._compute_fans(w)`, which reads paddle's layouts: a Linear weight is
  [in, out] in paddle (torch's formula would swap its fans), a conv weight [out, in, *k] as in torch.
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import Unsupported, rule


@rule("fans")
def fans(row, call: cst.Call, ctx):
    args = [a for a in call.args if not a.star]
    if len(args) != 1 or len(call.args) != 1 or (args[0].keyword is not None and args[0].keyword.value != "tensor"):
        return Unsupported("only _calculate_fan_in_and_fan_out(tensor) converts")
    initializer = cst.Call(func=ctx.emit("paddle.nn.initializer.Initializer"))
    return cst.Call(func=cst.Attribute(value=initializer, attr=cst.Name("_compute_fans")),
                    args=[cst.Arg(args[0].value)])
