"""torch.utils.data -> paddle.io calls the row fields cannot express (REFERENCE.md §5; cases in
tests/parity/cases/data.toml).

- `tensor_dataset`: `TensorDataset(x, y)` takes the tensors as separate arguments, paddle's one list:
  `TensorDataset([x, y])` (`*tensors` becomes `[*tensors]`).
- `dataloader`: paddle's DataLoader has no `sampler=`; a sampler becomes
  `batch_sampler=paddle.io.BatchSampler(sampler=S, batch_size=B, drop_last=D)`, taking the call's
  batch_size (torch default 1) and drop_last, which paddle refuses next to a batch_sampler.
- `weighted_sampler`: paddle's WeightedRandomSampler only samples numpy weights; the weights become
  `paddle.to_tensor(w).numpy()`.
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import Unsupported, rule


def _kw(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(keyword=cst.Name(name), value=value, equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))


def _code(expr: cst.BaseExpression) -> str:
    return cst.Module([]).code_for_node(expr)


@rule("tensor_dataset")
def tensor_dataset(row, call: cst.Call, ctx):
    if any(a.keyword is not None or a.star == "**" for a in call.args):
        return Unsupported("TensorDataset takes only positional tensors")
    elements = [cst.StarredElement(a.value) if a.star == "*" else cst.Element(a.value) for a in call.args]
    return call.with_changes(args=[cst.Arg(cst.List(elements))])


@rule("dataloader")
def dataloader(row, call: cst.Call, ctx):
    from porter.convert.engine import convert_args

    sig = [a for a in row.args if a != "*"]
    n_pos = row.args.index("*")
    named: dict[str, cst.Arg] = {}
    for i, a in enumerate(call.args):
        if a.star:
            return _plain(row, call, ctx, convert_args)
        if a.keyword is None:
            if i >= n_pos:
                return Unsupported(f"positional argument {i + 1} cannot be matched to the signature")
            named[sig[i]] = a
        else:
            named[a.keyword.value] = a
    if "sampler" not in named or (isinstance(named["sampler"].value, cst.Name)
                                  and named["sampler"].value.value == "None"):
        named.pop("sampler", None)
        return _finish(row, call, ctx, convert_args, named)
    if "batch_sampler" in named:
        return Unsupported("sampler and batch_sampler together (torch raises)")
    shuffle = named.pop("shuffle", None)
    if shuffle is not None and not (isinstance(shuffle.value, cst.Name) and shuffle.value.value in ("None", "False")):
        return Unsupported("shuffle with a sampler (torch raises unless it is False)")
    batch_size = named.pop("batch_size", None)
    if batch_size is not None and isinstance(batch_size.value, cst.Name) and batch_size.value.value == "None":
        return Unsupported("a sampler with batch_size=None (unbatched) has no paddle form")
    drop_last = named.pop("drop_last", None)
    sampler = named.pop("sampler")
    bs_args = [_kw("sampler", sampler.value), _kw("batch_size", batch_size.value if batch_size else cst.Integer("1"))]
    if drop_last is not None:
        bs_args.append(_kw("drop_last", drop_last.value))
    bs_args = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for a in bs_args[:-1]] \
        + [bs_args[-1]]
    named["batch_sampler"] = _kw("batch_sampler", cst.Call(func=ctx.emit("paddle.io.BatchSampler"), args=bs_args))
    return _finish(row, call, ctx, convert_args, named)


def _finish(row, call, ctx, convert_args, named: dict[str, cst.Arg]):
    sig = [a for a in row.args if a != "*"]
    args = [named["dataset"].with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT)] if "dataset" in named else []
    order = {name: i for i, name in enumerate(sig)}
    args += [_kw(k, a.value) for k, a in sorted(named.items(), key=lambda kv: order.get(kv[0], len(sig)))
             if k != "dataset"]
    plan = convert_args(row, args)
    if plan.args is None:
        return Unsupported(plan.reason)
    return call.with_changes(args=plan.args)


def _plain(row, call, ctx, convert_args):
    plan = convert_args(row, list(call.args))
    if plan.args is None:
        return Unsupported(plan.reason)
    return call.with_changes(args=plan.args)


@rule("weighted_sampler")
def weighted_sampler(row, call: cst.Call, ctx):
    """paddle's WeightedRandomSampler samples only numpy weights (a list fails when iterated, a Tensor at
    construction): the weights become `paddle.to_tensor(w).numpy()`."""
    from porter.convert.engine import convert_args

    args = list(call.args)
    for i, a in enumerate(args):
        if a.star:
            return Unsupported("weights passed through *args/**kwargs cannot be found")
        if (a.keyword is None and i == 0) or (a.keyword is not None and a.keyword.value == "weights"):
            wrapped = cst.Call(func=cst.Attribute(value=cst.Call(func=ctx.emit("paddle.to_tensor"),
                                                                 args=[cst.Arg(a.value)]), attr=cst.Name("numpy")))
            args[i] = a.with_changes(value=wrapped)
            break
    plan = convert_args(row, args)
    if plan.args is None:
        return Unsupported(plan.reason)
    return call.with_changes(args=plan.args)
