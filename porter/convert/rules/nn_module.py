"""nn.Module methods whose paddle.nn.Layer counterpart takes the same call in another shape."""
from __future__ import annotations

import libcst as cst

from porter.convert.names import dotted
from porter.convert.rules import rule

# paddle dtype attributes a converted torch dtype becomes (`torch.float64` -> `paddle.float64`)
_DTYPES = {"float16", "bfloat16", "float32", "float64", "half", "float", "double", "complex64", "complex128",
           "int8", "int16", "int32", "int64", "uint8", "bool"}


def _is_dtype(expr: cst.BaseExpression) -> bool:
    d = dotted(expr) or ""
    head, _, last = d.rpartition(".")
    return head in ("paddle", "torch") and last in _DTYPES


@rule("module_to")
def module_to(row, call: cst.Call, ctx):
    """`model.to(torch.float64)` -> `model.to(dtype=paddle.float64)`: paddle's Layer.to takes
    (device, dtype, blocking) and raises on a dtype in the device position. A device, or (device, dtype),
    keeps its place; `non_blocking=` and `memory_format=` (no effect on the numbers) are dropped.
    A lone positional argument that is neither a literal dtype nor obviously a device is left as written
    (paddle treats it as a device)."""
    args = []
    for i, a in enumerate(call.args):
        if a.keyword is not None and a.keyword.value in ("non_blocking", "memory_format"):
            continue
        if a.keyword is None and not a.star and i == 0 and _is_dtype(a.value):
            a = a.with_changes(keyword=cst.Name("dtype"), equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
        args.append(a)
    fixed = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")) if k < len(args) - 1
                            else cst.MaybeSentinel.DEFAULT) for k, a in enumerate(args)]
    return call.with_changes(args=fixed)
