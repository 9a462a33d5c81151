"""More torch.linalg rules (cases in tests/parity/cases/linalg.toml).

- `linalg_pinv` (torch.linalg.pinv): both cut singular values below a cutoff relative to the largest one
  (torch's rtol / legacy rcond, paddle's rcond), but the defaults differ: torch's rtol is
  eps(dtype) * max(m, n), paddle's rcond 1e-15 (rank-deficient float32 inputs give entries ~1e6). Without
  rtol/rcond the rule writes torch's default: `rcond=paddle.finfo(A.dtype).eps * max(A.shape[-2:])`
  (through a lambda when A is not a plain name, so it is evaluated once). An absolute `atol` has no paddle
  form and is reported.
- `linalg_lu` (torch.linalg.lu): torch returns (P, L, U); paddle.linalg.lu returns the packed (LU, pivots),
  which paddle.linalg.lu_unpack turns into (P, L, U): `paddle.linalg.lu_unpack(*paddle.linalg.lu(A))`.
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import Unsupported, rule
from porter.convert.rules._callargs import bind, code, strip_parens


def _is_none(expr) -> bool:
    expr = strip_parens(expr)
    return isinstance(expr, cst.Name) and expr.value == "None"


def _simple(expr) -> bool:
    """A name or a dotted attribute of names: safe to write twice."""
    expr = strip_parens(expr)
    while isinstance(expr, cst.Attribute):
        expr = expr.value
    return isinstance(expr, cst.Name)


def _kw(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(keyword=cst.Name(name), value=value, equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))


@rule("linalg_pinv")
def linalg_pinv(row, call: cst.Call, ctx):
    b = bind(call.args, ["input", "rcond", "hermitian"], kwonly=("atol", "rtol"))
    if isinstance(b, str):
        return Unsupported(b)
    if "input" not in b.named:
        return Unsupported("no input matrix")
    atol = b.named.get("atol")
    if atol is not None and not _is_none(atol):
        return Unsupported("an absolute atol cutoff has no paddle form (paddle.linalg.pinv's rcond is relative)")
    rtol = b.named.get("rtol")
    rcond = b.named.get("rcond")
    if rtol is not None and not _is_none(rtol) and rcond is not None and not _is_none(rcond):
        return Unsupported("rcond and rtol together (torch raises)")
    cut = rtol if rtol is not None and not _is_none(rtol) else rcond if rcond is not None and not _is_none(rcond) else None
    a = b.named["input"]
    finfo = code(ctx.emit("paddle.finfo"))
    pinv = ctx.emit(row.paddle)
    hermitian = [_kw("hermitian", b.named["hermitian"])] if "hermitian" in b.named else []
    if cut is not None:
        return cst.Call(func=pinv, args=[cst.Arg(a), _kw("rcond", cut)] + hermitian)
    if _simple(a):
        src = code(a)
        default = cst.parse_expression(f"{finfo}({src}.dtype).eps * max({src}.shape[-2:])")
        return cst.Call(func=pinv, args=[cst.Arg(a), _kw("rcond", default)] + hermitian)
    h = f", hermitian={code(b.named['hermitian'])}" if hermitian else ""
    lam = cst.parse_expression(f"(lambda _a: {code(pinv)}(_a, rcond={finfo}(_a.dtype).eps * max(_a.shape[-2:]){h}))")
    return cst.Call(func=lam, args=[cst.Arg(a)])


@rule("linalg_lu")
def linalg_lu(row, call: cst.Call, ctx):
    b = bind(call.args, ["A"], kwonly=("pivot",))
    if isinstance(b, str):
        return Unsupported(b)
    if "A" not in b.named:
        return Unsupported("no input matrix")
    pivot = b.named.get("pivot")
    if pivot is not None and not (isinstance(strip_parens(pivot), cst.Name) and strip_parens(pivot).value == "True"):
        return Unsupported("only pivot=True converts (torch computes pivot=False on CUDA only)")
    lu = cst.Call(func=ctx.emit("paddle.linalg.lu"), args=[cst.Arg(b.named["A"])])
    return cst.Call(func=ctx.emit(row.paddle), args=[cst.Arg(lu, star="*")])
