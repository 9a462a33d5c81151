"""Per-layer weight rules: how one torch layer's tensors become one paddle layer's tensors.

A rule gets the torch tensors of one layer (local names, numpy arrays) and the paddle layer, and returns
`Move`s: each paddle tensor (local name) with its torch source key(s) and the transform applied. Rules
are named by the mapping rows' `weights` field (`["torch.nn.Linear"] weights = "linear"`); the paddle
class of that row's target selects the rule when the torch module is not at hand. Layers with no rule
copy tensors name for name (Conv, Embedding, LayerNorm, GroupNorm: identical layouts, REFERENCE.md §1).

Each rule has an inverse (`reverse`) so a round trip torch -> paddle -> torch reproduces the source.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Move:
    paddle: str                  # local name in the paddle layer
    sources: tuple[str, ...]     # local torch names it is built from
    transform: str               # human-readable: "copy", "transpose", "split 0/3 + transpose", ...
    value: np.ndarray


# Torch tensors that carry no information paddle stores, dropped by design (documented drops).
DROPPED = {"num_batches_tracked"}


@dataclass(frozen=True)
class WeightRule:
    forward: Callable[[dict[str, np.ndarray]], list[Move]]
    reverse: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


WEIGHT_RULES: dict[str, WeightRule] = {}


def weight_rule(name: str, reverse: Callable):
    def register(fn):
        WEIGHT_RULES[name] = WeightRule(fn, reverse)
        return fn
    return register


def copy_all(t: dict[str, np.ndarray]) -> list[Move]:
    return [Move(k, (k,), "copy", v) for k, v in t.items() if k not in DROPPED]


def _reverse_copy(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return dict(p)


DEFAULT = WeightRule(copy_all, _reverse_copy)


def _rev_linear(p):
    return {k: (v.T if k == "weight" else v) for k, v in p.items()}


@weight_rule("linear", reverse=_rev_linear)
def linear(t):
    """torch weight [out, in] -> paddle [in, out]."""
    return [Move(k, (k,), "transpose", np.ascontiguousarray(v.T)) if k == "weight" else Move(k, (k,), "copy", v)
            for k, v in t.items()]


_BN = {"running_mean": "_mean", "running_var": "_variance"}


def _rev_bn(p):
    out = {({v: k for k, v in _BN.items()}).get(k, k): v for k, v in p.items()}
    if "running_mean" in out:
        out["num_batches_tracked"] = np.array(0, dtype=np.int64)
    return out


@weight_rule("batchnorm", reverse=_rev_bn)
def batchnorm(t):
    """running_mean/var -> _mean/_variance; num_batches_tracked dropped (paddle keeps no counter)."""
    return [Move(_BN.get(k, k), (k,), "rename" if k in _BN else "copy", v)
            for k, v in t.items() if k not in DROPPED]


def _rev_prelu(p):
    return {"weight": p["_weight"]}


@weight_rule("prelu", reverse=_rev_prelu)
def prelu(t):
    return [Move("_weight", ("weight",), "rename", t["weight"])]


def _rev_bilinear(p):
    return {k: (v.reshape(-1) if k == "bias" else v) for k, v in p.items()}


@weight_rule("bilinear", reverse=_rev_bilinear)
def bilinear(t):
    """bias (out,) -> (1, out)."""
    return [Move(k, (k,), "reshape (1, -1)", v.reshape(1, -1)) if k == "bias" else Move(k, (k,), "copy", v)
            for k, v in t.items()]


def _rev_instancenorm(p):
    return {("weight" if k == "scale" else k): v for k, v in p.items()}


@weight_rule("instancenorm", reverse=_rev_instancenorm)
def instancenorm(t):
    """affine=True: weight -> scale; running statistics have no paddle home."""
    return [Move("scale" if k == "weight" else k, (k,), "rename" if k == "weight" else "copy", v)
            for k, v in t.items() if k in ("weight", "bias")]
