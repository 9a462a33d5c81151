"""Mixed precision regions: `torch.autocast` / `torch.amp.autocast` / `torch.cuda.amp.autocast`.

- `enabled=False` (a region kept in full precision, e.g. an attention softmax) is
  `paddle.amp.auto_cast(enable=False)` on any device.
- An enabled region converts on CUDA only (`torch.cuda.amp.autocast(...)`, or `device_type='cuda'`
  written as a literal), to `paddle.amp.auto_cast(enable=..., dtype='float16'|'bfloat16')`: both
  frameworks then run their white-listed ops (matmul, conv) in half precision, so results agree to
  half-precision tolerance, not bit for bit. On the CPU torch casts to bfloat16 and paddle's auto_cast
  does nothing, so an enabled CPU (or unknown-device) region is refused.
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import Unsupported, rule
from porter.convert.rules.layers import _code, _find, _string


def _eq() -> cst.AssignEqual:
    return cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


@rule("autocast")
def autocast(row, call: cst.Call, ctx):
    if any(a.star for a in call.args):
        return Unsupported("arguments passed with * or **")
    enabled = _find(row, call, "enabled")
    enabled = enabled[1].value if enabled else cst.Name("True")
    device = "cuda" if row.torch == "torch.cuda.amp.autocast" else None
    if "device_type" in row.args:
        found = _find(row, call, "device_type")
        device = _string(found[1].value) if found else None
    dtype = _find(row, call, "dtype")
    dtype_code = _code(dtype[1].value) if dtype else ""
    args = [cst.Arg(keyword=cst.Name("enable"), equal=_eq(), value=enabled)]
    if isinstance(enabled, cst.Name) and enabled.value == "False":
        pass
    elif device != "cuda":
        return Unsupported("an enabled autocast region off CUDA: torch casts to bfloat16 on the CPU, paddle's "
                           "auto_cast does nothing there; use paddle.amp.auto_cast on GPU or remove the region")
    else:
        if not dtype or dtype_code.endswith(("None", ".float16", ".half")) or dtype_code == "float16":
            half = "float16"
        elif dtype_code.endswith("bfloat16"):
            half = "bfloat16"
        else:
            return Unsupported(f"dtype={dtype_code}: only float16 / bfloat16 convert")
        args.append(cst.Arg(keyword=cst.Name("dtype"), equal=_eq(), value=cst.SimpleString(repr(half))))
    args = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for a in args[:-1]] + args[-1:]
    return cst.Call(func=ctx.emit(row.paddle), args=args)
