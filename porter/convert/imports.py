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
"""
from __future__ import annotations

import libcst as cst

from porter.convert.names import Bindings, NewImport, module_name, name_expr


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

    def _replace_import(self, node: cst.Import) -> list[cst.BaseSmallStatement]:
        keep, out = [], []
        for alias in node.names:
            full = module_name(alias.name)
            if full.split(".")[0] != "torch":
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
            return any(module_name(a.name).split(".")[0] == "torch" for a in stmt.names)
        if isinstance(stmt, cst.ImportFrom) and stmt.module is not None and not stmt.relative:
            return module_name(stmt.module).split(".")[0] == "torch"
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
        for s in updated.body:
            if isinstance(s, cst.Import) and self._is_torch_import(s):
                new_stmts.extend(self._replace_import(s))
            elif isinstance(s, cst.ImportFrom) and self._is_torch_import(s):
                new_stmts.extend(self._replace_import_from(s))
            else:
                new_stmts.append(s)
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


def rewrite(module: cst.Module, bindings: Bindings, needs_paddle: bool) -> cst.Module:
    rewriter = ImportRewriter(bindings, needs_paddle)
    module = module.visit(rewriter)
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
