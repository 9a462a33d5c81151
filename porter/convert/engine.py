"""The conversion engine: one generic, table-driven rewrite of a torch source file into paddle.

Passes over one libcst tree (lossless: comments, blank lines and layout survive):
1. `Analyzer` collects torch bindings (names.Bindings) and the torch types of simple variables
   (`opt = optim.SGD(...)` makes `opt.zero_grad()` an optimizer method, not a tensor method).
2. `Rewriter` rewrites every torch reference and call through its mapping row (the generic transform:
   rename, positional→keyword where orders differ, drop, value transforms, explicit defaults; a `rule`
   only where a row cannot say it). What it cannot convert it leaves as written, marks with a
   `# porter:` comment line above the statement and reports.
3. `porter.convert.imports` rewrites the import statements in one place.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import ast

import libcst as cst

from porter.convert import imports
from porter.convert.names import Bindings, dotted
from porter.convert.rules import RULES, Unsupported
from porter.convert.transforms import TRANSFORMS, TransformError, literal_expr
from porter.mappings import Row, Table, default_table

COMMENT_PREFIX = "# porter:"
FUNCTION_CTX = "torch.autograd.function.FunctionCtx"
AUTOGRAD_FUNCTIONS = ("torch.autograd.Function", "torch.autograd.function.Function")
_OPERATIONS = (cst.BinaryOperation, cst.Comparison, cst.BooleanOperation, cst.UnaryOperation)
# statement classes by exact type: isinstance against libcst's abstract bases is slow on hot paths
_STATEMENTS = frozenset({cst.SimpleStatementLine, cst.If, cst.For, cst.While, cst.With, cst.Try, cst.TryStar,
                         cst.FunctionDef, cst.ClassDef, cst.Match})
TENSOR = "torch.Tensor"
MODULE = "torch.nn.Module"


@dataclass(frozen=True)
class Unconverted:
    line: int
    api: str
    reason: str

    def to_json(self) -> dict:
        return {"line": self.line, "api": self.api, "reason": self.reason}


@dataclass
class Conversion:
    code: str
    unconverted: list[Unconverted] = field(default_factory=list)
    found: int = 0          # torch API uses found
    converted: int = 0      # of which converted

    @property
    def changed(self) -> bool:
        return self.found > 0


def _is_class_name(qualname: str) -> bool:
    """`torch.nn.Linear` builds a layer; `torch.nn.functional.relu` returns a tensor."""
    return qualname.rsplit(".", 1)[-1][:1].isupper()


def _blocks(stmt: cst.CSTNode) -> list[list[cst.CSTNode]]:
    """The statement lists nested in a compound statement: body, else/elif, except, finally, match cases."""
    out = []
    for attr in ("body", "orelse", "finalbody"):
        part = getattr(stmt, attr, None)
        if isinstance(part, cst.If):                      # elif
            out.append([part])
            continue
        if isinstance(part, (cst.Else, cst.Finally)):
            part = part.body
        if isinstance(part, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            out.append(list(part.body))
    for clause in (*(getattr(stmt, "handlers", ()) or ()), *(getattr(stmt, "cases", ()) or ())):
        out.append(list(clause.body.body))
    return out


class Analyzer(cst.CSTVisitor):
    def __init__(self, table: Table):
        self.bindings = Bindings(table)
        self.assigns: list[tuple[str, cst.BaseExpression]] = []
        self.module_classes: set[str] = set()   # classes in this file deriving from torch modules
        self._class_values: list[tuple[int, str, cst.BaseExpression]] = []
        self.other_assigns: set[str] = set()       # names also assigned from something that is not a call
        self._scope = 0                            # id of the enclosing def (0: module level)
        self._bases: list[tuple[str, list[cst.BaseExpression]]] = []
        self._classes: list[str] = []             # enclosing class names during the walk

    def visit_Import(self, node: cst.Import) -> bool:
        self.bindings.add_import(node)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        self.bindings.add_import_from(node)
        return False

    def foreign_names(self) -> set[str]:
        """Names bound by non-torch imports (`np`, `math`, `re`, ...): never tensor receivers."""
        return self.bindings.foreign

    def visit_Assign(self, node: cst.Assign) -> None:
        target = dotted(node.targets[0].target) if len(node.targets) == 1 else None
        if target and "." not in target:
            target = f"{self._scope}:{target}"        # a plain name belongs to its function's scope
        elif target and target.startswith("self.") and self._classes:
            target = f"{self._classes[-1]}:{target}"  # self.conv belongs to its class
        if target and isinstance(node.value, cst.Call):
            self.assigns.append((target, node.value.func))
        elif target and not (isinstance(node.value, cst.Name) and node.value.value == "None"):
            self.other_assigns.add(target)    # (`self.qkv = None` in another branch does not retype it)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bases.append((node.name.value, [b.value for b in node.bases]))

    def walk(self, module: cst.Module) -> None:
        """Imports, assignments, class and def statements only: expressions are never entered, which
        keeps this pass a small fraction of a full tree visit."""
        self._walk(module.body, None)

    def _walk(self, body, func: cst.FunctionDef | None) -> None:
        self._scope = id(func) if func is not None else 0
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Import):
                        self.visit_Import(small)
                    elif isinstance(small, cst.ImportFrom):
                        self.visit_ImportFrom(small)
                    elif isinstance(small, cst.Assign):
                        self.visit_Assign(small)
                        if func is not None and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                            self._class_values.append((id(func), small.targets[0].target.value, small.value))
                continue
            if isinstance(stmt, cst.ClassDef):
                self.visit_ClassDef(stmt)
                self._classes.append(stmt.name.value)
                for block in _blocks(stmt):
                    self._walk(block, func)
                self._classes.pop()
                continue
            if isinstance(stmt, cst.FunctionDef):
                for param in (*stmt.params.params, *stmt.params.kwonly_params):
                    if param.default is not None:
                        self._class_values.append((id(stmt), param.name.value, param.default))
                for block in _blocks(stmt):
                    self._walk(block, stmt)
                self._scope = id(func) if func is not None else 0
                continue
            for block in _blocks(stmt):
                self._walk(block, func)

    def class_values(self) -> dict[int, dict[str, str]]:
        """Per function: local names holding a torch callable as a value (`norm_layer=nn.BatchNorm2d`,
        `if norm_layer is None: norm_layer = nn.BatchNorm2d`, `partial(nn.BatchNorm2d, eps=...)`), whose
        later calls (`norm_layer(c, eps=1e-3)`) take that row's argument conversion."""
        out: dict[int, dict[str, str]] = {}
        def torch_class(value):
            prefix = ""
            if isinstance(value, cst.Call) and self.bindings.resolve_other(value.func) == "functools.partial" \
                    and value.args:
                value, prefix = value.args[0].value, PARTIAL
            q = self.bindings.resolve(value)
            return prefix + q if q is not None and self.bindings.table.lookup(q) is not None else None

        for func, name, value in self._class_values:
            if isinstance(value, cst.IfExp):      # `partial(nn.Conv2d, kernel_size=1) if conv else nn.Linear`
                a, b = torch_class(value.body), torch_class(value.orelse)
                q = f"{a.removeprefix(PARTIAL)}|{b.removeprefix(PARTIAL)}" if a and b else None
            else:
                q = torch_class(value)
            if q is not None:
                out.setdefault(func, {})[name] = q
        return out

    def scalar_locals(self) -> set[str]:
        """Scope-qualified names assigned once, from `math.*(...)`, `float(...)` or `int(...)`."""
        counts: dict[str, int] = {}
        for target, _ in self.assigns:
            counts[target] = counts.get(target, 0) + 1
        return {t for t, func in self.assigns if counts[t] == 1 and t not in self.other_assigns
                and ((dotted(func) or "").startswith("math.") or dotted(func) in ("float", "int"))}

    def instance_rows(self) -> dict[str, Row]:
        """variable -> the row of the torch layer it holds, for rows with `attributes` (single assignment)."""
        b, table = self.bindings, self.bindings.table
        out: dict[str, Row] = {}
        counts: dict[str, int] = {}
        for target, func in self.assigns:
            counts[target] = counts.get(target, 0) + 1
            q = b.resolve(func)
            row = table.lookup(q) if q else None
            if row is not None and row.attributes:
                out[target] = row
        return {t: r for t, r in out.items() if counts[t] == 1 and t not in self.other_assigns}

    def instance_types(self) -> dict[str, str]:
        """variable -> torch type of its value, for method-row lookup."""
        b, table = self.bindings, self.bindings.table
        for name, bases in self._bases:
            if any((q := b.resolve(e)) and q.startswith("torch.nn.") for e in bases) or \
                    any(dotted(e) in self.module_classes for e in bases):
                self.module_classes.add(name)
        out: dict[str, str] = {}
        for target, func in self.assigns:
            q = b.resolve(func)
            row = table.lookup(q) if q else None
            if row is not None and row.instance:
                out[target] = row.instance
            elif q and q.startswith("torch.nn.") and _is_class_name(q) and row is not None:
                out[target] = MODULE
            elif dotted(func) in self.module_classes:
                out[target] = MODULE
            elif (p := b.resolve_other(func)) and p.startswith(("paddle.nn.", "paddle.optimizer.")) and _is_class_name(p):
                # already-paddle code types the same way, so converting the output again changes nothing
                out[target] = MODULE if p.startswith("paddle.nn.") else "torch.optim.Optimizer"
        # a name assigned more than once may hold anything at a given call (`x = nn.Linear(..)` then
        # `x = x.sum(..)`): only single-assignment names are typed (flow-insensitive, so conservative)
        counts: dict[str, int] = {}
        for target, _ in self.assigns:
            counts[target] = counts.get(target, 0) + 1
        return {t: kind for t, kind in out.items() if counts[t] == 1 and t not in self.other_assigns}


@dataclass
class CallPlan:
    """The generic transform's result for one call: new args, or the reason it cannot convert."""
    args: list[cst.Arg] | None
    reason: str | None = None


PARTIAL = "partial:"            # class_values: a value bound through functools.partial
TENSOR_PROPERTIES = {"real": "paddle.real", "imag": "paddle.imag"}   # torch properties, paddle functions
# layer attributes read on values of unknown type through `_porter_attr`: names specific to torch
# layers (not `stride`, `eps`, ... which configs and user classes use as well)
RUNTIME_ATTRIBUTES = {"in_channels", "out_channels", "kernel_size", "num_features", "running_mean", "running_var",
                      "normalized_shape", "num_groups", "num_channels", "embedding_dim", "num_embeddings", "padding_idx"}
LAYER_HELPER = "_porter_layer"


def wrappable(row: Row | None) -> bool:
    """A torch layer class whose calls need converting, passed around as a value (`act_layer=nn.ReLU`):
    written as `_porter_layer(nn.ReLU, ...)`, a subclass that takes torch's arguments at run time."""
    if row is None or row.paddle is None or row.args is None or row.instance or \
            (row.rule and row.rule not in WRAPPABLE_RULES):
        return False
    last = row.torch.rsplit(".", 1)[1]
    if not (row.torch.startswith("torch.nn.") and last[:1].isupper()) or row.is_method:
        return False
    sig = [a for a in row.args if a != "*"]
    return bool(row.rename or row.drop or row.transform or row.unsupported or row.defaults or row.add) \
        or tuple(row.rename.get(a, a) for a in sig[:len(row.paddle_positional())]) != row.paddle_positional()


# rules that only refuse some values (ceil_mode, padding='same' with dilation): a class value of such a
# row is still wrapped; `_porter_kwargs` refuses the same values at run time (`guard_same`)
WRAPPABLE_RULES = {"layer_pool", "layer_conv"}


def _layer_spec(row: Row) -> tuple:
    """(torch signature, leading positionals paddle shares, `_porter_kwargs` keywords) for `_porter_layer`."""
    sig = [a for a in row.args if a != "*"]
    ppos = row.paddle_positional()
    npos = 0
    while npos < len(sig) and npos < len(ppos) and row.rename.get(sig[npos], sig[npos]) == ppos[npos] \
            and sig[npos] not in row.transform and sig[npos] not in row.drop:
        npos += 1
    if "*" in row.args:
        npos = min(npos, row.args.index("*"))
    return tuple(sig), npos, _runtime_fields([row])


# boolean torch arguments whose False is a set of paddle keywords (their True is paddle's default): the
# run-time form of the transforms of the same names (porter/convert/transforms.py)
_FLAGS = {"affine": {"weight_attr": False, "bias_attr": False},
          "track_running_stats": {"use_global_stats": False},
          "bias_flag": {"bias_attr": False}}


def _passes_one_minus(row: Row, call: cst.Call) -> bool:
    if "one_minus" not in row.transform.values():
        return False
    sig = [a for a in row.args if a != "*"]
    keys = {a.keyword.value if a.keyword is not None else (sig[i] if i < len(sig) else None)
            for i, a in enumerate(call.args) if not a.star}
    return any(row.transform.get(k) == "one_minus" for k in keys) or any(a.star for a in call.args)


def _is_super_init(call: cst.Call) -> bool:
    f = call.func
    return isinstance(f, cst.Attribute) and f.attr.value == "__init__" and isinstance(f.value, cst.Call) \
        and isinstance(f.value.func, cst.Name) and f.value.func.value == "super"


def convert_args(row: Row, args: list[cst.Arg]) -> CallPlan:
    """Apply a row's argument fields to a call's arguments (see porter.mappings for the fields)."""
    if row.args is None:
        return CallPlan(list(args))
    sig = [a for a in row.args if a != "*"]
    positional_ok = row.args.index("*") if "*" in row.args else len(sig)
    ppos = row.paddle_positional()
    out: list[cst.Arg] = []
    seen: set[str] = set()
    keep_positional = True
    splat = False
    n_pos_out = 0
    late: list[cst.Arg] = []          # `**` arguments decided at run time, after the keywords
    splats: list[int] = []            # positions of the call's own `**kw`
    for i, arg in enumerate(args):
        if arg.star:                       # *a / **kw: mapped positions stop here
            splat = splat or arg.star == "*"
            keep_positional = keep_positional and arg.star == "*"
            if arg.star == "**":
                splats.append(len(out))       # converted once every written argument is known
            out.append(arg)
            continue
        if arg.keyword is None:
            if splat or i >= positional_ok:
                return CallPlan(None, f"positional argument {i + 1} cannot be matched to the signature")
            name = sig[i]
        else:
            name = arg.keyword.value
            if name not in sig:
                return CallPlan(None, f"argument '{name}' is not in the torch signature known to porter")
        seen.add(name)
        if row.transform.get(name) in REQUIRED and not _is_literal(arg.value):
            # `bias=bias` where paddle has only bias=True: checked at run time (dropped when True)
            late.append(_required_kwarg(name, arg.value, REQUIRED[row.transform[name]]))
            continue
        if name == "dtype" and name in row.unsupported and arg.keyword is not None:
            # factory keyword `dtype=dtype` (None in most calls): dropped when None, raises otherwise
            if isinstance(arg.value, cst.Name) and arg.value.value == "None":
                continue
            if isinstance(arg.value, (cst.Name, cst.Attribute)):
                late.append(_splat_kwargs(row, cst.Arg(value=cst.Dict([cst.DictElement(
                    cst.SimpleString("'dtype'"), arg.value)]), star="**"), written=set(sig)))
                continue
        new = _convert_one(row, name, arg.value)
        if isinstance(new, str):
            return CallPlan(None, new)
        if (arg.keyword is None and keep_positional and len(new) == 1
                and n_pos_out < len(ppos) and ppos[n_pos_out] == new[0][0]):
            out.append(arg.with_changes(value=new[0][1]))
            n_pos_out += 1
            continue
        if new:
            keep_positional = False
        out.extend(_keyword(arg, new_name, value) for new_name, value in new)
    for i in splats:
        out[i] = _splat_kwargs(row, out[i], written=seen)
    has_splat = any(a.star == "**" for a in args)       # the splat's helper adds defaults it lacks
    for name, value in row.defaults.items():
        if name not in seen and not has_splat:
            new = _convert_one(row, name, literal_expr(value))
            if isinstance(new, str):        # torch's default is something paddle cannot do
                return CallPlan(None, f"{new} (torch's default, {name}={value!r})")
            out.extend(_keyword(cst.Arg(value=v), k, v) for k, v in new)
    written = {a.keyword.value for a in out if a.keyword is not None}
    out.extend(_keyword(cst.Arg(value=literal_expr(v)), k, literal_expr(v))
               for k, v in row.add.items() if k not in written)
    out.extend(late)
    out = _merge_keywords(out)
    if isinstance(out, str):
        return CallPlan(None, out)
    return CallPlan(_fix_commas(out, args))


def _merge_keywords(args: list[cst.Arg]) -> list[cst.Arg] | str:
    """Two torch arguments can become the same paddle keyword (`affine=False, bias=False` both set
    `bias_attr=False`): identical values merge, different ones cannot be expressed."""
    seen: dict[str, str] = {}
    out = []
    for a in args:
        if a.keyword is None:
            out.append(a)
            continue
        code = cst.Module([]).code_for_node(a.value)
        if a.keyword.value in seen:
            if seen[a.keyword.value] != code:
                return f"two torch arguments set paddle's {a.keyword.value} differently"
            continue
        seen[a.keyword.value] = code
        out.append(a)
    return out


KWARGS_HELPER = "_porter_kwargs"
_helper_uses = [0]          # calls to the helper written in the file being converted (read by convert_module)


def _runtime_fields(rows: list[Row], written=frozenset()) -> dict:
    """The `_porter_kwargs` keywords that convert torch keywords for these rows at run time."""
    rename, drop, refuse, unsupported, negate, one_minus = {}, [], [], [], {}, []
    defaults: dict[str, tuple[str, object]] = {}
    flags: dict[str, dict] = {}
    required: dict[str, object] = {}
    add: dict[str, object] = {}
    single = len(rows) == 1
    for row in rows:
        sig = [a for a in (row.args or []) if a != "*"]
        for k, v in row.rename.items():
            if k in sig and rename.setdefault(k, v) != v:
                refuse.append(k)                  # the rows disagree: the key must be written out
        drop += [k for k in row.drop if k in sig and k not in drop]
        for k in sig:
            kind = row.transform.get(k)
            if kind == "logical_not" and single:
                negate[k] = row.rename.get(k, k)      # count_include_pad -> exclusive = not v
            elif kind == "one_minus" and single:
                one_minus.append(k)                   # BatchNorm momentum -> 1 - m
            elif kind in _FLAGS and single:
                flags[k] = _FLAGS[kind]               # affine=False -> weight_attr=False, bias_attr=False
            elif kind in REQUIRED and single:
                required[k] = REQUIRED[kind]          # RNN bias: only True
            elif kind and k not in refuse:
                refuse.append(k)
        unsupported += [k for k in sig if k in row.unsupported and k not in unsupported]
        if single:                                    # torch defaults paddle does not share, when absent
            for k, v in row.defaults.items():
                if k in written:
                    continue
                new = _convert_one(row, k, literal_expr(v))
                if isinstance(new, list) and len(new) == 1:
                    try:
                        defaults[k] = (new[0][0], ast.literal_eval(cst.Module([]).code_for_node(new[0][1])))
                    except ValueError:
                        pass
            add.update(row.add)
    rename = {k: v for k, v in rename.items() if k not in refuse}
    out = dict(rename=rename, drop=tuple(drop), refuse=tuple(refuse), unsupported=tuple(unsupported))
    extra = dict(negate=negate, one_minus=tuple(one_minus), defaults=defaults, required=required, flags=flags,
                 add=add, guard_same=any(r.rule == "layer_conv" for r in rows))
    out.update({k: v for k, v in extra.items() if v})
    return out


def _splat_kwargs(row: Row | list[Row], arg: cst.Arg, written: set[str] = frozenset()) -> cst.Arg:
    """`**kw` into a mapped call: its keys are known only at run time, so the row's renames and drops
    are applied then, by a small helper written into the file (`imports.HELPERS`): `**dd` with
    `dd = {"device": d, "dtype": None}` reaches `nn.Linear` as `**_porter_kwargs(dd, {}, ("device",), ...)`.
    A key whose value needs converting in a way the helper does not know raises, naming it; an
    unsupported one is dropped when it is None (torch's default) and raises otherwise."""
    fields = _runtime_fields(row if isinstance(row, list) else [row], written)
    if not any(fields.values()):
        return arg
    positional = [fields.pop(k) for k in ("rename", "drop", "refuse", "unsupported")]
    eq = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
    args = [cst.Arg(arg.value), *(cst.Arg(cst.parse_expression(repr(v))) for v in positional),
            *(cst.Arg(cst.parse_expression(repr(v)), keyword=cst.Name(k), equal=eq) for k, v in fields.items())]
    call = cst.Call(func=cst.Name(KWARGS_HELPER), args=[
        a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for a in args[:-1]] + args[-1:])
    _helper_uses[0] += 1
    return arg.with_changes(value=call)


REQUIRED = {"require_true": True, "require_false": False}      # transforms whose one allowed value is known


def _is_literal(expr: cst.BaseExpression) -> bool:
    try:
        ast.literal_eval(cst.Module([]).code_for_node(expr))
        return True
    except (ValueError, SyntaxError):
        return False


def _required_kwarg(name: str, value: cst.BaseExpression, allowed: object) -> cst.Arg:
    """`**_porter_kwargs({'bias': bias}, {}, (), (), (), required={'bias': True})`: dropped when the value
    is the one paddle has, an error naming it otherwise."""
    _helper_uses[0] += 1
    call = cst.parse_expression(f"{KWARGS_HELPER}({{{name!r}: __v__}}, {{}}, (), (), (), required={{{name!r}: {allowed!r}}})")
    call = call.with_changes(args=[call.args[0].with_changes(value=call.args[0].value.with_changes(elements=[
        call.args[0].value.elements[0].with_changes(value=value)])), *call.args[1:]])
    return cst.Arg(value=call, star="**")


def _convert_one(row: Row, name: str, value: cst.BaseExpression) -> list[tuple[str, cst.BaseExpression]] | str:
    """The paddle (name, value) pairs for one torch argument ([] to drop it), or why it is unsupported."""
    if name in row.unsupported:
        return f"argument '{name}': {row.unsupported[name]}"
    if name in row.drop:
        return []
    if name in row.transform:
        try:
            value = TRANSFORMS[row.transform[name]](value)
        except TransformError as e:
            return f"argument '{name}': {e}"
        if isinstance(value, dict):
            return list(value.items())
    return [(row.rename.get(name, name), value)]


def _keyword(arg: cst.Arg, name: str, value: cst.BaseExpression) -> cst.Arg:
    equal = arg.equal if arg.keyword is not None else cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
    return arg.with_changes(keyword=cst.Name(name), equal=equal, value=value)


def _fix_commas(out: list[cst.Arg], original: list[cst.Arg]) -> list[cst.Arg]:
    if not out:
        return out
    last_comma = original[-1].comma if original else cst.MaybeSentinel.DEFAULT
    fixed = []
    for k, a in enumerate(out):
        if k < len(out) - 1:
            if a.comma is cst.MaybeSentinel.DEFAULT:
                a = a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        else:
            a = a.with_changes(comma=last_comma)
        fixed.append(a)
    return fixed


class Rewriter(cst.CSTTransformer):
    def __init__(self, table: Table, bindings: Bindings, instances: dict[str, str], module_classes: set[str],
                 class_values: dict[int, dict[str, str]] | None = None):
        super().__init__()
        self.class_values = class_values or {}
        self._funcs: list[dict[str, str]] = []      # per open def: names holding torch callables
        self._func_ids: list[int] = []
        self.assigned: set[str] = set()             # "scope:name" assigned anywhere (typed or not)
        # nodes a rule built, by id; the dict keeps them alive so a freed node's id cannot be reused by
        # an unrelated node (a tuple's parentheses were once stripped that way)
        self._synthetic_parens: dict[int, cst.CSTNode] = {}
        self._statements: dict[int, cst.BaseSmallStatement] = {}   # call id -> the statement it becomes
        self._markers: set[int] = set()
        self._class_rows: list[Row | None] = []
        self._class_names: list[str] = []
        self._params: dict[int, set[str]] = {}
        self._narrowed: list[dict[str, Row]] = []     # `if isinstance(m, nn.Conv2d):` blocks
        self._store_targets: set[int] = set()          # attributes assigned to (not read)
        self._value_sites: set[int] = set()            # expressions where a layer class is wrapped
        self.layer_specs: dict[str, tuple] = {}        # torch layer -> its `_porter_layer` conversion
        self.attribute_paths: dict[str, list[str]] = {}  # `_porter_attr` names -> paddle attributes
        self._not_values: set[int] = set()
        self._narrowing: dict[int, dict[str, Row]] = {}  # if-body id -> its narrowing
        self.scalar_locals: set[str] = set()
        self.instance_rows: dict[str, Row] = {}                             # decorators that are removed
        self._keep_alive: list[cst.CSTNode] = []
        self._expr_values: set[int] = set()         # calls that are whole expression statements
        self._assign_targets: dict[int, cst.BaseExpression] = {}   # value id -> its single assign target
        self._annotation_depth = 0
        self._annotation_strings: dict[int, str] = {}    # string stand-ins for torch types in annotations
        self._no_visit: set[int] = set()            # arguments a row drops: nothing in them is reported
        self.table = table
        self.b = bindings
        self.instances = instances
        self.module_classes = module_classes
        self.unconverted: list[tuple[cst.CSTNode, cst.CSTNode, str, str]] = []
        self._top: cst.CSTNode | None = None
        self.found = 0
        self.needs_paddle = False
        self._skip: set[int] = set()                # Name nodes that are not references
        self._call_funcs: set[int] = set()          # references that are the callee of a Call
        self._marks: list[list[str]] = []           # per open statement: comment lines to add
        self._class_is_module: list[bool] = []
        self._class_is_function: list[bool] = []    # torch.autograd.Function subclasses
        self._ctx_names: list[str | None] = []      # per open def: its `ctx` parameter in such a class
        self._call_funcs_attr: set[int] = set()

    # -- helpers -------------------------------------------------------------------------------------

    def emit(self, target: str, like: cst.BaseExpression | None = None) -> cst.BaseExpression:
        head = (dotted(like) or "").split(".")[0] if like is not None else None
        expr, needs = self.b.emit(target, head)
        self.needs_paddle |= needs
        return expr

    def unsupported(self, node: cst.CSTNode, api: str, reason: str) -> None:
        self.unconverted.append((node, self._top, api, reason))   # lines are resolved at the end
        if self._marks:
            self._marks[-1].append(f"{COMMENT_PREFIX} unsupported {api} ({reason})")

    # -- statements carry the marks ------------------------------------------------------------------
    def on_visit_attribute(self, node, attribute) -> None:       # no per-field hooks: skip libcst's lookups
        return None

    def on_leave_attribute(self, original_node, attribute) -> None:
        return None

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):
        if id(original) in self._no_visit:
            return updated
        result = super().on_leave(original, updated)
        if type(original) in _STATEMENTS:
            marks = self._marks.pop()
            if marks and isinstance(result, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                present = {line.comment.value for line in result.leading_lines if line.comment is not None}
                lines = [cst.EmptyLine(indent=True, comment=cst.Comment(m))   # indented like the statement
                         for m in dict.fromkeys(marks) if m not in present]
                result = result.with_changes(leading_lines=[*result.leading_lines, *lines])
        return result

    # -- names that are not references ---------------------------------------------------------------
    def visit_Import(self, node) -> bool:
        return False

    def visit_ImportFrom(self, node) -> bool:
        return False

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._skip.add(id(node.keyword))

    def visit_Param(self, node: cst.Param) -> None:
        self._skip.add(id(node.name))
        if node.default is not None:
            self._value_sites.add(id(node.default))
        if self._func_ids:
            self._params.setdefault(self._func_ids[-1], set()).add(node.name.value)

    def is_scalar_local(self, name: str) -> bool:
        """For rules: `name` is assigned once in this scope, from `math.*`, `float()` or `int()`."""
        scope = self._func_ids[-1] if self._func_ids else 0
        return f"{scope}:{name}" in self.scalar_locals

    def is_parameter(self, name: str) -> bool:
        """For rules: `name` is a parameter of the enclosing def, never reassigned there."""
        if not self._func_ids:
            return False
        scope = self._func_ids[-1]
        return name in self._params.get(scope, ()) and f"{scope}:{name}" not in self.assigned

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._skip.add(id(node.name))
        self._funcs.append(self.class_values.get(id(node), {}))
        self._func_ids.append(id(node))
        in_function_class = bool(self._class_is_function) and self._class_is_function[-1]
        params = node.params.params
        self._ctx_names.append(params[0].name.value if in_function_class and params else None)

    def leave_FunctionDef(self, original, updated):
        self._funcs.pop()
        self._func_ids.pop()
        self._ctx_names.pop()
        return updated

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._skip.add(id(node.name))
        self._class_is_module.append(node.name.value in self.module_classes)
        self._class_is_function.append(any(self.b.resolve(b.value) in AUTOGRAD_FUNCTIONS for b in node.bases))
        self._class_rows.append(self._base_row(node))
        self._class_names.append(node.name.value)

    def _base_row(self, node: cst.ClassDef) -> Row | None:
        """The row of a torch layer this class derives from directly (`class BN(nn.BatchNorm2d)`), whose
        argument conversion applies to the class's `super().__init__(...)`."""
        for base in node.bases:
            q = self.b.resolve(base.value)
            row = self.table.lookup(q) if q else None
            if row is not None and row.paddle and row.args is not None:
                return row
        return None

    def leave_ClassDef(self, original, updated):
        row = self._class_rows[-1]
        if row is not None and wrappable(row) and not any(
                isinstance(st, cst.FunctionDef) and st.name.value == "__init__" for st in original.body.body):
            # `class Linear(nn.Linear): def forward(...)`: built with torch's arguments wherever it is
            # called (another module, a registry), so the base takes them at run time
            bases = list(updated.bases)
            for i, base in enumerate(original.bases):
                q = self.b.resolve(base.value)
                if q is not None and self.table.lookup(q) is row:
                    _helper_uses[0] += 1
                    self.layer_specs[row.torch] = _layer_spec(row)
                    bases[i] = bases[i].with_changes(value=cst.Call(func=cst.Name(LAYER_HELPER), args=[
                        cst.Arg(bases[i].value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                        cst.Arg(cst.SimpleString(repr(row.torch)))]))
                    break
            updated = updated.with_changes(bases=bases)
        self._class_is_module.pop()
        self._class_is_function.pop()
        self._class_rows.pop()
        self._class_names.pop()
        return updated

    # -- references ----------------------------------------------------------------------------------
    def visit_Attribute(self, node: cst.Attribute) -> bool:
        self._skip.add(id(node.attr))
        return self.b.resolve(node) is None     # a torch chain is rewritten whole, not piecewise

    def visit_Annotation(self, node: cst.Annotation) -> None:
        self._annotation_depth += 1

    def leave_Annotation(self, original, updated):
        """An annotation holding a torch type with no paddle class is a string as a whole: Python
        evaluates a class-level or parameter annotation (`fused: torch.jit.Final[bool]`), and a string
        subscripted (`'torch.jit.Final'[bool]`) would fail."""
        self._annotation_depth -= 1
        stand_ins, self._annotation_strings = self._annotation_strings, {}
        if not stand_ins or isinstance(updated.annotation, cst.SimpleString):
            return updated

        class Unquote(cst.CSTTransformer):
            def leave_SimpleString(self, o, u):
                return cst.parse_expression(stand_ins[id(o)]) if id(o) in stand_ins else u

        code = cst.Module([]).code_for_node(updated.annotation.visit(Unquote()))
        return updated.with_changes(annotation=cst.SimpleString(repr(code)))

    def visit_Expr(self, node: cst.Expr) -> None:
        self._expr_values.add(id(node.value))

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1:
            self._assign_targets[id(node.value)] = node.targets[0].target
        self._store_targets.update(id(t.target) for t in node.targets)
        self._value_sites.add(id(node.value))

    # places where a torch layer class passed as a value is wrapped (`_porter_layer`): defaults,
    # assignments, call arguments (a partial's callable too: its bound arguments convert at run time),
    # dict/list/tuple entries, return values; never isinstance/issubclass arguments, base classes,
    # comparisons or decorators
    def visit_DictElement(self, node: cst.DictElement) -> None:
        self._value_sites.add(id(node.value))

    def visit_Element(self, node: cst.Element) -> None:
        self._value_sites.add(id(node.value))

    def visit_IfExp(self, node: cst.IfExp) -> None:
        if id(node) in self._value_sites:            # `relu=nn.ReLU if fast else MyReLU`
            self._value_sites.update((id(node.body), id(node.orelse)))

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        if id(node) in self._value_sites:            # `act_layer = act_layer or nn.Hardswish`
            self._value_sites.update((id(node.left), id(node.right)))

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self._value_sites.add(id(node.value))

    def _mark_value_args(self, node: cst.Call) -> None:
        name = node.func.value if isinstance(node.func, cst.Name) else None
        if name in ("isinstance", "issubclass", "type"):
            for a in node.args:                      # the class tuple's elements too
                self._not_values.add(id(a.value))
                if isinstance(a.value, cst.Tuple):
                    self._not_values.update(id(e.value) for e in a.value.elements)
            return
        for a in node.args:
            self._value_sites.add(id(a.value))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._store_targets.add(id(node.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._store_targets.add(id(node.target))

    def assign_target(self, call: cst.Call) -> cst.BaseExpression | None:
        """For rules: the single target this (original) call is assigned to (`self.x = <call>`), if any."""
        return self._assign_targets.get(id(call))

    def is_statement(self, call: cst.Call) -> bool:
        """Whether this (original) call is a whole expression statement (`torch._assert(c, m)` alone)."""
        return id(call) in self._expr_values

    def replace_statement(self, call: cst.Call, statement: cst.BaseSmallStatement) -> cst.Call:
        """For rules: the expression statement holding `call` becomes `statement` (e.g. an `assert`)."""
        self._statements[id(call)] = statement
        self._keep_alive.append(call)
        return call

    def leave_Expr(self, original: cst.Expr, updated: cst.Expr):
        return self._statements.get(id(updated.value), updated)

    def visit_If(self, node: cst.If) -> None:
        """`if isinstance(m, nn.Conv2d):` (an init loop): in its body, m's attributes follow Conv2d's row.
        A tuple of classes narrows only to attributes the rows agree on."""
        narrowed: dict[str, Row] = {}
        test = node.test
        if isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and test.func.value == "isinstance" \
                and len(test.args) == 2 and dotted(test.args[0].value):
            classes = test.args[1].value
            exprs = [e.value for e in classes.elements] if isinstance(classes, cst.Tuple) else [classes]
            rows = []
            for e in exprs:
                q = self.b.resolve(e)
                row = self.table.lookup(q) if q else None
                rows.append(row)
            if rows and all(r is not None and r.attributes for r in rows):
                common = {k: v for k, v in rows[0].attributes.items() if all(r.attributes.get(k) == v for r in rows)}
                if common:
                    narrowed[dotted(test.args[0].value)] = replace(rows[0], attributes=common)
        if narrowed:
            self._narrowing[id(node.body)] = narrowed

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._narrowed.append(self._narrowing.pop(id(node), {}))

    def leave_IndentedBlock(self, original, updated):
        self._narrowed.pop()
        return updated

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.BaseExpression:
        """A Linear's weight is [in, out] in paddle, [out, in] in torch (REFERENCE.md §1): indexing it
        (`fc.weight.data[i, j] = v`, `fc.weight[i]`) and its shape (`fc.weight.shape[0]`) swap axes."""
        d = dotted(original.value)
        if d is None or not any(d.endswith(s) for s in (".weight", ".weight.data", ".weight.shape")):
            return updated
        owner = d[:d.index(".weight")]
        receiver = cst.parse_expression(owner) if owner else None
        row = self._attribute_owner(receiver) if receiver is not None else None
        if row is None or row.weights != "linear":
            return updated
        elems = list(updated.slice)
        if d.endswith(".shape"):
            if len(elems) == 1 and isinstance(elems[0].slice, cst.Index):
                v = elems[0].slice.value
                code = cst.Module([]).code_for_node(v)
                swap = {"0": "1", "1": "0", "-1": "-2", "-2": "-1"}.get(code)
                if swap is not None:
                    self.found += 1
                    return updated.with_changes(slice=[elems[0].with_changes(slice=cst.Index(cst.parse_expression(swap)))])
            return updated
        if any(not isinstance(e.slice, (cst.Index, cst.Slice)) for e in elems) or \
                any(isinstance(e.slice, cst.Index) and isinstance(e.slice.value, cst.Ellipsis) for e in elems):
            return updated
        self.found += 1
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        if len(elems) == 1:
            full = cst.SubscriptElement(cst.Slice(lower=None, upper=None), comma=comma)
            return updated.with_changes(slice=[full, elems[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)])
        if len(elems) == 2:
            a, b = elems
            return updated.with_changes(slice=[b.with_changes(comma=comma), a.with_changes(comma=cst.MaybeSentinel.DEFAULT)])
        return updated

    def visit_Decorator(self, node: cst.Decorator) -> bool:
        expr = node.decorator.func if isinstance(node.decorator, cst.Call) else node.decorator
        q = self.b.resolve(expr)
        row = self.table.lookup(q) if q else None
        if row is not None and row.rule == "marker":        # `@torch.jit.script`: nothing in eager paddle
            self._markers.add(id(node))
            return False
        return True

    def leave_Decorator(self, original: cst.Decorator, updated: cst.Decorator):
        if id(original) in self._markers:
            self.found += 1
            return cst.RemoveFromParent()
        return updated

    def visit_Call(self, node: cst.Call) -> None:
        self._mark_value_args(node)
        if isinstance(node.func, cst.Attribute):
            self._call_funcs_attr.add(id(node.func))        # `ctx.save_for_backward(...)`: a method call
        q = self.b.resolve(node.func)
        row = None
        if q is not None:
            self._call_funcs.add(id(node.func))
            row = self.table.lookup(q)
        elif isinstance(node.func, cst.Attribute):
            row = self._method_row(node)
        if row is not None:
            self._no_visit.update(id(a.value) for a in self._dropped_args(row, node))

    def on_visit(self, node: cst.CSTNode) -> bool:
        if id(node) in self._no_visit:
            return False
        if type(node) in _STATEMENTS:
            if not self._marks:
                self._top = node                      # the top-level statement being converted
            self._marks.append([])
        return super().on_visit(node)

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        row = self._attribute_owner(original.value)
        if row is not None and original.attr.value in row.attributes:
            path = row.attributes[original.attr.value]
            receiver = cst.Module([]).code_for_node(updated.value)
            if "{}" in path or not path.isidentifier():     # an expression: it can be read, not assigned
                if id(original) in self._store_targets:
                    self.found += 1
                    self.unsupported(original, f"{row.torch}.{original.attr.value}",
                                     "assigning this attribute has no paddle counterpart")
                    return updated
                self.found += 1
                if _is_literal(cst.parse_expression(path)):
                    return cst.parse_expression(path)
                return cst.parse_expression(path.format(receiver) if "{}" in path else f"{receiver}.{path}")
            self.found += 1
            return cst.parse_expression(f"{receiver}.{path}")
        if row is None:
            prop = self._tensor_property(original, updated)
            if prop is not None:
                return prop
            late = self._runtime_attribute(original, updated)
            if late is not None:
                return late
        if self._ctx_names and self._ctx_names[-1] and isinstance(original.value, cst.Name) \
                and original.value.value == self._ctx_names[-1] and id(original) not in self._call_funcs_attr:
            return self._ctx_attribute(original, updated)
        return self._reference(original, updated)

    def _ctx_attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        """`ctx.saved_tensors` in an autograd Function: attribute rows of the context object."""
        row = self.table.method(original.attr.value, FUNCTION_CTX)
        if row is None:
            return updated
        self.found += 1
        if row.paddle is None:
            self.unsupported(original, row.torch, row.reason or "no mapping")
            return updated
        if row.rule:
            result = RULES[row.rule](row, updated, self)
            if isinstance(result, Unsupported):
                self.unsupported(original, row.torch, result.reason)
                return updated
            return result
        return updated.with_changes(attr=cst.Name(row.paddle.rsplit(".", 1)[1]))

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        if id(original) in self._skip or original.value not in self.b.torch:
            return updated
        return self._reference(original, updated)

    def _reference(self, original, updated) -> cst.BaseExpression:
        q = self.b.resolve(original)
        if q is None:
            return updated
        canon = self.table.aliases.get(q, q)
        if canon in self.table.modules:
            return self.emit(self.table.modules[canon], original)
        row = self.table.lookup(q)
        if id(original) in self._call_funcs:        # accounted for by leave_Call
            return self.emit(row.paddle, original) if row is not None and row.paddle else updated
        if row is None or row.paddle is None:
            if self._annotation_depth:
                # a type with no paddle class (torch.device): the annotation becomes a string, which
                # Python does not evaluate, so the module still imports
                text = cst.Module([]).code_for_node(original)
                string = cst.SimpleString(repr(text))
                self._annotation_strings[id(string)] = text
                return string
            self.found += 1
            reason = row.reason if row and row.reason else ("used as a value; only its calls convert" if row else "no mapping")
            self.unsupported(original, q, reason)
            return updated
        self.found += 1
        if id(original) in self._value_sites and id(original) not in self._not_values and not self._annotation_depth \
                and wrappable(row):
            _helper_uses[0] += 1
            self.layer_specs[row.torch] = _layer_spec(row)
            return cst.Call(func=cst.Name(LAYER_HELPER), args=[
                cst.Arg(self.emit(row.paddle, original), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                cst.Arg(cst.SimpleString(repr(row.torch)))])
        return self.emit(row.paddle, original)

    # -- calls ---------------------------------------------------------------------------------------
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        q = self.b.resolve(original.func)
        if q is not None:
            canon = self.table.aliases.get(q, q)
            if canon in self.table.modules:
                return updated
            row = self.table.lookup(q)
            self.found += 1
            if row is None or (row.paddle is None and row.rule is None):
                self.unsupported(original, q, row.reason if row else "no mapping")
                return updated.with_changes(func=original.func)
            return self._apply(row, original, updated, q)
        if isinstance(original.func, cst.Name) and self._funcs and original.func.value in self._funcs[-1]:
            return self._call_through_value(self._funcs[-1][original.func.value], original, updated)
        if self.b.resolve_other(original.func) == "functools.partial" and original.args:
            return self._partial(original, updated)
        if self._class_rows and self._class_rows[-1] is not None and _is_super_init(original):
            return self._super_init(self._class_rows[-1], original, updated)
        if isinstance(original.func, cst.Attribute):
            return self._method_call(original, updated)
        return updated

    def _super_init(self, row: Row, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """`super().__init__(c, eps=eps)` in a subclass of a torch layer: the layer's row converts the
        arguments, as for a direct call."""
        self.found += 1
        plan = convert_args(row, list(updated.args))
        if plan.args is None:
            self.unsupported(original, row.torch + ".__init__", plan.reason)
            return updated
        return updated.with_changes(args=plan.args)

    def _call_through_value(self, q: str, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """`norm_layer(c, eps=1e-3)` where norm_layer holds a torch class: its row's argument conversion.
        The value may be another callable at run time, so a call that does not fit is left alone."""
        q = q.removeprefix(PARTIAL)
        if "|" not in q and wrappable(self.table.lookup(q)) and _passes_one_minus(self.table.lookup(q), updated):
            # the value is a `_porter_layer(...)`, which converts at run time: momentum written here would
            # be converted twice; other arguments are converted here too, for the reader (the layer
            # helper passes paddle's keywords through)
            return updated
        rows = [self.table.lookup(one) for one in q.split("|")]   # either class of a conditional
        if any(r is not None and wrappable(r) and _passes_one_minus(r, updated) for r in rows):
            return updated          # a `_porter_layer` branch converts momentum at run time: not twice
        if any(r is None or r.paddle is None or r.args is None or (r.rule and len(rows) == 1) for r in rows):
            return updated
        explicit = [a for a in updated.args if a.star != "**"]
        splats = [a for a in updated.args if a.star == "**"]
        results = set()
        for row in rows:               # the written arguments must convert the same way for each
            plan = convert_args(row, explicit)
            if plan.args is None:
                return updated
            results.add(cst.Module([]).code_for_node(updated.with_changes(args=plan.args)))
        if len(results) != 1:
            return updated
        plan = convert_args(rows[0], explicit)
        new = [*plan.args, *(_splat_kwargs(rows, a) for a in splats)]
        return updated.with_changes(args=_fix_commas(new, list(updated.args)))

    def _partial(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """`functools.partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)`: the bound arguments are
        converted like a call of the torch callable (the callable itself is renamed as a reference)."""
        q = self.b.resolve(original.args[0].value)
        row = self.table.lookup(q) if q else None
        if row is None or row.paddle is None or row.rule or row.args is None:
            return updated
        if wrappable(row):        # the callable became `_porter_layer(...)`: it converts the bound arguments
            return updated
        plan = convert_args(row, list(updated.args[1:]))
        if plan.args is None:
            self.unsupported(original, q, plan.reason)
            return updated
        return updated.with_changes(args=[updated.args[0], *plan.args])

    def layer_row(self, receiver: cst.BaseExpression) -> Row | None:
        """For rules: the torch layer row `receiver` is known to hold (`self.qkv` = nn.Linear(...)), if any."""
        return self._attribute_owner(receiver)

    def _tensor_property(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression | None:
        """`x.real` / `x.imag`: properties in torch, methods in paddle (`paddle.real(x)`). Like method rows,
        they apply to receivers porter cannot type except values of non-torch imports (`np....real`)."""
        if original.attr.value == "is_floating_point" and id(original) not in self._call_funcs_attr \
                and id(original) not in self._store_targets:
            # `dtype.is_floating_point` (torch.dtype's property; the Tensor method is always called)
            floats = ", ".join(cst.Module([]).code_for_node(self.emit(f"paddle.{t}"))
                               for t in ("float16", "bfloat16", "float32", "float64"))
            self.found += 1
            return cst.parse_expression(f"({cst.Module([]).code_for_node(updated.value)} in ({floats}))")
        target = TENSOR_PROPERTIES.get(original.attr.value)
        if target is None or id(original) in self._store_targets or id(original) in self._call_funcs_attr:
            return None
        base = original.value
        while isinstance(base, (cst.Attribute, cst.Call, cst.Subscript)):
            base = base.func if isinstance(base, cst.Call) else base.value
        if (isinstance(base, cst.Name) and base.value in self.b.foreign) or \
                isinstance(original.value, (cst.Integer, cst.Float, cst.Imaginary)):
            return None
        self.found += 1
        return cst.Call(func=self.emit(target), args=[cst.Arg(updated.value.with_changes(lpar=[], rpar=[])
                                                              if hasattr(updated.value, "lpar") else updated.value)])

    def _runtime_attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression | None:
        """`self.conv_pw.out_channels` where porter cannot see what built `conv_pw` (a factory): a layer
        attribute name torch spells differently (RUNTIME_ATTRIBUTES) is read through `_porter_attr`,
        which returns the object's own attribute if it has one (a user class) and else the paddle
        layer's (`_out_channels`)."""
        name = original.attr.value
        if name not in RUNTIME_ATTRIBUTES or id(original) in self._store_targets or id(original) in self._call_funcs_attr:
            return None
        d = dotted(original.value)
        if d is None or d == "self" or d.split(".")[0] in self.b.foreign or self.b.resolve(original.value) is not None:
            return None
        paths = self.table.attribute_paths.get(name, [])
        if not paths:
            return None
        self.attribute_paths[name] = paths
        _helper_uses[0] += 1
        return cst.Call(func=cst.Name("_porter_attr"), args=[
            cst.Arg(updated.value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
            cst.Arg(cst.SimpleString(repr(name)))])

    def _attribute_owner(self, receiver: cst.BaseExpression) -> Row | None:
        """The layer row whose `attributes` apply to `receiver.x`: `self` in a subclass of a torch layer,
        or a name/attribute holding one (`self.conv = nn.Conv2d(...)`)."""
        d = dotted(receiver)
        if d is None:
            return None
        for narrowed in reversed(self._narrowed):
            if d in narrowed:
                return narrowed[d]
        if d == "self" and self._class_rows:
            return self._class_rows[-1]
        if "." not in d:
            scope = self._func_ids[-1] if self._func_ids else 0
            return self.instance_rows.get(f"{scope}:{d}") or (None if scope and f"{scope}:{d}" in self.assigned
                                                              else self.instance_rows.get(f"0:{d}"))
        if d.startswith("self.") and self._class_names:
            d = f"{self._class_names[-1]}:{d}"
        return self.instance_rows.get(d)

    def _receiver_type(self, receiver: cst.BaseExpression) -> str:
        d = dotted(receiver)
        if d is not None:
            name = d
            if "." not in d:                   # a plain name: this function's binding, else the module's
                scope = self._func_ids[-1] if self._func_ids else 0
                local = self.instances.get(f"{scope}:{d}")
                if local is not None:
                    return local
                if scope and (f"{scope}:{d}" in self.assigned):
                    return TENSOR
                d = f"0:{d}"
            elif d.startswith("self.") and self._class_names:
                d = f"{self._class_names[-1]}:{d}"
            if d in self.instances:
                return self.instances[d]
            if self._ctx_names and name == self._ctx_names[-1]:
                return FUNCTION_CTX
            if name == "self" and self._class_is_module and self._class_is_module[-1]:
                return MODULE
        return TENSOR

    def _method_row(self, call: cst.Call) -> Row | None:
        """The method row a call `recv.name(...)` stands for, or None when it cannot be that method:
        the receiver is a non-torch module (`np.sum(a, 0)`) or a bare self/cls of a non-torch class, or
        the arguments do not fit the torch signature (a keyword torch lacks, too many positionals)."""
        func = call.func
        head = (dotted(func.value) or "").split(".")[0]
        if head in self.b.foreign:
            return None
        owner = self._receiver_type(func.value)
        if owner == TENSOR and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls", "torch"):
            return None
        row = self.table.method(func.attr.value, owner)
        if row is None or row.args is None:
            return row
        sig = [a for a in row.args if a != "*"]
        n_pos = row.args.index("*") if "*" in row.args else len(sig)
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if len(positional) > n_pos and row.rule is None:     # a rule may take torch varargs (`x.flip(0, 1)`)
            return None
        if any(a.keyword is not None and a.keyword.value not in sig for a in call.args):
            return None
        return row

    def _dropped_args(self, row: Row, call: cst.Call) -> list[cst.Arg]:
        if not row.drop or row.args is None:
            return []
        sig = [a for a in row.args if a != "*"]
        out = []
        for i, a in enumerate(call.args):
            name = a.keyword.value if a.keyword is not None else (sig[i] if not a.star and i < len(sig) else None)
            if name in row.drop:
                out.append(a)
        return out

    def _method_call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = original.func
        row = self._method_row(original)
        if row is None:
            return updated
        self.found += 1
        api = row.torch
        if row.paddle is None:
            self.unsupported(original, api, row.reason or "no mapping")
            return updated
        new_name = row.paddle.rsplit(".", 1)[1]
        if new_name != func.attr.value:
            updated = updated.with_changes(func=updated.func.with_changes(attr=cst.Name(new_name)))
        return self._apply(row, original, updated, api)

    def _apply(self, row: Row, original: cst.Call, updated: cst.Call, api: str) -> cst.BaseExpression:
        if row.rule:
            self.current_call = original          # rules may ask is_statement() about it
            result = RULES[row.rule](row, updated, self)
            if result is None:          # the rule says: not this API (e.g. `str.split`), leave it alone
                self.found -= 1
                return updated.with_changes(func=original.func) if not row.is_method else \
                    updated.with_changes(func=updated.func.with_changes(attr=original.func.attr))
        else:
            plan = convert_args(row, list(updated.args))
            result = Unsupported(plan.reason) if plan.args is None else updated.with_changes(args=plan.args)
        if isinstance(result, Unsupported):
            self.unsupported(original, api, result.reason)
            return updated.with_changes(func=original.func) if not row.is_method else \
                updated.with_changes(func=updated.func.with_changes(attr=original.func.attr))
        if isinstance(result, _OPERATIONS):      # built by a rule: its parentheses and negation are ours
            self._synthetic_parens[id(result)] = result
        return result

    # A rule that turns a call into an operation parenthesises it, not knowing where it stands; where the
    # parentheses are redundant (a whole right-hand side, argument, return value, element), drop them:
    # `y = torch.add(x, 1)` reads `y = x + 1`, not `y = (x + 1)`.
    def _unparen(self, expr):
        if id(expr) in self._synthetic_parens and expr.lpar:
            return expr.with_changes(lpar=[], rpar=[])
        return expr

    def leave_Assign(self, original, updated):
        if id(updated.value) in self._statements:        # a rule turned the assignment into a statement
            return self._statements[id(updated.value)]
        return updated.with_changes(value=self._unparen(updated.value))

    def leave_AnnAssign(self, original, updated):
        return updated.with_changes(value=self._unparen(updated.value)) if updated.value is not None else updated

    def leave_Return(self, original, updated):
        return updated.with_changes(value=self._unparen(updated.value)) if updated.value is not None else updated

    def leave_Arg(self, original, updated):
        return updated.with_changes(value=self._unparen(updated.value))

    def leave_Element(self, original, updated):
        return updated.with_changes(value=self._unparen(updated.value))

    def leave_UnaryOperation(self, original, updated):
        inner = updated.expression
        if isinstance(updated.operator, cst.Not) and id(inner) in self._synthetic_parens \
                and isinstance(inner, cst.UnaryOperation) and isinstance(inner.operator, cst.Not):
            return inner.expression.with_changes(lpar=updated.lpar, rpar=updated.rpar)   # not (not X) -> X
        return updated


def convert_module(module: cst.Module, table: Table | None = None, code: str | None = None) -> Conversion:
    table = table or default_table()
    analyzer = Analyzer(table)
    analyzer.walk(module)
    analyzer.bindings.finish()
    if analyzer.bindings.star:
        analyzer.bindings.bind_star_conventions(code if code is not None else module.code,
                                                {t[2:] for t in analyzer.other_assigns | {a for a, _ in analyzer.assigns}
                                                 if t.startswith("0:")})
    instances = analyzer.instance_types()
    rewriter = Rewriter(table, analyzer.bindings, instances, analyzer.module_classes, analyzer.class_values())
    rewriter.assigned = {t for t, _ in analyzer.assigns} | analyzer.other_assigns
    rewriter.instance_rows = analyzer.instance_rows()
    rewriter.scalar_locals = analyzer.scalar_locals()
    _helper_uses[0] = 0
    new = module.visit(rewriter)
    new = imports.rewrite(new, analyzer.bindings, rewriter.needs_paddle, helpers=_helper_uses[0] > 0,
                          layer_specs=rewriter.layer_specs, attribute_paths=rewriter.attribute_paths)
    unconverted = []
    if rewriter.unconverted:      # positions cost code generation: only when something is reported
        from porter.convert.lines import report_lines
        items = [(n, top) for n, top, _, _ in rewriter.unconverted]
        lines = report_lines(code if code is not None else module.code, module, items)
        unconverted = sorted((Unconverted(line, api, reason)
                              for line, (_, _, api, reason) in zip(lines, rewriter.unconverted)), key=lambda u: u.line)
    return Conversion(new.code, unconverted, rewriter.found, rewriter.found - len(unconverted))


def convert_source(code: str, table: Table | None = None) -> Conversion:
    """Convert torch source text to paddle source text. Raises libcst.ParserSyntaxError on bad input."""
    return convert_module(cst.parse_module(code), table, code)
