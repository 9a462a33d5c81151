"""Special rules: one small module per API family the row fields cannot express.

A rule module registers functions with `@rule("name")`; a row opts in with `rule = "name"`. A rule gets
the row, the call (arguments already converted where the rule allows) and the conversion context, and
returns the new expression or an `Unsupported` with the reason. Modules are discovered with pkgutil, so
adding a rule is adding a file.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

RULES: dict[str, Callable] = {}


@dataclass(frozen=True)
class Unsupported:
    reason: str


def generic(row, call, args=None):
    """The row's generic transform (porter.convert.engine.convert_args) on `call`, or Unsupported: what a
    rule does once it has decided the special part."""
    from porter.convert.engine import convert_args

    plan = convert_args(row, list(call.args) if args is None else args)
    if plan.args is None:
        return Unsupported(plan.reason)
    return call.with_changes(args=plan.args)


def rule(name: str):
    def register(fn):
        if name in RULES:
            raise ValueError(f"rule {name!r} registered twice")
        RULES[name] = fn
        return fn
    return register


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_discover()
