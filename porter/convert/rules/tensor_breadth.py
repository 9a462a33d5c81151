"""More tensor methods (`mappings/torch.Tensor.toml`, the breadth sections): forms the row fields cannot
express. Every rule first asks, like rules/tensor_methods.py, whether the call can be the torch tensor
method at all (a module receiver such as `np`, a bare `self`, a keyword torch lacks, too many positionals)
and returns None to leave the call as written when it cannot.

- `tensor_alias_operator`: `x.greater(y)`, `x.multiply(2)`, `x.true_divide(y)`... are spelled as the
  operator, like `x.gt(y)` (tensor_methods.tensor_operator): paddle's methods reject a Python number operand.
- `tensor_item`: torch's `x.equal(y)` / `x.allclose(y)` return a Python bool; paddle's `equal_all` /
  `allclose` a 0-D bool tensor: `.item()` is appended.
- `tensor_addcmul`: paddle has no addcmul/addcdiv: `x.addcmul(a, b, value=v)` is `(x + v * (a * b))`,
  `x.addcmul_(a, b, value=v)` is `x.add_(v * (a * b))` (division for addcdiv).
- `tensor_where`: torch's `x.where(cond, y)` is `where(cond, x, y)`; paddle's Tensor.where takes the
  receiver as the condition: `paddle.where(cond, x, y)`.
- `tensor_reshape_as`: `x.reshape_as(y)` is `x.reshape(y.shape)`.
- `tensor_flip_side`: `x.fliplr()` / `x.flipud()` are `x.flip([1])` / `x.flip([0])`.
- `tensor_to_function_guarded`: tensor_methods.tensor_to_function for names pandas also has (`unique`,
  `median`): a receiver that reads as a pandas object (`df['col']`, `df`, `*_df`) is left alone; so is
  `where` in `tensor_where`.
"""
from __future__ import annotations

import dataclasses

import libcst as cst

from porter.convert.rules import Unsupported, generic, rule
from porter.convert.rules.tensor_methods import _foreign, tensor_operator

_SP = cst.SimpleWhitespace(" ")
_COMMA = cst.Comma(whitespace_after=_SP)
_PAR = dict(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _binop(left, op, right):
    return cst.BinaryOperation(left=left, operator=op(whitespace_before=_SP, whitespace_after=_SP), right=right)


def _paren(expr: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(expr, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float)) \
            or getattr(expr, "lpar", None):
        return expr
    return expr.with_changes(**_PAR)


def _bind(row, call: cst.Call) -> dict[str, cst.BaseExpression] | None:
    """torch argument name -> value for a call without star arguments."""
    sig = [a for a in row.args if a != "*"]
    out = {}
    for i, a in enumerate(call.args):
        if a.star:
            return None
        name = a.keyword.value if a.keyword is not None else sig[i]
        out[name] = a.value
    return out


# -- operators under other names ----------------------------------------------------------------------
_ALIASES = {"greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le", "not_equal": "ne",
            "multiply": "mul", "divide": "div", "true_divide": "div", "subtract": "sub"}


@rule("tensor_alias_operator")
def tensor_alias_operator(row, call: cst.Call, ctx):
    """`x.greater(y)` -> `(x > y)`, `x.multiply(2)` -> `(x * 2)`; with alpha=/rounding_mode= the paddle
    method stays (its operand must then be a tensor)."""
    alias = _ALIASES[row.method_name]
    return tensor_operator(dataclasses.replace(row, torch=f"torch.Tensor.{alias}"), call, ctx)


# -- a bool where paddle gives a 0-D tensor -------------------------------------------------------------
@rule("tensor_item")
def tensor_item(row, call: cst.Call, ctx):
    if _foreign(row, call):
        return None
    plan = generic(row, call)
    if isinstance(plan, Unsupported):
        return plan
    return cst.Call(func=cst.Attribute(value=plan, attr=cst.Name("item")))


# -- addcmul / addcdiv ------------------------------------------------------------------------------
@rule("tensor_addcmul")
def tensor_addcmul(row, call: cst.Call, ctx):
    if _foreign(row, call):
        return None
    bound = _bind(row, call)
    if bound is None:
        return Unsupported("arguments given with * unpacking")
    if "tensor1" not in bound or "tensor2" not in bound:
        return None
    name = row.method_name
    op = cst.Multiply if name.startswith("addcmul") else cst.Divide
    term = _binop(_paren(bound["tensor1"]), op, _paren(bound["tensor2"])).with_changes(**_PAR)
    if "value" in bound:
        term = _binop(_paren(bound["value"]), cst.Multiply, term)
    recv = call.func.value
    if name.endswith("_"):
        return cst.Call(func=cst.Attribute(value=recv, attr=cst.Name("add_")), args=[cst.Arg(term)])
    return _binop(_paren(recv), cst.Add, term).with_changes(**_PAR)


# -- where ------------------------------------------------------------------------------------------
@rule("tensor_where")
def tensor_where(row, call: cst.Call, ctx):
    if _foreign(row, call) or _pandas_like(call.func.value):
        return None
    bound = _bind(row, call)
    if bound is None:
        return Unsupported("arguments given with * unpacking")
    if set(bound) != {"condition", "other"}:
        return None
    args = [cst.Arg(bound["condition"], comma=_COMMA), cst.Arg(call.func.value, comma=_COMMA), cst.Arg(bound["other"])]
    return cst.Call(func=ctx.emit("paddle.where"), args=args)


# -- reshape_as -------------------------------------------------------------------------------------
@rule("tensor_reshape_as")
def tensor_reshape_as(row, call: cst.Call, ctx):
    if _foreign(row, call):
        return None
    bound = _bind(row, call)
    if bound is None or set(bound) != {"other"}:
        return None
    shape = cst.Attribute(value=_paren(bound["other"]), attr=cst.Name("shape"))
    return cst.Call(func=cst.Attribute(value=call.func.value, attr=cst.Name("reshape")), args=[cst.Arg(shape)])


# -- fliplr / flipud --------------------------------------------------------------------------------
@rule("tensor_flip_side")
def tensor_flip_side(row, call: cst.Call, ctx):
    if _foreign(row, call) or call.args:
        return None
    axis = "1" if row.method_name == "fliplr" else "0"
    return cst.Call(func=cst.Attribute(value=call.func.value, attr=cst.Name("flip")),
                    args=[cst.Arg(cst.List([cst.Element(cst.Integer(axis))]))])


# -- methods pandas also has, moved into a paddle function ----------------------------------------------
def _pandas_like(recv: cst.BaseExpression) -> bool:
    """`df['col']`, `df.col`, `df`: a pandas object (`series.unique()`, `df.median()`, `df.where(...)`
    read the same), never rewritten into a paddle function."""
    if isinstance(recv, cst.Subscript):
        if any(isinstance(e.slice, cst.Index) and isinstance(e.slice.value, (cst.SimpleString, cst.FormattedString))
               for e in recv.slice):
            return True
        return _pandas_like(recv.value)
    if isinstance(recv, cst.Attribute):
        return _pandas_like(recv.value)
    if isinstance(recv, cst.Name):
        n = recv.value.lower()
        return n in ("df", "data_frame", "dataframe", "series") or n.startswith("df_") or n.endswith("_df")
    return False


@rule("tensor_to_function_guarded")
def tensor_to_function_guarded(row, call: cst.Call, ctx):
    """rules/tensor_methods.tensor_to_function, except on a receiver that reads as a pandas object."""
    from porter.convert.rules.tensor_methods import tensor_to_function
    if isinstance(call.func, cst.Attribute) and _pandas_like(call.func.value):
        return None
    return tensor_to_function(row, call, ctx)
