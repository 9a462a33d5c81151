"""The API mapping tables: `mappings/*.toml` loaded into typed, validated rows.

Each TOML file holds one torch namespace. A table key is the torch qualified name; its fields:

    paddle       the paddle target (qualified name; a method name's owner is `paddle.Tensor` etc.)
    reason       why there is no target (a row without `paddle` is a documented "unsupported" row)
                 (a row with a `rule` may have neither: the rule writes the paddle code, e.g. a statement)
    args         torch signature order, used to turn positional arguments into keywords
    paddle_args  paddle's positional order (after renames); a positional argument stays positional only
                 where both orders agree. Defaults to `args` (renamed) up to the first argument the row
                 drops or transforms.
    rename       {torch_arg = paddle_arg}
    drop         [torch_arg, ...] dropped (no effect on the numbers: device, inplace, ...)
    transform    {torch_arg = transform name}, value rewrites (see porter.convert.transforms)
    defaults     {torch_arg = value}: torch defaults that paddle does not share, made explicit when the
                 call omits them (then renamed and transformed like a written argument)
    add          {paddle_arg = value}: paddle keywords always added (torch behaviour paddle only has as an
                 option, e.g. `pad_from_left_axis = false` for F.pad)
    unsupported  {torch_arg = reason}: passing this argument leaves the call unconverted and reported
    instance     for classes: the torch type whose method rows apply to instances (e.g. optimizers)
    weights      the weight rule the transfer uses for layers built from this row
    attributes   for classes: {torch_attr = paddle_attr} instance attributes read or set on such a layer,
                 `self.eps` in a subclass or `self.conv.in_channels` (paddle keeps them as `_epsilon`, ...);
                 the value may be a path (`weight.shape[0]`) or an expression with `{}` for the
                 receiver (BatchNorm's momentum, `(1 - {}._momentum)`); those are read-only: assigning
                 one is reported
    rule         a special rule (porter/convert/rules/) for what the fields cannot express
    note         free text: why the row is what it is

`modules.toml` maps torch modules to paddle modules (import rewriting); `aliases.toml` maps alternative
torch spellings to the canonical key.
"""
from __future__ import annotations

import functools
import importlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

ROW_FIELDS = {
    "paddle", "reason", "args", "paddle_args", "rename", "drop", "transform", "defaults", "add",
    "unsupported", "instance", "weights", "rule", "note", "attributes",
}
SPECIAL_FILES = {"modules.toml", "aliases.toml"}


class MappingError(ValueError):
    """A mapping table is malformed; the message names the file and row."""


@dataclass(frozen=True)
class Row:
    torch: str
    source: str                       # file name the row came from
    paddle: str | None = None
    reason: str | None = None
    args: tuple[str, ...] | None = None
    paddle_args: tuple[str, ...] | None = None
    rename: Mapping[str, str] = field(default_factory=dict)
    drop: frozenset[str] = frozenset()
    transform: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    add: Mapping[str, Any] = field(default_factory=dict)
    unsupported: Mapping[str, str] = field(default_factory=dict)
    instance: str | None = None
    weights: str | None = None
    rule: str | None = None
    note: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_method(self) -> bool:
        """Rows keyed `torch.Tensor.view` or `torch.optim.Optimizer.zero_grad` describe methods."""
        return self.torch.rsplit(".", 1)[0] in METHOD_OWNERS

    @property
    def method_name(self) -> str:
        return self.torch.rsplit(".", 1)[1]

    def paddle_positional(self) -> tuple[str, ...]:
        """Paddle's leading positional parameters. Without `paddle_args`: torch's order (renamed) up to the
        first argument the row drops or transforms (past it the orders are not known to agree). A rename
        alone keeps the position (`input`→`x`, `dim`→`axis`); where paddle's order differs the row must
        say so with `paddle_args` (the all-positional execution cases catch a row that does not)."""
        if self.paddle_args is not None:
            return self.paddle_args
        out = []
        for a in self.args or ():
            if a == "*" or a in self.drop or a in self.transform or a in self.unsupported:
                break
            out.append(self.rename.get(a, a))
        return tuple(out)


# Types whose methods are listed as rows; the receiver's type decides which applies (unknown → Tensor).
METHOD_OWNERS = ("torch.Tensor", "torch.optim.Optimizer", "torch.nn.Module", "torch.optim.lr_scheduler.LRScheduler",
                 "torch.autograd.function.FunctionCtx")


@dataclass(frozen=True)
class Table:
    rows: Mapping[str, Row]
    modules: Mapping[str, str]          # torch module -> paddle module
    aliases: Mapping[str, str]          # alternative torch name -> canonical row key
    methods: Mapping[str, Mapping[str, Row]]  # method name -> owner -> row

    @functools.cached_property
    def attribute_paths(self) -> dict[str, list[str]]:
        """torch layer attribute -> the plain paddle attribute names rows give it (`out_channels` ->
        [`_out_channels`]), derived once from the rows' `attributes`."""
        out: dict[str, set[str]] = {}
        for row in self.rows.values():
            for name, path in row.attributes.items():
                if path.isidentifier():
                    out.setdefault(name, set()).add(path)
        return {name: sorted(paths) for name, paths in out.items()}

    def lookup(self, qualname: str) -> Row | None:
        row = self.rows.get(self.aliases.get(qualname, qualname))
        if row is None:
            # `torch.nn.modules.conv.Conv2d` is `torch.nn.Conv2d`, `torch.distributions.normal.Normal` is
            # `torch.distributions.Normal`: a class defined in a submodule, under its public name
            for private, public in _SUBMODULE_PACKAGES:
                if qualname.startswith(private) and qualname.count(".") == private.count(".") + 1:
                    row = self.rows.get(public + qualname.rsplit(".", 1)[1])
                    break
        return row

    def method(self, name: str, owner: str) -> Row | None:
        return self.methods.get(name, {}).get(owner)

    def counts_by_namespace(self) -> dict[str, tuple[int, int]]:
        """file -> (rows with a paddle target, documented unsupported rows)."""
        out: dict[str, list[int]] = {}
        for row in self.rows.values():
            c = out.setdefault(row.source, [0, 0])
            c[0 if (row.paddle or row.rule) else 1] += 1
        return {k: (v[0], v[1]) for k, v in sorted(out.items())}


def mappings_dir() -> Path:
    """The top-level `mappings/` of a source checkout, else the copy installed as `porter._mappings`."""
    here = Path(__file__).resolve().parent.parent / "mappings"
    if (here / "modules.toml").is_file():
        return here
    from importlib.resources import files
    return Path(str(files("porter._mappings")))


def _str_list(v: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise MappingError(f"{where}: '{key}' must be a list of strings")
    return tuple(v)


def _str_map(v: Any, where: str, key: str) -> dict[str, str]:
    if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
        raise MappingError(f"{where}: '{key}' must be a table of strings")
    return dict(v)


def parse_row(key: str, data: Mapping[str, Any], source: str) -> Row:
    from porter.convert.transforms import TRANSFORMS  # registry of value transforms
    from porter.convert.rules import RULES

    where = f"{source} [{key}]"
    if not isinstance(data, dict):
        raise MappingError(f"{where}: a row must be a table")
    unknown = set(data) - ROW_FIELDS
    if unknown:
        raise MappingError(f"{where}: unknown key(s) {sorted(unknown)}")
    if ("paddle" in data) == ("reason" in data) and not ("rule" in data and "reason" not in data):
        raise MappingError(f"{where}: a row needs exactly one of 'paddle' (target) or 'reason' (unsupported), "
                           f"or a 'rule' that decides the target")
    args = _str_list(data["args"], where, "args") if "args" in data else None
    paddle_args = _str_list(data["paddle_args"], where, "paddle_args") if "paddle_args" in data else None
    rename = _str_map(data.get("rename", {}), where, "rename")
    drop = _str_list(data.get("drop", []), where, "drop")
    transform = _str_map(data.get("transform", {}), where, "transform")
    defaults = dict(data.get("defaults", {}))
    unsupported = _str_map(data.get("unsupported", {}), where, "unsupported")
    add = data.get("add", {})
    if not isinstance(add, dict):
        raise MappingError(f"{where}: 'add' must be a table")
    for name, group in (("rename", rename), ("drop", drop), ("transform", transform),
                        ("defaults", defaults), ("unsupported", unsupported)):
        if group and args is None:
            raise MappingError(f"{where}: '{name}' needs 'args' (the torch signature)")
        bad = [a for a in group if a not in (args or ())]
        if bad:
            raise MappingError(f"{where}: '{name}' names {bad}, not in the torch signature {list(args or ())}")
    bad = [t for t in transform.values() if t not in TRANSFORMS]
    if bad:
        raise MappingError(f"{where}: unknown transform(s) {bad}; known: {sorted(TRANSFORMS)}")
    if "rule" in data and data["rule"] not in RULES:
        raise MappingError(f"{where}: unknown rule {data['rule']!r}; known: {sorted(RULES)}")
    for k in ("paddle", "reason", "instance", "weights", "rule", "note"):
        if k in data and not isinstance(data[k], str):
            raise MappingError(f"{where}: '{k}' must be a string")
    row = Row(
        torch=key, source=source, paddle=data.get("paddle"), reason=data.get("reason"),
        args=args, paddle_args=paddle_args, rename=MappingProxyType(rename), drop=frozenset(drop),
        transform=MappingProxyType(transform), defaults=MappingProxyType(defaults), add=MappingProxyType(add),
        unsupported=MappingProxyType(unsupported), instance=data.get("instance"),
        weights=data.get("weights"), rule=data.get("rule"), note=data.get("note", ""),
        attributes=MappingProxyType(_str_map(data.get("attributes", {}), where, "attributes")),
    )
    return row


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise MappingError(f"{path.name}: not valid TOML: {e}") from None


def load_table(directory: Path | None = None, *, check_targets: bool = False) -> Table:
    directory = directory or mappings_dir()
    rows: dict[str, Row] = {}
    for path in sorted(directory.glob("*.toml")):
        if path.name in SPECIAL_FILES:
            continue
        for key, data in _read(path).items():
            if key in rows:
                raise MappingError(f"{path.name} [{key}]: duplicate row (also in {rows[key].source})")
            rows[key] = parse_row(key, data, path.name)
    modules = {k: v for k, v in _read(directory / "modules.toml").items()}
    aliases_path = directory / "aliases.toml"
    aliases = _read(aliases_path) if aliases_path.is_file() else {}
    for k, v in aliases.items():
        if v not in rows:
            raise MappingError(f"aliases.toml [{k}]: points at {v!r}, which has no row")
    methods: dict[str, dict[str, Row]] = {}
    for row in rows.values():
        if row.is_method:
            methods.setdefault(row.method_name, {})[row.torch.rsplit(".", 1)[0]] = row
    table = Table(MappingProxyType(rows), MappingProxyType(modules), MappingProxyType(aliases),
                  MappingProxyType(methods))
    if check_targets:
        problems = missing_targets(table)
        if problems:
            raise MappingError("targets missing from the installed paddle:\n  " + "\n  ".join(problems))
    return table


@functools.lru_cache(maxsize=1)
def default_table() -> Table:
    """The tables are parsed once per process."""
    return load_table()


# (prefix of a submodule-qualified name, the package that exports the same name)
_SUBMODULE_PACKAGES = (("torch.nn.modules.", "torch.nn."), ("torch.distributions.", "torch.distributions."),
                       ("torch.utils.data.", "torch.utils.data."), ("torch.optim.", "torch.optim."))


def resolve_paddle(qualname: str) -> Any:
    """Import the object a dotted paddle name points at (raises if it does not exist)."""
    parts = qualname.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
            if obj is None:      # paddle.compat answers None for any unknown name instead of raising
                raise AttributeError(f"{qualname}: {attr} is None")
        return obj
    raise ImportError(qualname)


def missing_targets(table: Table) -> list[str]:
    """Every row target and module target that does not exist in the installed paddle."""
    out = []
    for row in table.rows.values():
        if row.paddle is None:
            continue
        try:
            resolve_paddle(row.paddle)
        except (ImportError, AttributeError):
            out.append(f"{row.source} [{row.torch}]: {row.paddle}")
    for torch_mod, paddle_mod in table.modules.items():
        try:
            importlib.import_module(paddle_mod)
        except ImportError:
            out.append(f"modules.toml [{torch_mod}]: {paddle_mod}")
    return out


def render_markdown(table: Table) -> str:
    """Every row, one table per mapping file: what `docs/mappings.md` holds (regenerate with
    `porter mappings --markdown > docs/mappings.md`; a test keeps it current)."""
    out = ["# porter's API mappings", "",
           "Generated from `mappings/*.toml` by `porter mappings --markdown`. Each mapped row runs on torch and",
           "paddle in `tests/parity/cases/`; the fields are documented in `porter/mappings.py`.", ""]
    by_file: dict[str, list[Row]] = {}
    for row in table.rows.values():
        by_file.setdefault(row.source, []).append(row)
    for source in sorted(by_file):
        out += [f"## {source}", "", "| torch | paddle | changes | note |", "|---|---|---|---|"]
        for row in sorted(by_file[source], key=lambda r: r.torch):
            target = f"`{row.paddle}`" if row.paddle else ("(rule)" if row.rule else "**unsupported**")
            changes = []
            if row.rename:
                changes.append("rename " + ", ".join(f"{k}→{v}" for k, v in row.rename.items()))
            if row.transform:
                changes.append("transform " + ", ".join(f"{k}: {v}" for k, v in row.transform.items()))
            if row.drop:
                changes.append("drop " + ", ".join(sorted(row.drop)))
            if row.defaults:
                changes.append("torch defaults " + ", ".join(f"{k}={v!r}" for k, v in row.defaults.items()))
            if row.add:
                changes.append("adds " + ", ".join(f"{k}={v!r}" for k, v in row.add.items()))
            if row.unsupported:
                changes.append("unsupported: " + ", ".join(row.unsupported))
            if row.rule:
                changes.append(f"rule `{row.rule}`")
            if row.weights:
                changes.append(f"weights `{row.weights}`")
            note = (row.reason or row.note).replace("\n", " ").replace("|", "\\|")
            out.append(f"| `{row.torch}` | {target} | {'; '.join(changes)} | {note} |")
        out.append("")
    return "\n".join(out)
