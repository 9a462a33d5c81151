"""max/min, sort, split and chunk: the same spelling means something else in paddle, in function form
(`torch.max(x, 1)`) and in method form (`x.max(1)`). Measured in REFERENCE.md §3 and in the parity cases.

- max/min: `torch.max(x)` is a value: `paddle.max(x)`. `torch.max(x, dim)` returns (values, indices),
  where paddle.max returns values only (so `torch.max(x, 1)[0]` would silently take a row):
  `paddle.compat.max(x, dim)`, whose named tuple has `.values`/`.indices` like torch's. `torch.max(x, other=y)`
  is elementwise: `paddle.maximum(x, y)`. A positional second argument could be a dim or a tensor; compat.max
  tells them apart at run time as torch does. Paddle has no native call for the (values, indices) pair.
- sort: torch returns (values, indices), paddle.sort values only: `paddle.compat.sort` (same argument names).
- split: an int means the piece size in torch, the number of pieces in paddle (REFERENCE.md §0 #4). A
  literal list of sizes means the same in both: `paddle.split(x, [..], axis)`; anything else goes to
  `paddle.compat.split`, which has torch's meaning.
- chunk: torch gives pieces of ceil(n / chunks) with a smaller last one (10 in 3 → 4, 4, 2); paddle.chunk
  raises unless the size divides. For a tensor named by a plain name porter writes
  `paddle.compat.split(x, (x.shape[d] + chunks - 1) // chunks, d)`, which is how torch computes it; for any
  other receiver expression (it would be evaluated twice) `paddle.chunk`, which is exact where it runs and
  raises where torch would have made an uneven last chunk.

Method form: porter assumes an unknown receiver is a tensor, so these rules return None (leave the call as
written) for what they can tell is not one: `s.split()`, `s.split(',')`, `line.split('=', 1)`, calls on a
literal or on a str method's result, module receivers (`np.max(a, 1)`), a bare `self`, keywords torch's
method lacks (`lst.sort(key=...)`, `s.split(sep=...)`, numpy's `axis=`; the engine also filters these).
Where the call could be either (`line.split(sep)`, `line.split(sep, 2)`, a bare `lst.sort()`) they report
it instead of guessing: left alone, a tensor call would silently mean something else in paddle.
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import Unsupported, rule
from porter.convert.rules._callargs import arg, atom, bind, call as make_call, code, int_literal, is_simple, \
    is_string, number, strip_parens

_LITERALS = (cst.List, cst.Tuple, cst.Dict, cst.Set, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp,
             cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Integer, cst.Float)
_STR_METHODS = {"strip", "lstrip", "rstrip", "lower", "upper", "casefold", "title", "decode", "read", "readline",
                "replace", "format", "join", "removeprefix", "removesuffix", "expandtabs"}


def _not_a_tensor(receiver: cst.BaseExpression) -> bool:
    """Receivers that are plainly not tensors: literals, str(...)/list(...), results of str methods."""
    receiver = strip_parens(receiver)
    if isinstance(receiver, _LITERALS):
        return True
    if isinstance(receiver, cst.Call):
        f = receiver.func
        if isinstance(f, cst.Name) and f.value in ("str", "list", "sorted", "input", "repr", "open"):
            return True
        if isinstance(f, cst.Attribute) and f.attr.value in _STR_METHODS:
            return True
        if isinstance(f, cst.Attribute) and isinstance(strip_parens(f.value), (cst.SimpleString, cst.FormattedString)):
            return True
    return False


# Receivers that are modules or the object itself, never tensors (the engine tracks only torch imports, so
# `np.max(a, 1)` and `math.pow` reach the tensor method rows); the same list as rules/tensor_methods.py.
_MODULES = frozenset({
    "np", "numpy", "math", "cmath", "operator", "random", "statistics", "builtins", "jnp", "jax", "pd",
    "pandas", "scipy", "os", "re", "json", "itertools", "functools", "collections", "self", "cls",
})


def _foreign(receiver: cst.BaseExpression, rest: list[cst.Arg], sig: tuple[str, ...], kwonly=()) -> bool:
    """True when `receiver.m(*rest)` cannot be the torch tensor method: the receiver is a module, `self`, a
    literal or a str-method result; a keyword torch's method lacks (numpy's `axis=`, list.sort's `key=`,
    str.split's `sep=`); more positionals than torch takes."""
    if _not_a_tensor(receiver):
        return True
    head = strip_parens(receiver)
    while isinstance(head, cst.Attribute):
        head = head.value
    if isinstance(head, cst.Name) and head.value in _MODULES and (
            head is strip_parens(receiver) or head.value not in ("self", "cls")):
        return True
    if sum(1 for a in rest if a.keyword is None) > len(sig):
        return True
    return any(a.star == "**" or (a.keyword is not None and a.keyword.value not in sig + tuple(kwonly)) for a in rest)


def _parts(row, call: cst.Call, tensor_param: str):
    """(tensor expression, remaining arguments, method form?) or an Unsupported."""
    if row.is_method:
        return call.func.value, list(call.args), True
    args = list(call.args)
    for i, a in enumerate(args):
        if a.star:
            return Unsupported("starred arguments cannot be matched to the signature")
        if (a.keyword is None and i == 0) or (a.keyword is not None and a.keyword.value == tensor_param):
            return a.value, args[:i] + args[i + 1:], False
    return Unsupported(f"no '{tensor_param}' argument")


def _renamed(args: list[cst.Arg], names: dict[str, str]) -> list[cst.Arg]:
    return [a.with_changes(keyword=cst.Name(names[a.keyword.value]))
            if a.keyword is not None and a.keyword.value in names else a for a in args]


def _plain(args: list[cst.Arg]) -> list[cst.Arg]:
    """Arguments as new nodes (keyword kept), so the output gets uniform `, ` separators."""
    return [arg(a.value, a.keyword.value if a.keyword is not None else None) for a in args]


@rule("max_min")
def max_min(row, call: cst.Call, ctx):
    name = row.torch.rsplit(".", 1)[1]                  # "max" or "min"
    parts = _parts(row, call, "input")
    if isinstance(parts, Unsupported):
        return parts
    x, rest, method = parts
    if method and _foreign(x, rest, ("dim", "keepdim"), ("other", "out")):
        return None
    b = bind(rest, ["dim", "keepdim"], kwonly=("other", "axis", "out"))
    if isinstance(b, str):
        return Unsupported(b)
    if "out" in b.named:
        return Unsupported("out= is not converted; assign the result")
    if not rest:                                        # reduce over all elements: the same in paddle
        return call if method else make_call(ctx.emit(f"paddle.{name}"), [arg(x)])
    if set(b.named) == {"other"}:                       # elementwise with a tensor
        return make_call(ctx.emit(f"paddle.{'maximum' if name == 'max' else 'minimum'}"),
                         [arg(x), arg(b.named["other"])])
    if "dim" in b.named and "axis" in b.named:
        return Unsupported("both dim and axis given")
    return make_call(ctx.emit(f"paddle.compat.{name}"), [arg(x)] + _plain(_renamed(rest, {"axis": "dim"})))


@rule("sort")
def sort(row, call: cst.Call, ctx):
    parts = _parts(row, call, "input")
    if isinstance(parts, Unsupported):
        return parts
    x, rest, method = parts
    if method:
        if _foreign(x, rest, ("dim", "descending"), ("stable", "out")):
            return None                                 # list.sort(key=..., reverse=...), np.sort(a)
        if not rest:
            return Unsupported("`.sort()` without arguments may be list.sort (in place) or Tensor.sort (returns "
                               "values and indices; paddle's Tensor.sort returns values only): for a tensor "
                               "write paddle.compat.sort(x)")
    b = bind(rest, ["dim", "descending"], kwonly=("stable", "out"))
    if isinstance(b, str):
        return Unsupported(b)
    if "out" in b.named:
        return Unsupported("out= is not converted; assign the result")
    return make_call(ctx.emit("paddle.compat.sort"), [arg(x)] + _plain(rest))


def _tensor_split(sizes, dim, rest) -> bool:
    """Evidence that `r.split(...)` is Tensor.split: a literal size or sizes, a keyword (str.split's own are
    handled before), or a dim that str.split's maxsplit would hardly be (negative, or not a literal)."""
    if int_literal(sizes) or isinstance(sizes, (cst.List, cst.Tuple)) or any(a.keyword is not None for a in rest):
        return True
    if dim is not None:
        v = number(dim)
        return v is None or v < 0
    return False


@rule("split")
def split(row, call: cst.Call, ctx):
    parts = _parts(row, call, "tensor")
    if isinstance(parts, Unsupported):
        return parts
    x, rest, method = parts
    if method:
        if not rest or _foreign(x, rest, ("split_size", "dim"), ("split_size_or_sections",)):
            return None                                 # str.split(), s.split(sep=..., maxsplit=...)
        first = rest[0].value if rest[0].keyword is None else None
        if first is not None and is_string(first):
            return None                                 # s.split(',')
    sizes_name = "split_size" if method else "split_size_or_sections"
    b = bind(rest, [sizes_name, "dim"], kwonly=("split_size_or_sections", "split_size"))
    if isinstance(b, str):
        return Unsupported(b)
    written = b.named.get("split_size_or_sections", b.named.get("split_size"))
    if written is None:
        return Unsupported("no split size given")
    sizes = strip_parens(written)
    if method and not _tensor_split(sizes, b.named.get("dim"), rest):
        return Unsupported("cannot tell Tensor.split (piece size) from str.split (separator) here; for a tensor "
                           "write paddle.compat.split(x, size, dim), for a string leave it as it is")
    dim = b.named.get("dim")
    dim_positional = "dim" in b.named and b.order.index("dim") < b.positional
    if isinstance(sizes, (cst.List, cst.Tuple)):        # explicit sizes: the same meaning in paddle
        out = [arg(x), arg(written)]
        if dim is not None:
            out.append(arg(dim, None if dim_positional else "axis"))
        return make_call(ctx.emit("paddle.split"), out)
    out = [arg(x), arg(written)]
    if dim is not None:
        out.append(arg(dim, None if dim_positional else "dim"))
    return make_call(ctx.emit("paddle.compat.split"), out)


@rule("chunk")
def chunk(row, call: cst.Call, ctx):
    parts = _parts(row, call, "input")
    if isinstance(parts, Unsupported):
        return parts
    x, rest, method = parts
    if method and _foreign(x, rest, ("chunks", "dim")):
        return None
    b = bind(rest, ["chunks", "dim"])
    if isinstance(b, str):
        return Unsupported(b)
    if "chunks" not in b.named:
        return Unsupported("no chunks argument")
    written, dim = b.named["chunks"], b.named.get("dim")
    n = strip_parens(written)
    dim_ok = dim is None or int_literal(dim) or is_simple(dim)
    if is_simple(x) and dim_ok:           # x and dim are repeated; chunks is evaluated once
        size = f"{atom(x)}.shape[{code(strip_parens(dim)) if dim is not None else 0}]"
        if int_literal(n):
            k = n.evaluated_value if isinstance(n, cst.Integer) else None
            piece = size if k == 1 else f"({size} + {k - 1}) // {k}" if k else f"-(-{size} // {atom(n)})"
        else:
            piece = f"-(-{size} // {atom(n)})"
        out = [arg(x), arg(cst.parse_expression(piece))]
        if dim is not None:
            out.append(arg(dim))
        return make_call(ctx.emit("paddle.compat.split"), out)
    out = [arg(x), arg(written)]
    if dim is not None:
        out.append(arg(dim, "axis"))
    return make_call(ctx.emit("paddle.chunk"), out)
