"""Tensor methods (`x.sum(dim=1)`), whose rows apply to any receiver porter cannot type.

What it does: every rule here first asks whether the call can be a torch tensor method at all, and
returns None (leave the call exactly as written) when it cannot:
- a keyword torch's signature does not have (numpy `axis=`/`keepdims=`, pandas `skipna=`, ...),
- more positionals than torch's signature takes (`np.clip(a, 0, 1)`, `re.sub(p, r, s)`),
- a receiver that is a well-known non-torch module (`np.sum(a, 0)`, `math.pow(a, b)`): the engine only
  knows torch's import bindings, so `np.sum` reaches the `torch.Tensor.sum` row; or a bare `self`.
Then the row's generic transform runs (`tensor_method`), or one of the special forms below:
- `tensor_operator`: `x.mul(y)` becomes `(x * y)` (eq ne gt lt ge le sub mul div pow). Paddle's methods
  reject a Python scalar operand (`x.mul(2)` raises) and `int_tensor.pow(0.5)` truncates to int64;
  the operators follow torch's rules for both (measured: tests/parity/cases/tensor.toml).
- `tensor_add`: `add`/`add_`/`mul_` keep the method; a number literal operand, which paddle's methods
  reject, becomes `x.scale_(2)` / `x.scale_(bias=1)` for the in-place forms. `x.add(1)` is reported,
  not rewritten: `set.add(1)` reads the same.
- `tensor_flip`: `x.flip(0, 1)` (torch varargs) becomes `x.flip([0, 1])`; paddle would take the 1 as
  its `name` argument and flip axis 0 only.
- `tensor_std`: `x.std(False)` (torch's bool overload) is `unbiased=False`, not axis False.
- `tensor_numel`: `x.numel()` is an int in torch, a 0-D tensor in paddle; paddle's `x.size` is the int.
- `tensor_new_tensor`: paddle has no `new_tensor`; `paddle.to_tensor(data, dtype=x.dtype, place=x.place)`.
- `tensor_to_function`: `x.relu()` (no paddle method) becomes `paddle.nn.functional.relu(x)`.
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import Unsupported, generic, rule
from porter.convert.names import dotted

# Receivers that are modules, never tensors (the engine does not track non-torch imports).
_MODULES = frozenset({
    "np", "numpy", "math", "cmath", "operator", "random", "statistics", "builtins", "jnp", "jax", "pd",
    "pandas", "scipy", "os", "re", "json", "itertools", "functools", "collections",
})
# A bare `self`/`cls` receiver is an object calling its own method (`self.sub(x)` on a layer whose class
# porter could not see), not a tensor.
_NOT_TENSORS = frozenset({"self", "cls"})


def _code(expr: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(expr)


def _receiver(call: cst.Call) -> cst.BaseExpression:
    return call.func.value


def _is_module(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Name) and expr.value in _NOT_TENSORS:
        return True
    while isinstance(expr, cst.Attribute):
        expr = expr.value
    return isinstance(expr, cst.Name) and expr.value in _MODULES


def _foreign(row, call: cst.Call) -> bool:
    """True when the call cannot be this torch tensor method (see the module docstring)."""
    if not isinstance(call.func, cst.Attribute) or _is_module(_receiver(call)):
        return True
    if row.args is None:
        return False
    sig = [a for a in row.args if a != "*"]
    n_pos = row.args.index("*") if "*" in row.args else len(sig)
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if len(positional) > n_pos:
        return True
    return any(a.keyword is not None and a.keyword.value not in sig for a in call.args)


_convert = generic      # the row's generic transform (porter.convert.rules.generic)


def _number(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.Minus, cst.Plus)):
        expr = expr.expression
    return isinstance(expr, (cst.Integer, cst.Float)) and not expr.lpar


def _scalar(expr: cst.BaseExpression) -> bool:
    """A number, or arithmetic that involves a `math.` value and at most plain names
    (`std * math.sqrt(2.)`): taken as a Python scalar. Were a name a tensor after all, paddle's `scale_`
    raises for more than one element (measured), so a wrong guess is loud, not silent."""
    if _number(expr):
        return True
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.Minus, cst.Plus)):
        return _scalar(expr.expression)
    d = dotted(expr.func) if isinstance(expr, cst.Call) else dotted(expr)
    if d is not None and d.startswith("math."):
        return True
    if isinstance(expr, cst.BinaryOperation):
        sides = (expr.left, expr.right)
        return all(_scalar(e) or isinstance(e, cst.Name) for e in sides) and any(_scalar(e) for e in sides) \
            and any(_math(e) for e in sides)
    return False


def _math(expr: cst.BaseExpression) -> bool:
    d = dotted(expr.func) if isinstance(expr, cst.Call) else dotted(expr)
    if d is not None and d.startswith("math."):
        return True
    if isinstance(expr, cst.BinaryOperation):
        return _math(expr.left) or _math(expr.right)
    return isinstance(expr, cst.UnaryOperation) and _math(expr.expression)


def _operand(call: cst.Call, name: str) -> cst.Arg | None:
    """The single argument bound to `name` (first positional or `name=`)."""
    for i, a in enumerate(call.args):
        if (a.keyword is None and not a.star and i == 0) or (a.keyword is not None and a.keyword.value == name):
            return a
    return None


_ATOMS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float, cst.SimpleString,
          cst.ConcatenatedString, cst.FormattedString, cst.List, cst.Tuple, cst.Dict, cst.Set)


def _atom(expr: cst.BaseExpression) -> cst.BaseExpression:
    """The expression, parenthesized unless it is an atom (operands of the emitted operator)."""
    if isinstance(expr, _ATOMS) or getattr(expr, "lpar", None):
        return expr
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.Minus, cst.Plus)) \
            and isinstance(expr.expression, _ATOMS):
        return expr                                     # `x * -1`, `x ** -0.5`
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


# -- the generic transform, guarded -----------------------------------------------------------------
@rule("tensor_method")
def tensor_method(row, call: cst.Call, ctx):
    if _foreign(row, call):
        return None
    return _convert(row, call)


# -- operators --------------------------------------------------------------------------------------
_OPERATORS = {
    "eq": cst.Equal, "ne": cst.NotEqual, "gt": cst.GreaterThan, "lt": cst.LessThan,
    "ge": cst.GreaterThanEqual, "le": cst.LessThanEqual,
    "sub": cst.Subtract, "mul": cst.Multiply, "div": cst.Divide, "pow": cst.Power,
}


@rule("tensor_operator")
def tensor_operator(row, call: cst.Call, ctx):
    """`x.gt(y)` -> `(x > y)`. With `alpha=`/`rounding_mode=` the method stays (paddle has them; the
    operand must then be a tensor)."""
    if _foreign(row, call):
        return None
    name = row.method_name
    operand_name = row.args[0]
    if len(call.args) != 1 or call.args[0].star:
        return _convert(row, call)                      # alpha= / rounding_mode=: keep the method
    arg = _operand(call, operand_name)
    if arg is None:
        return None
    op = _OPERATORS[name]
    prec = _precedence(op())
    left = _unparen(_atom(_receiver(call)), lambda q: q > prec or (q == prec and name != "pow"))
    right = _unparen(_atom(arg.value), lambda q: q > prec)
    par = dict(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    if isinstance(op(), cst.BaseCompOp):
        return cst.Comparison(left=left, comparisons=[cst.ComparisonTarget(operator=op(), comparator=right)], **par)
    return cst.BinaryOperation(left=left, operator=op(), right=right, **par)


def _precedence(op) -> int:
    if isinstance(op, cst.BaseCompOp):
        return 1
    if isinstance(op, (cst.Add, cst.Subtract)):
        return 2
    if isinstance(op, (cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo, cst.MatrixMultiply)):
        return 3
    if isinstance(op, cst.Power):
        return 4
    return 0                                            # bitwise and shifts: keep their parentheses


def _unparen(expr: cst.BaseExpression, binds_tighter) -> cst.BaseExpression:
    """Drop the parentheses of an arithmetic operand that binds tighter than the emitted operator
    (`((h * 2) - 1)` reads `(h * 2 - 1)`); a comparison inside a comparison keeps them (chaining)."""
    if isinstance(expr, cst.BinaryOperation) and len(expr.lpar) == 1:
        q = _precedence(expr.operator)
        if q and binds_tighter(q):
            return expr.with_changes(lpar=[], rpar=[])
    return expr


# -- add / add_ / sub_ / mul_ / div_ -------------------------------------------------------------------
def _scale_args(name: str, value: cst.BaseExpression) -> list[cst.Arg]:
    """x.<name>_(n) for a Python number n as paddle's `scale_(scale, bias)`."""
    eq = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
    wrapped = value if isinstance(value, (cst.Name, cst.Integer, cst.Float, cst.Call, cst.Attribute)) else \
        value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    if name == "mul_":
        return [cst.Arg(value=value)]
    if name == "div_":
        return [cst.Arg(value=cst.BinaryOperation(left=cst.Float("1.0"), operator=cst.Divide(
            whitespace_before=cst.SimpleWhitespace(" "), whitespace_after=cst.SimpleWhitespace(" ")), right=wrapped))]
    if name == "sub_":
        return [cst.Arg(keyword=cst.Name("bias"), equal=eq, value=cst.UnaryOperation(operator=cst.Minus(), expression=wrapped))]
    return [cst.Arg(keyword=cst.Name("bias"), equal=eq, value=value)]


@rule("tensor_add")
def tensor_add(row, call: cst.Call, ctx):
    if _foreign(row, call):
        return None
    arg = _operand(call, "other")
    alpha = any(a.keyword is not None and a.keyword.value in ("alpha", "rounding_mode") for a in call.args)
    name = row.method_name
    number = arg is not None and (_number(arg.value) or _scalar(arg.value)
                                  or (isinstance(arg.value, cst.Name) and ctx.is_scalar_local(arg.value.value)))
    if number:
        if name == "add":
            return Unsupported(f"paddle's Tensor.add needs a tensor operand; write `x + {_code(arg.value)}`")
        if alpha:
            return Unsupported(f"paddle's Tensor.{name} needs a tensor operand; fold alpha into the number")
        return call.with_changes(func=call.func.with_changes(attr=cst.Name("scale_")), args=_scale_args(name, arg.value))
    if arg is not None and not alpha and name in ("add_", "sub_", "mul_", "div_") and len(call.args) == 1 \
            and ((isinstance(arg.value, cst.Name) and ctx.is_parameter(arg.value.value))
                 or (dotted(arg.value) or "").startswith("self.")):
        # `tensor.add_(mean)` with a parameter (or a `self.` attribute) that may be a float (timm's
        # weight init, `self.head_init_scale`) or a tensor:
        # paddle's add_/mul_ take only tensors, scale_ only numbers; decided at run time
        tensor_form = _convert(row, call)
        if isinstance(tensor_form, Unsupported):
            return tensor_form
        # spelled `paddle.Tensor.add_(t, v)`: a paddle call, which converting the output again leaves alone
        tensor_form = tensor_form.with_changes(
            func=cst.Attribute(value=ctx.emit("paddle.Tensor"), attr=cst.Name(tensor_form.func.attr.value)),
            args=[cst.Arg(call.func.value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                  *tensor_form.args])
        scalar = call.with_changes(func=call.func.with_changes(attr=cst.Name("scale_")), args=_scale_args(name, arg.value))
        test = cst.Call(func=cst.Name("isinstance"), args=[
            cst.Arg(arg.value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
            cst.Arg(ctx.emit("paddle.Tensor"))])
        return cst.IfExp(test=test, body=tensor_form, orelse=scalar, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return _convert(row, call)


# -- flip -------------------------------------------------------------------------------------------
@rule("tensor_flip")
def tensor_flip(row, call: cst.Call, ctx):
    if not isinstance(call.func, cst.Attribute) or _is_module(_receiver(call)):
        return None
    if any(a.keyword is not None and a.keyword.value != "dims" for a in call.args):
        return None
    positional = [a for a in call.args if a.keyword is None]
    if any(a.star for a in call.args):
        return Unsupported("dims given with * unpacking; pass one list of axes")
    if len(positional) > 1:                             # torch varargs: x.flip(0, 1)
        elems = [cst.Element(value=a.value) for a in positional]
        elems = [e.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                 for e in elems[:-1]] + elems[-1:]
        call = call.with_changes(args=[cst.Arg(value=cst.List(elements=elems))])
    return _convert(row, call)


# -- std / var --------------------------------------------------------------------------------------
@rule("tensor_std")
def tensor_std(row, call: cst.Call, ctx):
    """torch's `std(unbiased)` overload: a bool literal first positional is `unbiased`, not a dim."""
    args = list(call.args)
    if args and args[0].keyword is None and not args[0].star and isinstance(args[0].value, cst.Name) \
            and args[0].value.value in ("True", "False"):
        if len(args) > 1 and args[1].keyword is None:
            return None                                 # no torch overload takes (bool, positional)
        args[0] = args[0].with_changes(keyword=cst.Name("unbiased"), equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
        call = call.with_changes(args=args)
    if _foreign(row, call):
        return None
    return _convert(row, call)


# -- numel ------------------------------------------------------------------------------------------
@rule("tensor_numel")
def tensor_numel(row, call: cst.Call, ctx):
    if call.args or _foreign(row, call):
        return None
    return cst.Attribute(value=_receiver(call), attr=cst.Name("size"))


# -- new_tensor -------------------------------------------------------------------------------------
def _plain(expr: cst.BaseExpression) -> bool:
    """A receiver that can be written twice without running anything twice: names, attributes and
    subscripts of them with simple indices."""
    if isinstance(expr, cst.Name):
        return True
    if isinstance(expr, cst.Attribute):
        return _plain(expr.value)
    if isinstance(expr, cst.Subscript):
        return _plain(expr.value) and all(
            isinstance(e.slice, cst.Index) and isinstance(e.slice.value, (cst.Name, cst.Integer))
            for e in expr.slice)
    return False


@rule("tensor_new_tensor")
def tensor_new_tensor(row, call: cst.Call, ctx):
    """`x.new_tensor(data, dtype=None, device=None, requires_grad=False)`: torch gives the result x's
    dtype and device unless told otherwise (whatever the data's own type)."""
    if _foreign(row, call):
        return None
    recv = _receiver(call)
    if not _plain(recv):
        return Unsupported("the receiver would be evaluated twice; bind it to a name first")
    plan = _convert(row, call)
    if isinstance(plan, Unsupported):
        return plan
    src = _code(recv)
    args = list(plan.args)
    written = {a.keyword.value for a in args if a.keyword is not None}
    if "dtype" not in written:
        args.append(cst.Arg(keyword=cst.Name("dtype"), value=cst.parse_expression(f"{src}.dtype")))
    args.append(cst.Arg(keyword=cst.Name("place"), value=cst.parse_expression(f"{src}.place")))
    eq = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
    fixed = []
    for k, a in enumerate(args):
        if a.keyword is not None:
            a = a.with_changes(equal=eq)
        a = a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                           if k < len(args) - 1 else cst.MaybeSentinel.DEFAULT)
        fixed.append(a)
    return cst.Call(func=ctx.emit(row.paddle), args=fixed)


# -- methods paddle only has as functions -----------------------------------------------------------
@rule("tensor_to_function")
def tensor_to_function(row, call: cst.Call, ctx):
    """`x.relu()` -> `paddle.nn.functional.relu(x)`: the receiver becomes the first argument."""
    if _foreign(row, call):
        return None
    plan = _convert(row, call)
    if isinstance(plan, Unsupported):
        return plan
    recv = _receiver(call)
    if getattr(recv, "lpar", None) and not isinstance(recv, (cst.Tuple, cst.GeneratorExp)):
        recv = recv.with_changes(lpar=[], rpar=[])     # (x - 1).relu() -> relu(x - 1)
    first = cst.Arg(value=recv)
    if plan.args:
        first = first.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return cst.Call(func=ctx.emit(row.paddle), args=[first, *plan.args])
