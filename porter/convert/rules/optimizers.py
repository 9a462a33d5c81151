"""Optimizers and learning-rate schedulers (REFERENCE.md §4; cases in tests/parity/cases/optim.toml).

`optimizer` (every optimizer row): torch parameter groups given as a literal list of dicts are rewritten
for paddle, where a group's `learning_rate` is a *multiplier* of the optimizer's learning rate and an
`lr` key is silently ignored: `{'params': p, 'lr': g}` becomes `{'params': p, 'learning_rate': g / lr}`.
Group keys other than params, lr and weight_decay are refused (not verified). Groups built elsewhere
(a variable) cannot be seen; the rows' notes say so.

`sgd`: `torch.optim.SGD(..., momentum=m)` with a non-zero momentum becomes
`paddle.optimizer.Momentum(..., momentum=m, use_nesterov=...)`; paddle's SGD has no momentum. The update
rule is the same (v = m*v + g; p -= lr*v), measured in REFERENCE.md §4. `dampening` other than 0 is
refused (paddle has none); `nesterov=False` and `dampening=0` written out are dropped.

`scheduler` (every lr_scheduler row): torch schedulers wrap an existing optimizer, paddle schedulers are
given to the optimizer. `StepLR(opt, 3)` becomes
`(lambda sched: opt.set_lr_scheduler(sched) or sched)(paddle.optimizer.lr.StepDecay(learning_rate=opt.get_lr(), step_size=3))`:
the paddle scheduler starts from the optimizer's current learning rate, is attached to it, and is the
value of the expression. The optimizer must be a name or attribute chain (it is read twice).

`get_last_lr`: torch returns one learning rate per parameter group, paddle keeps one (`last_lr`).
"""
from __future__ import annotations

import dataclasses

import libcst as cst

from porter.convert.rules import Unsupported, generic, rule

# torch's default lr per optimizer (torch 2.13), for group multipliers when the call leaves lr out
_TORCH_LR = {"SGD": 0.001, "Adam": 0.001, "AdamW": 0.001, "Adagrad": 0.01, "Adadelta": 1.0, "Adamax": 0.002,
             "NAdam": 0.002, "RAdam": 0.001, "Rprop": 0.01}
_GROUP_KEYS = {"params", "lr", "weight_decay"}


def _arg(call: cst.Call, name: str, index: int) -> tuple[int, cst.Arg] | None:
    for i, a in enumerate(call.args):
        if a.star:
            return None
        if (a.keyword is not None and a.keyword.value == name) or (a.keyword is None and i == index):
            return i, a
    return None


def _find(row, call: cst.Call, name: str) -> tuple[int, cst.Arg] | None:
    sig = [a for a in row.args if a != "*"]
    n_pos = row.args.index("*") if "*" in row.args else len(sig)
    index = sig.index(name)
    return _arg(call, name, index if index < n_pos else -1)


def _code(expr: cst.BaseExpression) -> str:
    return cst.Module([]).code_for_node(expr)


def _number(expr: cst.BaseExpression) -> float | None:
    if isinstance(expr, (cst.Integer, cst.Float)):
        return expr.evaluated_value
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        v = _number(expr.expression)
        return -v if v is not None else None
    return None


def _simple(expr: cst.BaseExpression) -> bool:
    """A name or attribute chain: safe to evaluate twice."""
    while isinstance(expr, cst.Attribute):
        expr = expr.value
    return isinstance(expr, cst.Name)


def _is_zero(expr: cst.BaseExpression) -> bool:
    return _number(expr) == 0


def _is_false(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "False"


def _convert(row, call: cst.Call, ctx, target: str | None = None):
    """The row's generic conversion, calling `target` (default: the row's paddle name)."""
    result = generic(row, call)
    return result if isinstance(result, Unsupported) else result.with_changes(func=ctx.emit(target or row.paddle))


def _param_groups(row, call: cst.Call) -> cst.Call | Unsupported:
    """Rewrite literal torch parameter groups for paddle (see the module docstring)."""
    found = _find(row, call, "params")
    if found is None or not isinstance(found[1].value, (cst.List, cst.Tuple)):
        return call
    groups = found[1].value
    if not any(isinstance(e.value, cst.Dict) for e in groups.elements):
        return call
    lr = _find(row, call, "lr")
    lr_expr = lr[1].value if lr is not None else cst.Float(repr(_TORCH_LR[row.torch.rsplit(".", 1)[1]]))
    new_elements = []
    for el in groups.elements:
        d = el.value
        if not isinstance(d, cst.Dict):
            return Unsupported("parameter groups mixing dicts and other entries")
        new_items = []
        for item in d.elements:
            if not isinstance(item, cst.DictElement) or not isinstance(item.key, cst.SimpleString):
                return Unsupported("a parameter group with computed keys or ** cannot be checked")
            key = item.key.evaluated_value
            if key not in _GROUP_KEYS:
                return Unsupported(f"parameter group key {key!r} is not mapped (paddle groups take "
                                   "learning_rate as a multiplier, weight_decay)")
            if key == "lr":
                g, base = _number(item.value), _number(lr_expr)
                if g is not None and base is not None:
                    value: cst.BaseExpression = cst.Float(repr(round(g / base, 12)))
                elif _simple(lr_expr) or base is not None:
                    value = cst.parse_expression(f"({_code(item.value)}) / ({_code(lr_expr)})")
                else:
                    return Unsupported("a group lr with an optimizer lr that is not a name or literal")
                item = item.with_changes(key=cst.SimpleString(item.key.prefix + item.key.quote + "learning_rate"
                                                              + item.key.quote), value=value)
            new_items.append(item)
        new_elements.append(el.with_changes(value=d.with_changes(elements=new_items)))
    args = list(call.args)
    args[found[0]] = found[1].with_changes(value=groups.with_changes(elements=new_elements))
    return call.with_changes(args=args)


@rule("optimizer")
def optimizer(row, call: cst.Call, ctx):
    call = _param_groups(row, call)
    if isinstance(call, Unsupported):
        return call
    return _convert(row, call, ctx)


@rule("sgd")
def sgd(row, call: cst.Call, ctx):
    call = _param_groups(row, call)
    if isinstance(call, Unsupported):
        return call
    momentum = _find(row, call, "momentum")
    dampening = _find(row, call, "dampening")
    nesterov = _find(row, call, "nesterov")
    drop = set(row.drop)
    unsupported = dict(row.unsupported)
    if dampening is not None and _is_zero(dampening[1].value):
        drop.add("dampening")
        unsupported.pop("dampening", None)
    if momentum is not None and not _is_zero(momentum[1].value):
        unsupported = {k: v for k, v in unsupported.items() if k not in ("momentum", "nesterov")}
        row = dataclasses.replace(row, paddle="paddle.optimizer.Momentum", unsupported=unsupported,
                                  rename={**row.rename, "nesterov": "use_nesterov"}, drop=frozenset(drop))
        return _convert(row, call, ctx, "paddle.optimizer.Momentum")
    else:
        if momentum is not None:
            drop.add("momentum")
            unsupported.pop("momentum", None)
        if nesterov is not None and _is_false(nesterov[1].value):
            drop.add("nesterov")
            unsupported.pop("nesterov", None)
        row = dataclasses.replace(row, drop=frozenset(drop), unsupported=unsupported)
    return _convert(row, call, ctx)


# -- schedulers ----------------------------------------------------------------------------------
def _kw(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(keyword=cst.Name(name), value=value, equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))


def _fold(op: str, a: cst.BaseExpression, b: cst.BaseExpression) -> cst.BaseExpression:
    x, y = _number(a), _number(b)
    if x is not None and y is not None:
        v = x * y if op == "*" else x / y
        return cst.Integer(str(v)) if isinstance(v, int) else cst.Float(repr(round(v, 15)))
    return cst.parse_expression(f"({_code(a)}) {op} ({_code(b)})")


def _one_cycle(row, call: cst.Call) -> tuple[cst.Call, list[cst.Arg]] | Unsupported:
    """torch's total_steps or epochs * steps_per_epoch; end_learning_rate = max_lr / (div * final_div)."""
    def value(name, default=None):
        found = _find(row, call, name)
        return found[1].value if found is not None else default
    max_lr = value("max_lr")
    if max_lr is None or isinstance(max_lr, (cst.List, cst.Tuple)):
        return Unsupported("max_lr per parameter group (a list) has no paddle form" if max_lr is not None
                           else "max_lr is required")
    total = value("total_steps")
    if total is None or (isinstance(total, cst.Name) and total.value == "None"):
        epochs, per_epoch = value("epochs"), value("steps_per_epoch")
        if epochs is None or per_epoch is None:
            return Unsupported("OneCycleLR needs total_steps, or epochs and steps_per_epoch")
        total = _fold("*", epochs, per_epoch)
    div = value("div_factor", cst.Float("25.0"))
    final = value("final_div_factor", cst.Float("10000.0"))
    if not (_simple(max_lr) or _number(max_lr) is not None) or not (_simple(div) or _number(div) is not None):
        return Unsupported("max_lr and div_factor must be names or literals (they are read twice)")
    end = _fold("/", max_lr, _fold("*", div, final))
    gone = [_find(row, call, n) for n in ("total_steps", "epochs", "steps_per_epoch", "final_div_factor")]
    gone_ids = {id(f[1]) for f in gone if f is not None}
    if sum(1 for a in call.args if a.keyword is None) > 3:   # optimizer, max_lr, total_steps
        return Unsupported("write OneCycleLR's arguments after total_steps as keywords")
    keep = [a for a in call.args if id(a) not in gone_ids]
    return call.with_changes(args=keep), [_kw("total_steps", total), _kw("end_learning_rate", end)]


@rule("scheduler")
def scheduler(row, call: cst.Call, ctx):
    """Attach the paddle scheduler to the torch scheduler's optimizer (see the module docstring)."""
    from porter.convert.engine import convert_args

    found = _find(row, call, "optimizer")
    if found is None:
        return Unsupported("the optimizer argument cannot be found")
    opt = found[1].value
    if not _simple(opt):
        return Unsupported("the optimizer must be a name or attribute (it is read twice)")
    if "cycle_momentum" in row.args:
        cm = _find(row, call, "cycle_momentum")
        if cm is None or not _is_false(cm[1].value):
            return Unsupported("torch also cycles the optimizer's momentum (SGD momentum, Adam beta1) unless "
                               "cycle_momentum=False; paddle cycles only the learning rate")
    for name in ("lr_lambda", "min_lr", "max_lr", "base_lr"):
        if name in row.args:
            v = _find(row, call, name)
            if v is not None and isinstance(v[1].value, (cst.List, cst.Tuple)):
                return Unsupported(f"{name} per parameter group (a list) has no paddle form")
    extra: list[cst.Arg] = []
    if row.torch.endswith(".OneCycleLR"):
        done = _one_cycle(row, call)
        if isinstance(done, Unsupported):
            return done
        call, extra = done
    # the optimizer goes: convert the other arguments against the signature without it
    args = [a for a in call.args if not (a.keyword is None and a is call.args[0] and found[0] == 0)
            and not (a.keyword is not None and a.keyword.value == "optimizer")]
    row = dataclasses.replace(row, args=tuple(a for a in row.args if a != "optimizer"))
    plan = convert_args(row, args)
    if plan.args is None:
        return Unsupported(plan.reason)
    new_args = list(plan.args) + extra
    if not _has_own_lr(row):
        new_args = [_kw("learning_rate", cst.parse_expression(f"{_code(opt)}.get_lr()"))] + new_args
    new_args = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                for a in new_args[:-1]] + [new_args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    sched = cst.Call(func=ctx.emit(row.paddle), args=new_args)
    return cst.parse_expression(
        f"(lambda sched: {_code(opt)}.set_lr_scheduler(sched) or sched)({_code(sched)})")


def _has_own_lr(row) -> bool:
    """Schedulers whose paddle form takes its learning rates from other arguments (OneCycleLR, CyclicLR)."""
    return any(v in ("max_learning_rate", "base_learning_rate") for v in row.rename.values())


@rule("get_last_lr")
def get_last_lr(row, call: cst.Call, ctx):
    if call.args:
        return Unsupported("get_last_lr() takes no arguments")
    return cst.List([cst.Element(cst.Attribute(value=call.func.value, attr=cst.Name("last_lr")))])
