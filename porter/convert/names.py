"""Name resolution: which local names are bound to torch, and what they become in paddle.

`Bindings` is computed once per file, before any rewrite, from every import statement (module level or
nested). It answers two questions for the engine:

- `resolve(expr)`: the torch qualified name an expression spells (`nn.functional.relu` under
  `import torch.nn as nn` is `torch.nn.functional.relu`), or None;
- `emit(paddle_name)`: the shortest expression that names a paddle object through the bindings the
  converted file will have (`paddle.nn.Conv2D` is `nn.Conv2D` when `nn` is bound to `paddle.nn`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from porter.mappings import Table

TORCH_ROOTS = ("torch",)
# the packages whose APIs the tables map: torch, the torchvision pieces model code imports, and
# einops' torch layers (einops itself works on paddle tensors: `rearrange` stays as it is)
SOURCE_ROOTS = ("torch", "torchvision")
SOURCE_PREFIXES = ("einops.layers.torch",)
_own_packages: frozenset[str] = frozenset()   # the packages being converted are never a source API


def set_own_package(names) -> None:
    """A directory run converting `torchvision` itself keeps its own `from torchvision import ...`."""
    global _own_packages
    _own_packages = frozenset([names] if isinstance(names, str) else names or ())


def dotted(expr: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return None
    parts.append(expr.value)
    return ".".join(reversed(parts))


def _qualify(expr: cst.BaseExpression, bindings: dict[str, str]) -> str | None:
    """`a.b.c` with `a` bound to `x.y` in `bindings` is `x.y.b.c`; None when the head is not bound."""
    d = dotted(expr)
    if d is None:
        return None
    head, _, rest = d.partition(".")
    base = bindings.get(head)
    if base is None:
        return None
    return f"{base}.{rest}" if rest else base


def module_name(node: cst.BaseExpression) -> str:
    return cst.Module([]).code_for_node(node)


def is_torch(qualname: str) -> bool:
    root = qualname.split(".", 1)[0]
    if root in SOURCE_ROOTS:
        return root not in _own_packages
    return any(qualname == p or qualname.startswith(p + ".") for p in SOURCE_PREFIXES)


def name_expr(qualname: str) -> cst.BaseExpression:
    parts = qualname.split(".")
    expr: cst.BaseExpression = cst.Name(parts[0])
    for p in parts[1:]:
        expr = cst.Attribute(value=expr, attr=cst.Name(p))
    return expr


@dataclass
class NewImport:
    """One import the converted file has in place of a torch import alias."""
    module: str | None        # `from module import name` ; None for `import name`
    name: str
    asname: str | None

    @property
    def local(self) -> str:
        return self.asname or (self.name if self.module else self.name.split(".")[0])

    @property
    def binds(self) -> str:
        if self.module:
            return f"{self.module}.{self.name}"
        return self.name if self.asname else self.name.split(".")[0]


@dataclass
class Bindings:
    table: Table
    torch: dict[str, str] = field(default_factory=dict)     # local name -> torch qualname
    foreign: set[str] = field(default_factory=set)          # names bound by non-torch imports
    other: dict[str, str] = field(default_factory=dict)     # non-torch local name -> qualified name
    paddle: dict[str, str] = field(default_factory=dict)    # local name -> paddle qualname after conversion
    # per old local name: the import that replaces it, or None when it cannot be imported statically
    plan: dict[str, NewImport | None] = field(default_factory=dict)
    star: bool = False                                       # the file has a `from x import *`

    # -- analysis -------------------------------------------------------------------------------------
    def add_import(self, node: cst.Import) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            full = module_name(alias.name)
            if not is_torch(full):
                local = alias.asname.name.value if alias.asname else full.split(".")[0]
                self.foreign.add(local)
                self.other[local] = full if alias.asname else local
                continue
            if alias.asname is not None:
                local = alias.asname.name.value
                self.torch[local] = full
            else:
                local = full.split(".")[0]
                self.torch[local] = local

    def add_import_from(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            self.star = True
            return
        mod = module_name(node.module) if node.module is not None else ""
        if node.relative or not is_torch(mod):
            for a in node.names:
                local = a.asname.name.value if a.asname else module_name(a.name)
                self.foreign.add(local)
                if not node.relative:
                    self.other[local] = f"{mod}.{module_name(a.name)}"
            return
        for alias in node.names:
            name = alias.name.value
            local = alias.asname.name.value if alias.asname is not None else name
            self.torch[local] = f"{mod}.{name}"

    def finish(self) -> None:
        """Decide each torch binding's replacement import; fill the paddle bindings."""
        for local, q in self.torch.items():
            self.plan[local] = self.replacement(local, q)
        for imp in self.plan.values():
            if imp is not None:
                self.paddle[imp.local] = imp.binds
        for local, q in self.other.items():       # paddle the file already imports (a partial port)
            if q == "paddle" or q.startswith("paddle."):
                self.paddle.setdefault(local, q)

    def bind_star_conventions(self, code: str, assigned: set[str]) -> None:
        """`from .activations import *` can bring torch's conventional names (`torch`, `nn`, `F`) from a
        sibling module: a file with a star import that uses one it never binds gets the torch meaning.
        They are not planned as imports: their uses are written from `paddle` (imported here), which
        does not depend on what the star import brings after conversion."""
        import re
        for local, q in (("torch", "torch"), ("nn", "torch.nn"), ("F", "torch.nn.functional")):
            if local in self.torch or local in self.foreign or local in assigned:
                continue
            if re.search(rf"(?<![\w.]){local}\.\w", code):
                self.torch[local] = q

    def replacement(self, local: str, q: str) -> NewImport | None:
        t = self.table
        canon = t.aliases.get(q, q)
        if local == q.split(".")[0] and q in TORCH_ROOTS:           # import torch / import torch.nn
            return NewImport(None, "paddle", None)
        if canon in t.modules:                                       # a module bound to a name
            target = t.modules[canon]
        else:
            row = t.lookup(q)
            if row is None or row.paddle is None or row.is_method:
                return None                                          # nothing to import: marked at each use
            # a rule row is imported too: a rule that picks another target names it in full
            target = row.paddle
        parent, _, last = target.rpartition(".")
        if not parent:
            return NewImport(None, target, None if local == target else local)
        user_aliased = local != q.rsplit(".", 1)[-1]
        keep_local = canon in t.modules or user_aliased
        if keep_local and local != last:
            return NewImport(parent, last, local)
        return NewImport(parent, last, None)

    # -- queries ---------------------------------------------------------------------------------------
    def resolve(self, expr: cst.BaseExpression) -> str | None:
        """The torch qualified name `expr` spells through the file's torch imports, or None."""
        return _qualify(expr, self.torch)

    def resolve_other(self, expr: cst.BaseExpression) -> str | None:
        """The qualified name of a non-torch imported name (`partial` -> `functools.partial`)."""
        return _qualify(expr, self.other)

    def emit(self, target: str, head: str | None = None) -> tuple[cst.BaseExpression, bool]:
        """Expression naming `target`; the flag says it relies on a plain `import paddle`.

        Prefers the name the user wrote (`head`, e.g. `nn` in `nn.BatchNorm2d`), then module bindings
        (longest first), then a name imported for exactly this object.
        """
        def fits(bound: str) -> bool:
            return target == bound or target.startswith(bound + ".")

        choice = None
        new_head = self.plan[head].local if head in self.plan and self.plan[head] is not None else None
        if new_head is not None and new_head in self.paddle and fits(self.paddle[new_head]):
            choice = new_head
        else:
            best = -1
            for local, bound in self.paddle.items():
                if fits(bound) and (local in self.module_locals or target == bound):
                    score = len(bound) + (0 if local in self.module_locals else -1000)
                    if score > best:
                        best, choice = score, local
        if choice is not None:
            rest = target[len(self.paddle[choice]):].lstrip(".")
            return name_expr(f"{choice}.{rest}" if rest else choice), False
        return name_expr(target), True

    @property
    def module_locals(self) -> set[str]:
        return {local for local, q in self.torch.items()
                if self.table.aliases.get(q, q) in self.table.modules or q in TORCH_ROOTS} & set(self.paddle) \
            | ({"paddle"} & set(self.paddle))
