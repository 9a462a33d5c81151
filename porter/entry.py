"""Resolving a model ENTRY (`path/to/file.py:Name` or `pkg.module:Name`) to the callable it names.

This imports (runs) the named module: it is for `porter weights` and `porter check`, which build
models. `porter convert` never uses it.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Callable


class EntryError(ValueError):
    pass


def _package_root(file: Path) -> tuple[Path, str]:
    """The folder to put on sys.path and the dotted module name of `file` (walking up __init__.py)."""
    parts = [file.stem]
    folder = file.parent
    while (folder / "__init__.py").exists():
        parts.append(folder.name)
        folder = folder.parent
    return folder, ".".join(reversed(parts))


def parse_entry(spec: str, path: str | None = None) -> tuple[Path, str, str]:
    """(folder to put on sys.path, dotted module, attribute) for an ENTRY."""
    module_part, sep, attr = spec.rpartition(":")
    if not sep or not module_part or not attr:
        raise EntryError(f"{spec!r}: expected 'file.py:Name' or 'package.module:Name'")
    if module_part.endswith(".py"):
        file = Path(module_part)
        if path and not file.is_absolute():
            file = Path(path) / file
        if not file.is_file():
            raise EntryError(f"{file}: no such file")
        root, name = _package_root(file.resolve())
        return root, name, attr
    return Path(path or ".").resolve(), module_part, attr


def load_entry(spec: str, path: str | None = None) -> Callable[..., Any]:
    root, name, attr = parse_entry(spec, path)
    sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(name)
    except ImportError as e:
        raise EntryError(f"cannot import {name} from {root}: {e}") from None
    finally:
        if sys.path and sys.path[0] == str(root):
            sys.path.pop(0)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise EntryError(f"{name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise EntryError(f"{spec}: {attr} is not callable")
    return obj
