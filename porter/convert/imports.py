"""Import bookkeeping, in one place: torch imports become the paddle imports the plan decided.

- `import torch` / `import torch.nn` become `import paddle` (once); `import torch.nn as nn` becomes
  `import paddle.nn as nn`: the user's aliases are kept, so `nn.Linear` stays `nn.Linear`.
- `from torch.nn import Linear, BatchNorm2d` becomes `from paddle.nn import Linear, BatchNorm2D`, split
  into one statement per paddle module when the targets live in different modules.
- A name whose conversion depends on the call (a rule row) is dropped from the import; its uses are
  written in full (`paddle.compat.max`) and `import paddle` is added if the file lacks it.
- The output never imports torch: an unconverted use is left as written and marked (`# porter:`), so
  the file imports on paddle alone and only the marked line fails if it runs. (Keeping `import torch.nn
  as nn` next to `import paddle.nn as nn` would shadow one alias with the other.)
- A torch name with no paddle counterpart (no row) is dropped from its import; its uses are marked.
- At module level, a name imported from torch that has no paddle counterpart (no row, or a documented
  unsupported one) is bound to a stand-in, `name = _porter_unsupported("torch.x.name")`, a class that
  raises NotImplementedError when called: the module still imports when a dict, a default argument or
  a base class refers to it, and only the code that really uses it fails, naming it. The small helper
  is written once, before the first stand-in.
- Inside `try:` guarded by `except ImportError` (or a broader handler), an import that loses a name
  becomes `raise ImportError(...)` after the imports that remain, so the user's fallback runs, as it
  would on a torch without that name (`try: from torch import _assert / except ImportError: def _assert`).
"""
from __future__ import annotations

import libcst as cst

from porter.convert.names import Bindings, NewImport, is_torch, module_name, name_expr


_STATEMENT_CONTAINERS = (cst.Module, cst.BaseStatement, cst.BaseSuite, cst.Else, cst.Finally, cst.ExceptHandler,
                         cst.ExceptStarHandler, cst.MatchCase)


def _alias_for(imp: NewImport) -> cst.ImportAlias:
    asname = cst.AsName(name=cst.Name(imp.asname)) if imp.asname else None
    return cst.ImportAlias(name=name_expr(imp.name), asname=asname)


def _import_stmt(imp: NewImport, plain: bool) -> cst.BaseSmallStatement:
    if imp.module is None:
        return cst.Import(names=[_alias_for(imp)])
    if plain:   # the user wrote `import torch.nn as nn`: keep that form
        return cst.Import(names=[cst.ImportAlias(name=name_expr(f"{imp.module}.{imp.name}"),
                                                  asname=cst.AsName(name=cst.Name(imp.local)))])
    return cst.ImportFrom(module=name_expr(imp.module), names=[_alias_for(imp)])


def _key(stmt: cst.BaseSmallStatement) -> str:
    return cst.Module([]).code_for_node(stmt)


class ImportRewriter(cst.CSTTransformer):
    def __init__(self, bindings: Bindings, needs_paddle: bool):
        super().__init__()
        self.b = bindings
        self.needs_paddle = needs_paddle and "paddle" not in bindings.paddle
        self.emitted: set[str] = set()
        self.first_import_done = False
        self._guarded_suites: set[int] = set()   # try bodies whose handlers catch ImportError
        self._guard_depth: list[bool] = []
        self._def_depth = 0                      # inside a def or class: no stand-ins
        self.stand_ins = 0

    def visit_FunctionDef(self, node) -> None:
        self._def_depth += 1

    def leave_FunctionDef(self, original, updated):
        self._def_depth -= 1
        return updated

    def visit_ClassDef(self, node) -> None:
        self._def_depth += 1

    def leave_ClassDef(self, original, updated):
        self._def_depth -= 1
        return updated

    def _stand_ins(self, stmt: cst.BaseSmallStatement) -> list[cst.BaseSmallStatement]:
        """`name = _porter_unsupported("torch.x.name")` for each name this module-level import loses."""
        if self._def_depth or not isinstance(stmt, cst.ImportFrom) or isinstance(stmt.names, cst.ImportStar):
            return []
        out = []
        mod = module_name(stmt.module)
        for alias in stmt.names:
            local = alias.asname.name.value if alias.asname else alias.name.value
            q = f"{mod}.{alias.name.value}"
            if self.b.replacement(local, q) is not None:
                continue
            row = self.b.table.lookup(q)
            if row is not None and (row.rule or row.paddle):      # its uses are written in full
                continue
            if self.b.table.aliases.get(q, q) in self.b.table.modules:
                continue
            out.append(cst.Assign(targets=[cst.AssignTarget(cst.Name(local))], value=cst.Call(
                func=cst.Name(STAND_IN), args=[cst.Arg(cst.SimpleString(repr(q)))])))
        self.stand_ins += len(out)
        return out

    def visit_Try(self, node: cst.Try) -> None:
        if any(_catches_import_error(h.type) for h in node.handlers):
            self._guarded_suites.add(id(node.body))

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._guard_depth.append(id(node) in self._guarded_suites)

    def leave_IndentedBlock(self, original, updated):
        self._guard_depth.pop()
        return updated

    def _dropped(self, stmt: cst.BaseSmallStatement) -> list[str]:
        """The torch names this import binds that have no paddle counterpart to import."""
        out = []
        if isinstance(stmt, cst.Import):
            for alias in stmt.names:
                full = module_name(alias.name)
                if is_torch(full):
                    local = alias.asname.name.value if alias.asname else full.split(".")[0]
                    if self.b.replacement(local, full if alias.asname else local) is None and full != "torch":
                        out.append(full)
        elif isinstance(stmt, cst.ImportFrom) and not isinstance(stmt.names, cst.ImportStar):
            mod = module_name(stmt.module)
            for alias in stmt.names:
                local = alias.asname.name.value if alias.asname else alias.name.value
                if self.b.replacement(local, f"{mod}.{alias.name.value}") is None:
                    out.append(f"{mod}.{alias.name.value}")
        return out

    def _replace_import(self, node: cst.Import) -> list[cst.BaseSmallStatement]:
        keep, out = [], []
        for alias in node.names:
            full = module_name(alias.name)
            if not is_torch(full):
                keep.append(alias)      # not a torch alias (`import torch, os`: os stays)
                continue
            local = alias.asname.name.value if alias.asname else full.split(".")[0]
            # this statement's own binding (a name may be bound twice; the plan holds the last one)
            imp = self.b.replacement(local, full if alias.asname else local)
            if imp is not None:
                out.append(_import_stmt(imp, plain=True))
        stmts = [node.with_changes(names=_fix_alias_commas(keep))] if keep else []
        return stmts + out

    def _replace_import_from(self, node: cst.ImportFrom) -> list[cst.BaseSmallStatement]:
        groups: dict[str | None, list[tuple[cst.ImportAlias, NewImport]]] = {}
        mod = module_name(node.module)
        for alias in node.names:
            local = alias.asname.name.value if alias.asname else alias.name.value
            imp = self.b.replacement(local, f"{mod}.{alias.name.value}")
            if imp is not None:
                groups.setdefault(imp.module, []).append((alias, imp))
        out: list[cst.BaseSmallStatement] = []
        for module, items in groups.items():
            if module is None:
                out.extend(_import_stmt(imp, plain=True) for _, imp in items)
                continue
            names = [old.with_changes(name=cst.Name(imp.name),
                                      asname=cst.AsName(name=cst.Name(imp.asname)) if imp.asname else None)
                     for old, imp in items]
            if len(groups) == 1:      # same shape as the user's statement: keep its layout
                out.append(node.with_changes(module=name_expr(module), names=_fix_alias_commas(names)))
            else:
                out.append(cst.ImportFrom(module=name_expr(module), names=_fix_alias_commas(names, True)))
        return out

    def _is_torch_import(self, stmt: cst.BaseSmallStatement) -> bool:
        if isinstance(stmt, cst.Import):
            return any(is_torch(module_name(a.name)) for a in stmt.names)
        if isinstance(stmt, cst.ImportFrom) and stmt.module is not None and not stmt.relative:
            return is_torch(module_name(stmt.module))
        return False

    def on_visit(self, node) -> bool:
        # imports are statements: walk statement lists only, never into expressions or headers
        if not isinstance(node, _STATEMENT_CONTAINERS):
            return False
        return super().on_visit(node)

    def visit_SimpleStatementLine(self, node) -> bool:
        return False

    def on_visit_attribute(self, node, attribute) -> None:
        return None

    def on_leave_attribute(self, original_node, attribute) -> None:
        return None

    def leave_SimpleStatementLine(self, original, updated):
        if not any(self._is_torch_import(s) for s in updated.body):
            return updated
        new_stmts: list[cst.BaseSmallStatement] = []
        if self.needs_paddle and not self.first_import_done:
            new_stmts.append(cst.Import(names=[cst.ImportAlias(name=cst.Name("paddle"))]))
        self.first_import_done = True
        guarded = bool(self._guard_depth) and self._guard_depth[-1]
        missing: list[str] = []
        stand_ins: list[cst.BaseSmallStatement] = []
        for s in updated.body:
            if guarded and self._is_torch_import(s):
                missing += self._dropped(s)
            elif self._is_torch_import(s):
                stand_ins += self._stand_ins(s)
            if isinstance(s, cst.Import) and self._is_torch_import(s):
                new_stmts.extend(self._replace_import(s))
            elif isinstance(s, cst.ImportFrom) and self._is_torch_import(s):
                new_stmts.extend(self._replace_import_from(s))
            else:
                new_stmts.append(s)
        new_stmts.extend(stand_ins)
        if missing:
            new_stmts.append(cst.Raise(exc=cst.Call(func=cst.Name("ImportError"), args=[cst.Arg(cst.SimpleString(
                repr(f"porter: no paddle counterpart for {', '.join(missing)}")))])))
        # one statement per line; drop exact repeats (`import torch` + `import torch.nn` → one `import paddle`)
        lines = []
        for stmt in new_stmts:
            key = _key(stmt)
            if key in self.emitted and self._is_paddle_import(stmt):
                continue
            self.emitted.add(key)
            lines.append(stmt)
        if not lines:
            return cst.RemovalSentinel.REMOVE
        lines = [s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT) for s in lines]
        first = updated.with_changes(body=[lines[0]])
        rest = [cst.SimpleStatementLine(body=[s]) for s in lines[1:]]
        if rest:
            # the trailing comment belongs to the last line of the group
            first, rest[-1] = first.with_changes(trailing_whitespace=cst.TrailingWhitespace()), \
                rest[-1].with_changes(trailing_whitespace=updated.trailing_whitespace)
            return cst.FlattenSentinel([first, *rest])
        return first

    @staticmethod
    def _is_paddle_import(stmt) -> bool:
        code = _key(stmt)
        return code.startswith("import paddle") or code.startswith("from paddle")


def _catches_import_error(handler_type) -> bool:
    if handler_type is None:
        return True                       # a bare `except:`
    if isinstance(handler_type, cst.Tuple):
        return any(_catches_import_error(e.value) for e in handler_type.elements)
    name = handler_type.attr.value if isinstance(handler_type, cst.Attribute) else getattr(handler_type, "value", None)
    return name in ("ImportError", "ModuleNotFoundError", "Exception", "BaseException")


def _fix_alias_commas(aliases, fresh: bool = False):
    aliases = list(aliases)
    out = []
    for k, a in enumerate(aliases):
        if k < len(aliases) - 1:
            if fresh or a.comma is cst.MaybeSentinel.DEFAULT:
                a = a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        else:
            a = a.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        out.append(a)
    return out


STAND_IN = "_porter_unsupported"
_STAND_IN_DEF = f'''
def {STAND_IN}(name):
    """porter: a torch API with no paddle counterpart; the module imports, a call raises."""
    class Unsupported:
        def __init__(self, *args, **kwargs):
            raise NotImplementedError(f"{{name}} has no paddle counterpart (porter left its uses unconverted)")
    Unsupported.__name__ = Unsupported.__qualname__ = name.rsplit(".", 1)[-1]
    return Unsupported
'''


_KWARGS_DEF = '''
def _porter_kwargs(kwargs, rename, drop, refuse, unsupported, negate=None, one_minus=(), defaults=None,
                   required=None, flags=None, add=None, guard_same=False):
    \"\"\"porter: torch keyword arguments passed through ** to a paddle call, converted at run time.\"\"\"
    if guard_same and kwargs.get("padding") == "same" and kwargs.get("dilation", 1) not in (1, (1,), (1, 1), (1, 1, 1)):
        raise TypeError("porter: padding='same' with a dilation: paddle computes it as if the dilation were 1")
    out = {}
    for key, value in kwargs.items():
        if key in drop or (key in unsupported and value is None):
            continue
        if required and key in required:
            if value != required[key]:
                raise TypeError(f"porter: {key}={value!r} has no paddle counterpart here (only {required[key]!r})")
        elif flags and key in flags:
            if value is False:
                out.update(flags[key])
            elif value is not True:
                raise TypeError(f"porter: {key}={value!r} needs converting for paddle; pass True or False")
        elif negate and key in negate:
            out[negate[key]] = not value
        elif key in one_minus:
            out[key] = value if value is None else 1 - value
        elif key in refuse or key in unsupported:
            raise TypeError(f"porter: {key}={value!r} passed through ** needs converting for paddle; pass it explicitly")
        else:
            out[rename.get(key, key)] = value
    for key, (paddle_key, value) in (defaults or {}).items():
        if key not in kwargs:
            out.setdefault(paddle_key, value)
    for key, value in (add or {}).items():
        out.setdefault(key, value)
    return out
'''

_LAYER_DEF = '''
def _porter_layer(cls, torch_name):
    \"\"\"porter: a torch layer class passed as a value (`act_layer=nn.ReLU`): wherever it is called, with
    torch's positional order and keywords (`inplace=True`, `eps=`), paddle's layer is built.\"\"\"
    cache, key = _porter_layer.__dict__.setdefault("cache", {}), (cls, torch_name)
    if key not in cache:
        args, npos, convert = _PORTER_LAYERS[torch_name]

        class Layer(cls):
            def __init__(self, *a, **kw):
                kw.update(zip(args[npos:], a[npos:]))
                super().__init__(*a[:npos], **_porter_kwargs(kw, **convert))
        Layer.__name__, Layer.__qualname__ = cls.__name__, cls.__qualname__
        cache[key] = Layer      # (two torch layers may share a paddle class: ZeroPad2d, ConstantPad2d)
    return cache[key]


# per torch layer: its signature, the leading positionals paddle shares, and how _porter_kwargs converts
# the rest (renames, drops, momentum 1 - m, flags whose False sets paddle keywords, torch's defaults)
_PORTER_LAYERS = {specs}
'''

_ATTR_DEF = '''
def _porter_attr(obj, name):
    """porter: a torch layer attribute read on a value whose class porter could not see: the object's
    own attribute if it has one, else the paddle layer's name for it (`out_channels` -> `_out_channels`)."""
    if hasattr(obj, name):
        return getattr(obj, name)
    for other in _PORTER_ATTRS.get(name, ()):
        if hasattr(obj, other):
            return getattr(obj, other)
    raise AttributeError(f"{type(obj).__name__} has no attribute {name!r} (nor its paddle spelling)")


_PORTER_ATTRS = {attrs}
'''

_SDPA_DEF = '''
def _porter_sdpa(query, key, value, attn_mask=None, *args, **kwargs):
    """porter: torch's scaled_dot_product_attention takes any number of leading dimensions, paddle.compat's
    exactly [batch, heads, seq, dim]: other ranks are flattened to that around the call."""
    import paddle
    sdpa = paddle.compat.nn.functional.scaled_dot_product_attention
    if query.ndim == 4:
        return sdpa(query, key, value, attn_mask, *args, **kwargs)
    lead = list(query.shape[:-2])

    def four(t):
        return t.reshape([-1, 1, *t.shape[-2:]])
    if attn_mask is not None and attn_mask.ndim == query.ndim:
        attn_mask = four(attn_mask)
    out = sdpa(four(query), four(key), four(value), attn_mask, *args, **kwargs)
    return out.reshape(lead + list(out.shape[-2:]))
'''

# helpers the conversion may call, each written once into a file, before the first statement using it
# (_porter_layer calls _porter_kwargs: placed first, it pulls _porter_kwargs in before itself)
HELPERS = {STAND_IN: _STAND_IN_DEF, "_porter_layer": _LAYER_DEF, "_porter_kwargs": _KWARGS_DEF,
           "_porter_attr": _ATTR_DEF, "_porter_sdpa": _SDPA_DEF}


def add_helpers(module: cst.Module, layer_specs: dict | None = None, attribute_paths: dict | None = None) -> cst.Module:
    """Each helper the converted code calls goes right before the first top-level statement using it."""
    code = module.code
    for name, source in HELPERS.items():
        if f"{name}(" not in code or f"def {name}(" in code:
            continue
        if name == "_porter_layer":
            code += "\n_porter_kwargs("      # the layer helper calls the kwargs helper
        body = list(module.body)
        for i, stmt in enumerate(body):
            if f"{name}(" in module.code_for_node(stmt):
                if name == "_porter_attr":
                    source = source.replace("{attrs}", repr(dict(sorted((attribute_paths or {}).items()))))
                if name == "_porter_layer":
                    source = source.replace("{specs}", "{\n" + "".join(
                        f"    {k!r}: {v!r},\n" for k, v in sorted((layer_specs or {}).items())) + "}")
                helper = list(cst.parse_module(source).body)
                helper[0] = helper[0].with_changes(leading_lines=[cst.EmptyLine()] if i else [])
                lead = list(getattr(stmt, "leading_lines", ()))
                blank = sum(1 for ln in lead[:2] if ln.comment is None)
                nxt = stmt.with_changes(leading_lines=[cst.EmptyLine()] * max(0, 2 - blank) + lead) \
                    if hasattr(stmt, "leading_lines") else stmt
                body[i:i + 1] = [*helper, nxt]
                break
        module = module.with_changes(body=body)
    return module


def rewrite(module: cst.Module, bindings: Bindings, needs_paddle: bool, helpers: bool = False,
            layer_specs: dict | None = None, attribute_paths: dict | None = None) -> cst.Module:
    rewriter = ImportRewriter(bindings, needs_paddle)
    module = module.visit(rewriter)
    if rewriter.stand_ins or helpers:
        module = add_helpers(module, layer_specs, attribute_paths)
    if rewriter.needs_paddle and not rewriter.first_import_done:
        module = _prepend_import_paddle(module)
    return module


def _prepend_import_paddle(module: cst.Module) -> cst.Module:
    """After the docstring and `from __future__` imports."""
    body = list(module.body)
    i = 0
    while i < len(body) and isinstance(body[i], cst.SimpleStatementLine) and (
            (isinstance(body[i].body[0], cst.Expr) and isinstance(body[i].body[0].value, cst.SimpleString))
            or (isinstance(body[i].body[0], cst.ImportFrom) and body[i].body[0].module is not None
                and module_name(body[i].body[0].module) == "__future__")):
        i += 1
    body.insert(i, cst.SimpleStatementLine(body=[cst.Import(names=[cst.ImportAlias(name=cst.Name("paddle"))])]))
    return module.with_changes(body=body)
