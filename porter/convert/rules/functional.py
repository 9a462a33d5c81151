"""torch.nn.functional calls whose paddle form the row fields cannot express.

- `softmax_dim` (F.softmax, F.log_softmax, F.softmin): torch without `dim` picks the dimension from the
  input's rank (0 for 0-, 1- and 3-D input, else 1; a deprecated implicit choice), paddle uses -1. The rule
  writes torch's choice out as `axis=0 if x.ndim in (0, 1, 3) else 1` when the input is a plain name, and
  leaves the call unconverted otherwise. F.softmin(x) is F.softmax(-x).
- `cross_entropy`: paddle's F.cross_entropy (the row adds axis=1, torch's class axis) divides a mean by
  every label, ignored ones included, when there is no class weight and ignore_index is negative (the
  default -100; REFERENCE.md §0 #3). With a weight it divides by the weights of the labels kept, like torch.
  So where that case can arise the rule passes `weight=paddle.ones([x.shape[1]], x.dtype)` (exact for every
  reduction), or, when only the target is a plain name, divides a 'sum' by `(y != ignore_index).sum()`.
  (paddle's F.nll_loss is not an alternative: for inputs of more than 2-D with ignored labels its mean/sum
  corrupts the heap.) A non-zero `label_smoothing` is not converted (paddle's smoothing takes the last axis
  as the class axis and raises on ignored labels).
- `one_hot`: paddle returns float32, torch int64: the result is cast with `.astype('int64')`.
- `conv_padding` (F.conv1d/2d/3d): paddle's `padding='same'` ignores `dilation` (wrong numbers, measured),
  so 'same' (or a padding porter cannot see) with a dilation other than 1 is left unconverted.
- `interpolate` (F.interpolate, F.upsample*): paddle needs one size per spatial dimension, torch also takes
  a single int. An int literal is expanded from the mode ('linear' 1-D, 'bilinear'/'bicubic' 2-D,
  'trilinear' 3-D) or from the input's rank; `mode='nearest-exact'` does not exist in paddle.
- `pool_ceil` (F.max_pool*, F.avg_pool*): with `ceil_mode=True` and stride > kernel - padding torch drops a
  last window that would start in the right padding, paddle keeps it (one more output): refused, as are
  sizes porter cannot read.

A rule that cannot see an argument it needs (passed through *args/**kwargs) leaves the call unconverted.
"""
from __future__ import annotations

import dataclasses

import libcst as cst

from porter.convert.rules import Unsupported, generic, rule
from porter.convert.rules._callargs import ceil_mode_problem

_MISSING = object()     # the argument is not in the call
_UNKNOWN = object()     # a *args/**kwargs splat hides whether it is


def _code(expr: cst.BaseExpression) -> str:
    return cst.Module([]).code_for_node(expr)


def _find(row, args: list[cst.Arg], name: str):
    """(index, Arg) of torch argument `name` in a torch-form argument list, or _MISSING / _UNKNOWN."""
    sig = [a for a in row.args if a != "*"]
    positional_ok = row.args.index("*") if "*" in row.args else len(sig)
    want = sig.index(name)
    splat = False
    for i, a in enumerate(args):
        if a.star:
            splat = True
            continue
        if a.keyword is not None:
            if a.keyword.value == name:
                return i, a
        elif not splat and i == want and i < positional_ok:
            return i, a
    return _UNKNOWN if splat else _MISSING


def _simple(expr: cst.BaseExpression) -> bool:
    """A name, attribute chain or literal subscript of one (`batch['label']`): safe to write twice."""
    if isinstance(expr, cst.Name):
        return expr.value not in ("None", "True", "False")
    if isinstance(expr, cst.Attribute):
        return _simple(expr.value)
    if isinstance(expr, cst.Subscript):
        return _simple(expr.value) and all(
            isinstance(e.slice, cst.Index) and isinstance(e.slice.value, (cst.SimpleString, cst.Integer))
            for e in expr.slice)
    return False


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _string(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.SimpleString):
        return expr.evaluated_value
    return None


def _ints(expr: cst.BaseExpression) -> list[int] | None:
    """An int literal or a tuple/list of int literals, else None."""
    items = [e.value for e in expr.elements] if isinstance(expr, (cst.Tuple, cst.List)) else [expr]
    if items and all(isinstance(e, cst.Integer) for e in items):
        return [e.evaluated_value for e in items]
    return None


def _kw(name: str, value: cst.BaseExpression) -> cst.Arg:
    eq = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
    return cst.Arg(value=value, keyword=cst.Name(name), equal=eq)


def _set(args: list[cst.Arg], found, name: str, value: cst.BaseExpression) -> list[cst.Arg]:
    """Replace the value of a found argument, or append it as a keyword."""
    args = list(args)
    if isinstance(found, tuple):
        i, a = found
        args[i] = a.with_changes(value=value)
    else:
        if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
            args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(_kw(name, value))
    return args


_convert = generic      # the row's generic transform (porter.convert.rules.generic)


@rule("softmax_dim")
def softmax_dim(row, call: cst.Call, ctx):
    args = list(call.args)
    dim = _find(row, args, "dim")
    inp = _find(row, args, "input")
    if dim is _UNKNOWN or inp is _UNKNOWN or inp is _MISSING:
        return Unsupported("arguments passed through *args/**kwargs cannot be matched")
    if dim is _MISSING or _is_none(dim[1].value):
        if not _simple(inp[1].value):
            return Unsupported("without dim torch picks the dimension from the input's rank (0 for 0-, 1- and "
                               "3-D input, else 1), paddle uses -1; pass dim explicitly")
        src = _code(inp[1].value)
        args = _set(args, dim, "dim", cst.parse_expression(f"0 if {src}.ndim in (0, 1, 3) else 1"))
        inp = _find(row, args, "input")
    if row.torch.endswith(".softmin"):
        value = inp[1].value
        neg = cst.parse_expression(f"-{_code(value)}" if _simple(value) else f"-({_code(value)})")
        args = _set(args, inp, "input", neg)
    return _convert(row, call, args)


def _is_zero(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, (cst.Integer, cst.Float)) and expr.evaluated_value == 0


@rule("cross_entropy")
def cross_entropy(row, call: cst.Call, ctx):
    args = list(call.args)
    found = {n: _find(row, args, n) for n in ("input", "target", "weight", "ignore_index", "reduction", "label_smoothing")}
    if _UNKNOWN in found.values() or found["input"] is _MISSING or found["target"] is _MISSING:
        return Unsupported("arguments passed through *args/**kwargs cannot be matched")
    ls = found["label_smoothing"]
    if isinstance(ls, tuple) and _is_zero(ls[1].value):
        row = dataclasses.replace(row, drop=row.drop | {"label_smoothing"},
                                  unsupported={k: v for k, v in row.unsupported.items() if k != "label_smoothing"})
    value = lambda n: found[n][1].value if isinstance(found[n], tuple) else None  # noqa: E731
    weight, ii, red = value("weight"), value("ignore_index"), value("reduction")
    # paddle divides a mean by every label (ignored ones too) only without a weight and with ignore_index < 0
    weight_none = weight is None or _is_none(weight)
    weight_maybe_none = weight is not None and _simple(weight)
    ii_negative = ii is None or not (isinstance(ii, cst.Integer))
    reduction_mean = red is None or _string(red) not in ("sum", "none")
    if not ((weight_none or weight_maybe_none) and ii_negative and reduction_mean):
        return _convert(row, call, args)
    x, y = value("input"), value("target")
    if _simple(x):
        # a weight of ones takes paddle's weighted mean, which leaves ignored labels out (exact for any reduction)
        xs = _code(x)
        ones = f"{_code(ctx.emit('paddle.ones'))}([{xs}.shape[1]], {xs}.dtype)"
        w = ones if weight_none else f"{_code(weight)} if {_code(weight)} is not None else {ones}"
        return _convert(row, call, _set(args, found["weight"], "weight", cst.parse_expression(w)))
    if weight_none and _simple(y) and (red is None or _string(red) == "mean"):
        # sum over the labels kept, divided by their number
        args = _set(args, found["reduction"], "reduction", cst.SimpleString("'sum'"))
        total = _convert(row, call, args)
        if isinstance(total, Unsupported):
            return total
        count = f"({_code(y)} != {_code(ii) if ii is not None else '-100'}).sum().astype('float32')"
        return cst.BinaryOperation(left=total, operator=cst.Divide(), right=cst.parse_expression(count))
    return Unsupported("paddle's mean cross_entropy counts labels equal to a negative ignore_index (REFERENCE.md "
                       "§0 #3); porter fixes that when the logits are a plain name, or the target is and "
                       "reduction is 'mean' without a weight")


@rule("one_hot")
def one_hot(row, call: cst.Call, ctx):
    new = _convert(row, call, list(call.args))
    if isinstance(new, Unsupported):
        return new
    return cst.Call(func=cst.Attribute(value=new, attr=cst.Name("astype")),
                    args=[cst.Arg(value=cst.SimpleString("'int64'"))])


@rule("conv_padding")
def conv_padding(row, call: cst.Call, ctx):
    args = list(call.args)
    pad = _find(row, args, "padding")
    dil = _find(row, args, "dilation")
    if pad is _UNKNOWN or dil is _UNKNOWN:
        return Unsupported("arguments passed through *args/**kwargs cannot be matched")
    vals = _ints(dil[1].value) if isinstance(dil, tuple) else [1]
    dilated = vals is None or any(v != 1 for v in vals)
    if dilated and isinstance(pad, tuple) and _ints(pad[1].value) is None and _string(pad[1].value) != "valid":
        return Unsupported("paddle's padding='same' ignores dilation (wrong numbers); write the padding out "
                           "(dilation * (kernel - 1) in total per dimension, the odd one on the right)")
    return _convert(row, call, args)


_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


@rule("interpolate")
def interpolate(row, call: cst.Call, ctx):
    args = list(call.args)
    sig = [a for a in row.args if a != "*"]
    mode_arg = _find(row, args, "mode") if "mode" in sig else _MISSING
    size = _find(row, args, "size")
    inp = _find(row, args, "input")
    if _UNKNOWN in (mode_arg, size, inp):
        return Unsupported("arguments passed through *args/**kwargs cannot be matched")
    if isinstance(mode_arg, tuple):
        mode = _string(mode_arg[1].value)
    else:
        mode = row.add.get("mode", "nearest")
    if mode == "nearest-exact":
        return Unsupported("paddle has no mode='nearest-exact'")
    if isinstance(size, tuple) and isinstance(size[1].value, cst.Integer):
        n = _MODE_DIMS.get(mode) if mode is not None else None
        v = _code(size[1].value)
        if n is not None:
            new = cst.parse_expression("[" + ", ".join([v] * n) + "]")
        elif isinstance(inp, tuple) and _simple(inp[1].value):
            new = cst.parse_expression(f"[{v}] * ({_code(inp[1].value)}.ndim - 2)")
        else:
            return Unsupported("paddle needs one size per spatial dimension; write size as a tuple")
        args = _set(args, size, "size", new)
    return _convert(row, call, args)


@rule("pool_ceil")
def pool_ceil(row, call: cst.Call, ctx):
    """F.max_pool*/avg_pool*/lp_pool* with ceil_mode=True: where stride > kernel - padding torch drops a last
    window that would start in the right padding and paddle keeps it (one more output, measured), so such
    calls (or ones whose sizes are not literals) are left unconverted."""
    args = list(call.args)
    ceil = _find(row, args, "ceil_mode")
    if ceil is _UNKNOWN:
        return Unsupported("arguments passed through *args/**kwargs cannot be matched")
    if isinstance(ceil, tuple) and not (isinstance(ceil[1].value, cst.Name) and ceil[1].value.value == "False"):
        ndim = int(row.torch[-2])

        def per_dim(name, default):
            found = _find(row, args, name) if name in row.args else _MISSING
            if found is _MISSING or (isinstance(found, tuple) and _is_none(found[1].value)):
                return default
            vals = _ints(found[1].value) if isinstance(found, tuple) else None
            if vals is None:
                return None
            return vals * ndim if len(vals) == 1 else vals

        kernel = per_dim("kernel_size", None)
        stride = per_dim("stride", kernel)
        padding = per_dim("padding", [0] * ndim)
        problem = ceil_mode_problem(kernel, stride, padding)
        if problem:
            return Unsupported(problem)
    return _convert(row, call, args)


@rule("functional_linear")
def functional_linear(row, call: cst.Call, ctx):
    """`F.linear(x, w, b)`: paddle wants the weight [in, out]. A weight in torch's layout (a parameter
    the code made [out, in]) is passed transposed (the row's transform); the weight of a Linear layer
    porter converted (`self.qkv.weight`) is already [in, out] in paddle and is passed as it is."""
    from porter.convert.names import dotted
    sig = [a for a in row.args if a != "*"]
    for i, a in enumerate(call.args):
        name = a.keyword.value if a.keyword is not None else (sig[i] if i < len(sig) and not a.star else None)
        if name != "weight":
            continue
        d = dotted(a.value) or ""
        if d.endswith(".weight"):
            owner = ctx.layer_row(cst.parse_expression(d[:-len(".weight")])) if "." in d else None
            if owner is not None and owner.weights == "linear":
                return generic(dataclasses.replace(row, transform={}), call)
    return generic(row, call)


@rule("batch_norm_stats")
def batch_norm_stats(row, call: cst.Call, ctx):
    """`F.batch_norm(x, None, None, training=True)` (batch statistics only, timm's StdConv): paddle
    needs running-stat tensors; throwaway ones (zeros, ones of x's channel count) take their place, which
    training=True only updates. With training not literally True, torch's None stats would raise too."""
    from porter.convert.rules._callargs import bind
    b = bind(call.args, [a for a in row.args if a != "*"])
    if isinstance(b, str):
        return generic(row, call)
    none = [k for k in ("running_mean", "running_var") if k in b.named
            and isinstance(b.named[k], cst.Name) and b.named[k].value == "None"]
    if not none:
        return generic(row, call)
    training = b.named.get("training")
    if not (isinstance(training, cst.Name) and training.value == "True") or "input" not in b.named:
        return Unsupported("running stats None: paddle needs tensors (converted only with training=True)")
    channels = f"[{cst.Module([]).code_for_node(b.named['input'])}.shape[1]]"
    fill = {"running_mean": f"{cst.Module([]).code_for_node(ctx.emit('paddle.zeros'))}({channels})",
            "running_var": f"{cst.Module([]).code_for_node(ctx.emit('paddle.ones'))}({channels})"}
    sig = [a for a in row.args if a != "*"]
    args = []
    for i, a in enumerate(call.args):
        name = a.keyword.value if a.keyword is not None else sig[i]
        args.append(a.with_changes(value=cst.parse_expression(fill[name])) if name in none else a)
    return generic(row, call.with_changes(args=args))


@rule("sdpa_any_rank")
def sdpa_any_rank(row, call: cst.Call, ctx):
    """`F.scaled_dot_product_attention(q, k, v, ...)`: torch takes any number of leading dimensions
    (timm's hiera and nest pass 5-D), paddle.compat's exactly four; `_porter_sdpa` (written into the file)
    flattens other ranks around paddle.compat's function and passes 4-D inputs straight through."""
    from porter.convert.engine import _helper_uses
    new = generic(row, call)
    if isinstance(new, Unsupported):
        return new
    _helper_uses[0] += 1
    return new.with_changes(func=cst.Name("_porter_sdpa"))
