"""torch.nn layer constructors whose conversion depends on the argument values (tests/parity/cases/nn.toml).

Each rule either rewrites arguments before the row's generic conversion (`convert_args`) or refuses the
call with the reason, where paddle would give different numbers for those values:

- `layer_conv`: `padding='same'` with a dilation > 1 (paddle 3.3.1 computes 'same' padding as if the dilation
  were 1: same shape, wrong values) becomes the explicit padding torch uses; a non-'zeros'
  `padding_mode` needs one int padding in paddle (tuples raise), so equal tuples become that int.
- `layer_pool`: `ceil_mode=True` where torch drops a last window that would start in the right padding
  (stride > kernel - padding) and paddle keeps it (one more output column).
- `layer_softmax`: torch's `Softmax()` without `dim` picks the axis from the input rank; paddle's native layer
  uses -1, `paddle.compat.nn.Softmax()` keeps torch's choice. `LogSoftmax()` without dim has no such
  counterpart and is refused.
- `layer_cross_entropy`: paddle's mean reduction divides by every label when `ignore_index` is negative
  (REFERENCE.md §0 #3), so an explicit negative ignore_index with mean reduction and no class weight
  is refused; a non-zero `label_smoothing` is refused: paddle one-hot encodes along the last axis
  (wrong for (N, C, d1, ...) input), combines it with class weights differently, and returns (N, 1)
  for reduction='none'.
- `layer_upsample`: an int `size` is refused by paddle's Upsample (it wants one entry per spatial axis); for
  the modes that fix the rank (linear, bilinear, bicubic, trilinear) the int is repeated. Paddle has no
  mode='nearest-exact'.

Arguments passed through `*args`/`**kwargs` are not seen by these checks (the engine keeps them as written).
"""
from __future__ import annotations


import libcst as cst

from porter.convert.rules import Unsupported, rule
from porter.convert.rules._callargs import ceil_mode_problem


# -- helpers -------------------------------------------------------------------------------------
def _find(row, call: cst.Call, name: str) -> tuple[int, cst.Arg] | None:
    """The argument the call passes for torch parameter `name` (by keyword or position)."""
    sig = [a for a in row.args if a != "*"]
    n_pos = row.args.index("*") if "*" in row.args else len(sig)
    index = sig.index(name)
    for i, a in enumerate(call.args):
        if a.star:
            return None
        if a.keyword is not None and a.keyword.value == name:
            return i, a
        if a.keyword is None and i == index and index < n_pos:
            return i, a
    return None


def _value(row, call, name):
    found = _find(row, call, name)
    return found[1].value if found else None


def _code(expr: cst.BaseExpression) -> str:
    return cst.Module([]).code_for_node(expr)


def _ints(expr: cst.BaseExpression | None, ndim: int) -> list[int] | None:
    """A literal int or tuple/list of ints, as `ndim` ints; None if not a literal."""
    if isinstance(expr, cst.Integer):
        return [int(expr.evaluated_value)] * ndim
    if isinstance(expr, (cst.Tuple, cst.List)) and len(expr.elements) == ndim and all(
            isinstance(e.value, cst.Integer) for e in expr.elements):
        return [int(e.value.evaluated_value) for e in expr.elements]
    return None


def _is(expr: cst.BaseExpression | None, *names: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value in names


def _string(expr: cst.BaseExpression | None) -> str | None:
    if isinstance(expr, cst.SimpleString):
        return expr.evaluated_value
    return None


def _replace(call: cst.Call, index: int, value: cst.BaseExpression) -> cst.Call:
    args = list(call.args)
    args[index] = args[index].with_changes(value=value)
    return call.with_changes(args=args)


def _int_list(values: list[int]) -> cst.BaseExpression:
    return cst.parse_expression(repr(values[0]) if len(set(values)) == 1 else repr(list(values)))


def _finish(row, call: cst.Call, ctx, target: str | None = None):
    from porter.convert.engine import convert_args

    plan = convert_args(row, list(call.args))
    if plan.args is None:
        return Unsupported(plan.reason)
    new = call.with_changes(args=plan.args)
    return new.with_changes(func=ctx.emit(target)) if target else new


def _ndim(row) -> int:
    return int(row.torch[-2])          # torch.nn.Conv2d, MaxPool3d, ... : the digit before 'd'


# -- convolution ---------------------------------------------------------------------------------
@rule("layer_conv")
def conv(row, call: cst.Call, ctx):
    ndim = _ndim(row)
    padding = _find(row, call, "padding")
    mode = _value(row, call, "padding_mode")
    dilation = _ints(_value(row, call, "dilation"), ndim) if _find(row, call, "dilation") else [1] * ndim
    if padding is not None and _string(padding[1].value) == "same":
        if dilation is None:
            return Unsupported("padding='same' with a dilation that is not a literal: paddle computes 'same' "
                               "as if the dilation were 1; write the padding explicitly")
        if any(d != 1 for d in dilation) or (mode is not None and _string(mode) != "zeros"):
            kernel = _ints(_value(row, call, "kernel_size"), ndim)
            if kernel is None:
                return Unsupported("padding='same' with dilation or padding_mode needs a literal kernel_size "
                                   "to write the padding explicitly")
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            before = [t // 2 for t in total]
            if all(t % 2 == 0 for t in total):
                value = _int_list(before)
            elif mode is not None and _string(mode) != "zeros":
                return Unsupported("padding='same' needs uneven padding here, which paddle's padding_mode "
                                   "(one int padding) cannot express")
            else:       # torch puts the odd unit after: paddle's [before, after, ...] per spatial axis
                value = cst.parse_expression(repr([v for b, t in zip(before, total) for v in (b, t - b)]))
            call = _replace(call, padding[0], value)
            padding = (padding[0], call.args[padding[0]])
    if mode is not None and _string(mode) != "zeros" and padding is not None:
        p = padding[1].value
        if _string(p) == "valid":
            call = _replace(call, padding[0], cst.Integer("0"))
        elif isinstance(p, (cst.Tuple, cst.List)):
            values = _ints(p, ndim)
            if values is None or len(set(values)) != 1:
                return Unsupported(f"padding_mode={_code(mode)} with padding {_code(p)}: paddle takes only "
                                   "one int padding with a non-'zeros' padding_mode")
            call = _replace(call, padding[0], cst.Integer(str(values[0])))
    return _finish(row, call, ctx)


# -- pooling -------------------------------------------------------------------------------------
@rule("layer_pool")
def pool(row, call: cst.Call, ctx):
    ceil = _value(row, call, "ceil_mode")
    if ceil is not None and not _is(ceil, "False"):
        ndim = _ndim(row)
        kernel = _ints(_value(row, call, "kernel_size"), ndim)
        stride_expr = _value(row, call, "stride")
        stride = kernel if stride_expr is None or _is(stride_expr, "None") else _ints(stride_expr, ndim)
        padding_expr = _value(row, call, "padding")
        padding = [0] * ndim if padding_expr is None else _ints(padding_expr, ndim)
        problem = ceil_mode_problem(kernel, stride, padding)
        if problem:
            return Unsupported(problem)
    return _finish(row, call, ctx)


# -- softmax -------------------------------------------------------------------------------------
@rule("layer_softmax")
def softmax(row, call: cst.Call, ctx):
    dim = _value(row, call, "dim")
    if dim is None or _is(dim, "None"):
        if row.torch == "torch.nn.Softmax":
            return call.with_changes(func=ctx.emit("paddle.compat.nn.Softmax"), args=[])
        return Unsupported("without dim torch picks the axis from the input rank (0 for 0/1/3-D input, "
                           "else 1); paddle uses -1. Pass dim=")
    return _finish(row, call, ctx)


# -- losses --------------------------------------------------------------------------------------
@rule("layer_cross_entropy")
def cross_entropy(row, call: cst.Call, ctx):
    reduction = _value(row, call, "reduction")
    mean = reduction is None or _string(reduction) == "mean"
    ignore = _value(row, call, "ignore_index")
    weight = _value(row, call, "weight")
    if ignore is not None and mean and (weight is None or _is(weight, "None")):
        negative = isinstance(ignore, cst.UnaryOperation) and isinstance(ignore.operator, cst.Minus)
        if negative or not isinstance(ignore, cst.Integer):
            return Unsupported(f"ignore_index={_code(ignore)} with mean reduction: paddle divides by every "
                               "label, ignored ones included, when ignore_index < 0 (REFERENCE.md §0 #3); "
                               "use reduction='sum' and divide by the number of kept labels")
    smoothing = _value(row, call, "label_smoothing")
    if smoothing is not None and not (isinstance(smoothing, (cst.Integer, cst.Float))
                                      and smoothing.evaluated_value == 0):
        return Unsupported("label_smoothing: paddle one-hot encodes along the last axis, not the class axis "
                           "1 (wrong numbers for (N, C, d1, ...) input), weighs classes differently with "
                           "weight=, and returns (N, 1) with reduction='none'")
    return _finish(row, call, ctx)


# -- upsampling ----------------------------------------------------------------------------------
_MODE_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


@rule("layer_upsample")
def upsample(row, call: cst.Call, ctx):
    mode = _value(row, call, "mode")
    if mode is not None and _string(mode) == "nearest-exact":
        return Unsupported("paddle has no mode='nearest-exact'")
    size = _find(row, call, "size")
    if size is not None and isinstance(size[1].value, cst.Integer):
        rank = _MODE_RANK.get(_string(mode) if mode is not None else "nearest")
        if rank is None:
            return Unsupported(f"an int size ({_code(size[1].value)}) needs one entry per spatial axis in "
                               "paddle, and the mode does not say how many: write a tuple")
        call = _replace(call, size[0], cst.parse_expression(repr([int(size[1].value.evaluated_value)] * rank)))
    return _finish(row, call, ctx)


# -- frozen batch norm ---------------------------------------------------------------------------
@rule("layer_frozen_batchnorm")
def frozen_batchnorm(row, call: cst.Call, ctx):
    """torchvision's `FrozenBatchNorm2d(n, eps)`: batch norm on fixed statistics whose scale and shift
    are buffers. Paddle's BatchNorm2D with `use_global_stats=True` (the row's `add`) normalises with the
    running statistics in train mode too; `ParamAttr(trainable=False)` keeps the scale and shift out of
    the gradients and the optimizer, as torch's buffers are."""
    new = _finish(row, call, ctx)
    if isinstance(new, Unsupported):
        return new
    frozen = cst.Call(func=ctx.emit("paddle.ParamAttr"), args=[cst.Arg(
        cst.Name("False"), keyword=cst.Name("trainable"),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))])
    args = list(new.args)
    extra = [cst.Arg(frozen, keyword=cst.Name(k), equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
        for k in ("weight_attr", "bias_attr")]
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    args = [a.with_changes(comma=comma) for a in args] + [extra[0].with_changes(comma=comma), extra[1]]
    return new.with_changes(args=args)
