"""Reductions whose paddle form depends on the arguments written.

- `std_var` (torch.std / torch.var): torch's `std(input, unbiased)` overload takes a bool second
  positional; paddle would read it as the axis. A bool literal there becomes `unbiased=`.
- `norm` (torch.norm): with a number `p` (or none, 'fro') torch computes a vector norm over `dim`, also when
  `dim` names two axes; `paddle.norm` computes a matrix norm there (p=2 over (0, 1) is the spectral norm,
  measured 3.65 vs torch's 3.74). So: `paddle.linalg.vector_norm` (p='fro' is its default p=2), and
  `paddle.norm` for `p='nuc'`, the one torch.norm case that is a matrix norm.
"""
from __future__ import annotations

import dataclasses

import libcst as cst

from porter.convert.rules import Unsupported, generic, rule
from porter.convert.rules._callargs import arg, bind, call as make_call, is_string, strip_parens


_convert = generic      # the row's generic transform (porter.convert.rules.generic)


@rule("std_var")
def std_var(row, call: cst.Call, ctx):
    args = list(call.args)
    if len(args) > 1 and args[1].keyword is None and not args[1].star and args[0].keyword is None \
            and isinstance(strip_parens(args[1].value), cst.Name) and strip_parens(args[1].value).value in ("True", "False"):
        if len(args) > 2 and args[2].keyword is None:
            return Unsupported("no torch overload takes (input, bool, positional)")
        args[1] = args[1].with_changes(keyword=cst.Name("unbiased"), equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
    return _convert(row, call, args)


@rule("norm")
def norm(row, call: cst.Call, ctx):
    sig = [a for a in row.args if a != "*"]
    positional = row.args.index("*") if "*" in row.args else len(sig)
    b = bind(call.args, sig[:positional], kwonly=tuple(sig[positional:]))
    if isinstance(b, str):
        return Unsupported(b)
    if "input" not in b.named:
        return Unsupported("no input argument")
    p = b.named.get("p")
    p_str = strip_parens(p).evaluated_value if p is not None and isinstance(strip_parens(p), cst.SimpleString) else None
    if p is not None and is_string(p) and p_str not in ("fro", "nuc"):
        return Unsupported(f"p={p_str!r}")
    if p_str == "nuc":
        matrix = dataclasses.replace(row, paddle="paddle.norm")
        return _convert(matrix, call.with_changes(func=ctx.emit("paddle.norm")), list(call.args))
    out = [arg(b.named["input"])]
    if p is not None and p_str is None:
        out.append(arg(p))
    for torch_name, paddle_name in (("dim", "axis"), ("keepdim", "keepdim"), ("dtype", "dtype")):
        if torch_name in b.named:
            out.append(arg(b.named[torch_name], paddle_name))
    return make_call(ctx.emit("paddle.linalg.vector_norm"), out)
