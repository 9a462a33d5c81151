"""Shared helpers for rules that take a call apart (module name starts with `_`: it registers no rules).

`bind` matches a call's arguments to a torch signature by name, the way Python would; rules then
rebuild the call they need from the named pieces.
"""
from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

_EMPTY = cst.Module([])


def code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


@dataclass
class Bound:
    named: dict[str, cst.BaseExpression]     # torch argument name -> value
    order: list[str]                         # names in the order they were written
    positional: int                          # how many were written positionally


def bind(args: list[cst.Arg] | tuple[cst.Arg, ...], sig: list[str], kwonly: tuple[str, ...] = ()) -> Bound | str:
    """Match arguments to `sig` (positional-or-keyword) and `kwonly`; a string says why they don't match."""
    named: dict[str, cst.BaseExpression] = {}
    order: list[str] = []
    n_pos = 0
    for a in args:
        if a.star:
            return "starred arguments cannot be matched to the signature"
        if a.keyword is None:
            if n_pos >= len(sig):
                return f"positional argument {n_pos + 1} cannot be matched to the signature"
            name = sig[n_pos]
            n_pos += 1
        else:
            name = a.keyword.value
            if name not in sig and name not in kwonly:
                return f"argument '{name}' is not in the torch signature known to porter"
        if name in named:
            return f"argument '{name}' given twice"
        named[name] = a.value
        order.append(name)
    return Bound(named, order, n_pos)


def arg(value: cst.BaseExpression, keyword: str | None = None) -> cst.Arg:
    if keyword is None:
        return cst.Arg(value=value)
    return cst.Arg(value=value, keyword=cst.Name(keyword),
                   equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                         whitespace_after=cst.SimpleWhitespace("")))


def call(func: cst.BaseExpression, args: list[cst.Arg]) -> cst.Call:
    """A call with `, `-separated arguments."""
    fixed = []
    for i, a in enumerate(args):
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")) if i < len(args) - 1 else cst.MaybeSentinel.DEFAULT
        fixed.append(a.with_changes(comma=comma))
    return cst.Call(func=func, args=fixed)


def strip_parens(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr.with_changes(lpar=[], rpar=[]) if getattr(expr, "lpar", None) else expr


def number(expr: cst.BaseExpression) -> int | float | None:
    """The value of a numeric literal (`2`, `-0.5`, `+1e-9`), else None. Booleans are not numbers here."""
    expr = strip_parens(expr)
    if isinstance(expr, (cst.Integer, cst.Float)):
        return expr.evaluated_value
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.Minus, cst.Plus)):
        v = number(expr.expression)
        if v is not None:
            return -v if isinstance(expr.operator, cst.Minus) else v
    return None


def int_literal(expr: cst.BaseExpression) -> bool:
    return isinstance(number(expr), int)


def is_string(expr: cst.BaseExpression) -> bool:
    return isinstance(strip_parens(expr), (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))


def is_simple(expr: cst.BaseExpression) -> bool:
    """A name or attribute chain: cheap and side-effect free to write twice."""
    expr = strip_parens(expr)
    while isinstance(expr, cst.Attribute):
        expr = expr.value
    return isinstance(expr, cst.Name)


def atom(expr: cst.BaseExpression) -> str:
    """Source for `expr` as an operand: parenthesised unless it binds tighter than any operator."""
    src = code(strip_parens(expr))
    tight = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float, cst.Imaginary,
             cst.SimpleString, cst.List, cst.Tuple)
    return src if isinstance(strip_parens(expr), tight) and not isinstance(strip_parens(expr), cst.Tuple) else f"({src})"


def ceil_mode_problem(kernel, stride, padding) -> str | None:
    """Pooling with ceil_mode=True: where stride > kernel - padding torch drops a last window that would
    start in the right padding and paddle keeps it (one more output, measured). None when it is safe."""
    if kernel is None or stride is None or padding is None:
        return ("ceil_mode with a kernel_size, stride or padding that is not a literal: where "
                "stride > kernel - padding torch drops a last window starting in the padding, paddle keeps it")
    if any(s > k - p for k, s, p in zip(kernel, stride, padding)):
        return ("ceil_mode=True with stride > kernel_size - padding: torch drops a last window "
                "that would start in the right padding, paddle keeps it (one more output)")
    return None
