"""Per-layer weight rules: how one torch layer's tensors become one paddle layer's tensors.

A rule gets the torch tensors at the layer's path (local names -> numpy arrays) and the paddle layer's
tensors (local names -> shapes), and returns `Move`s: each paddle tensor with its torch source key(s), the
transform, and the value. `reverse` turns the paddle tensors back into torch's (round trips are tested).

Which rule a paddle layer gets:
- the mapping rows' `weights` field (`["torch.nn.Linear"] weights = "linear"`) names the rule for that
  row's paddle target class;
- `paddle_classes` below names it for paddle classes no row targets (a hand-written port may use
  `paddle.nn.MultiHeadAttention`, which porter itself does not emit);
- any other layer copies its own tensors name for name (Conv, Embedding, LayerNorm, GroupNorm:
  identical layouts, REFERENCE.md §1).

`scope = "subtree"` rules see every tensor under their layer (dotted local names) and place all of them
(attention: `in_proj_weight` becomes `q_proj.weight`, ...; recurrent layers address paddle's per-cell
tensors); the walk does not descend into such a layer.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Move:
    paddle: str | None           # local name in the paddle layer; None: consumed, nothing stored
    sources: tuple[str, ...]     # local torch names it is built from
    transform: str               # human-readable: "copy", "transpose", "split 0/3 + transpose", ...
    value: np.ndarray


# Torch tensors that carry nothing paddle stores, dropped by design (listed in the ledger).
DROPPED = {"num_batches_tracked"}

Torch = dict[str, np.ndarray]


class PaddleTensors(dict):
    """The paddle layer's tensors ({local name: shape} for forward rules, {local name: array} for reverse
    rules), with the layer itself at `.layer`."""

    def __init__(self, items: dict, layer=None):
        super().__init__(items)
        self.layer = layer


@dataclass(frozen=True)
class WeightRule:
    name: str
    forward: Callable[[Torch, set[str]], list[Move]]
    reverse: Callable[[Torch], Torch]
    scope: str = "own"                      # "own" tensors, or the whole "subtree"
    paddle_classes: tuple[str, ...] = field(default_factory=tuple)
    children: dict[str, str] = field(default_factory=dict)   # paddle child name -> torch child name


WEIGHT_RULES: dict[str, WeightRule] = {}


def weight_rule(name: str, *, reverse: Callable, scope: str = "own", paddle_classes: tuple[str, ...] = (),
                children: dict[str, str] | None = None):
    def register(fn):
        WEIGHT_RULES[name] = WeightRule(name, fn, reverse, scope, paddle_classes, children or {})
        return fn
    return register


def _transpose_rows(v: np.ndarray, out: np.ndarray, i0: int, i1: int, block: int) -> None:
    for i in range(i0, i1, block):
        for j in range(0, v.shape[1], block):
            out[j:j + block, i:i + block] = v[i:i + block, j:j + block].T


_POOL = None


def transpose2d(v: np.ndarray, block: int = 256) -> np.ndarray:
    """A contiguous transpose, copied tile by tile on up to 4 threads (numpy releases the GIL while it
    copies): on a 4096x4096 float32 matrix 0.06 s warm / 0.09 s into fresh memory, against 0.40 s for
    np.ascontiguousarray(v.T) (measured); large checkpoints spend most of their time here."""
    global _POOL
    if v.ndim != 2 or v.size < block * block:
        return np.ascontiguousarray(v.T)
    out = np.empty((v.shape[1], v.shape[0]), dtype=v.dtype)
    workers = min(4, os.cpu_count() or 1)
    if workers == 1 or v.size < 4 * 2**20:
        _transpose_rows(v, out, 0, v.shape[0], block)
        return out
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor
        _POOL = ThreadPoolExecutor(workers, thread_name_prefix="porter-transpose")
    step = -(-v.shape[0] // workers // block) * block
    list(_POOL.map(lambda i0: _transpose_rows(v, out, i0, min(i0 + step, v.shape[0]), block),
                   range(0, v.shape[0], step)))
    return out


def copy_all(t: Torch, paddle_names: set[str]) -> list[Move]:
    return [Move(k, (k,), "copy", v) for k, v in t.items() if k not in DROPPED]


DEFAULT = WeightRule("copy", copy_all, dict)


# -- linear --------------------------------------------------------------------------------------
def _rev_linear(p: Torch) -> Torch:
    return {k: (transpose2d(v) if k == "weight" else v) for k, v in p.items()}


@weight_rule("linear", reverse=_rev_linear)
def linear(t, paddle_names):
    """torch weight [out, in] -> paddle [in, out]."""
    return [Move(k, (k,), "transpose", transpose2d(v)) if k == "weight" else Move(k, (k,), "copy", v)
            for k, v in t.items()]


# -- normalisation -------------------------------------------------------------------------------
_BN = {"running_mean": "_mean", "running_var": "_variance"}


def _rev_bn(p: Torch) -> Torch:
    back = {v: k for k, v in _BN.items()}
    out = {back.get(k, k): v for k, v in p.items()}
    if "running_mean" in out:
        out["num_batches_tracked"] = np.array(0, dtype=np.int64)
    return out


@weight_rule("batchnorm", reverse=_rev_bn)
def batchnorm(t, paddle):
    """running_mean/var -> _mean/_variance; num_batches_tracked dropped (paddle keeps no counter).
    With track_running_stats=False (converted to use_global_stats=False, which the rule checks on the
    paddle layer) torch keeps no statistics while paddle still has the tensors, unused in that mode: they
    get paddle's initial 0 / 1. A checkpoint that merely lacks them still fails."""
    moves = [Move(_BN.get(k, k), (k,), "rename" if k in _BN else "copy", v) for k, v in t.items() if k not in DROPPED]
    no_stats = getattr(getattr(paddle, "layer", None), "_use_global_stats", None) is False
    if no_stats and "running_mean" not in t and "running_var" not in t and "_mean" in paddle:
        moves.append(Move("_mean", (), "initial 0 (torch keeps no statistics)", np.zeros(paddle["_mean"], np.float32)))
        moves.append(Move("_variance", (), "initial 1 (torch keeps no statistics)", np.ones(paddle["_variance"], np.float32)))
    return moves


def _rev_layernorm(p: Torch) -> Torch:
    shape = tuple(getattr(getattr(p, "layer", None), "_normalized_shape", ()) or ())
    return {k: (v.reshape(shape) if shape and v.size == int(np.prod(shape)) else v) for k, v in p.items()}


@weight_rule("layernorm", reverse=_rev_layernorm)
def layernorm(t, paddle):
    """A multi-axis normalized_shape: torch keeps weight/bias as that shape, paddle flattened."""
    return [Move(k, (k,), "reshape (-1,)" if v.ndim > 1 else "copy", v.reshape(-1) if k in paddle and v.ndim > 1 else v)
            for k, v in t.items()]


@weight_rule("loss", reverse=lambda p: {})
def loss(t, paddle):
    """Loss modules register their `weight`/`pos_weight` as buffers in torch; paddle keeps the tensor
    passed to the constructor as a plain attribute. Consumed: the converted constructor call passes it."""
    return [Move(None, (k,), "kept by the loss object (constructor argument)", v) for k, v in t.items()]


def _rev_instancenorm(p: Torch) -> Torch:
    return {("weight" if k == "scale" else k): v for k, v in p.items()}


@weight_rule("instancenorm", reverse=_rev_instancenorm)
def instancenorm(t, paddle_names):
    """affine=True: weight -> scale. (torch's running statistics have no paddle home: left unused.)"""
    return [Move("scale" if k == "weight" else k, (k,), "rename" if k == "weight" else "copy", v)
            for k, v in t.items() if k in ("weight", "bias")]


# -- activations and bilinear --------------------------------------------------------------------
@weight_rule("prelu", reverse=lambda p: {"weight": p["_weight"]})
def prelu(t, paddle_names):
    return [Move("_weight", ("weight",), "rename", t["weight"])] if "weight" in t else []


def _rev_bilinear(p: Torch) -> Torch:
    return {k: (v.reshape(-1) if k == "bias" else v) for k, v in p.items()}


@weight_rule("bilinear", reverse=_rev_bilinear)
def bilinear(t, paddle_names):
    """bias (out,) -> (1, out)."""
    return [Move(k, (k,), "reshape (1, -1)", v.reshape(1, -1)) if k == "bias" else Move(k, (k,), "copy", v)
            for k, v in t.items()]


# -- recurrent -----------------------------------------------------------------------------------
_RNN_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")
_CELL_KEY = re.compile(r"^(\d+)\.(cell|cell_fw|cell_bw)\.(weight_ih|weight_hh|bias_ih|bias_hh|weight_ho)$")


def _cell(layer: str, reverse: bool, bidirectional: bool) -> str:
    return f"{layer}.{'cell_bw' if reverse else 'cell_fw'}" if bidirectional else f"{layer}.cell"


@weight_rule("rnn", scope="subtree", reverse=lambda p: _rev_rnn(p))
def rnn(t, paddle_names):
    """LSTM/GRU/RNN: torch's flat `weight_ih_l{k}[_reverse]` go to paddle's per-cell tensors
    (`{k}.cell.weight_ih`, or `cell_fw`/`cell_bw`), which paddle's flat keys alias. Gate order is the same.
    `proj_size`: `weight_hr_l{k}` [proj, hidden] becomes the cell's `weight_ho` [hidden, proj]. (Paddle's
    flat key names are shifted when proj_size is set, so the per-cell names are the ones to trust.)"""
    bidirectional = any(k.endswith("_reverse") for k in t)
    moves = []
    for k, v in t.items():
        m = _RNN_KEY.match(k)
        if m is None:
            continue
        kind, layer, rev = m.group(1), m.group(2), bool(m.group(3))
        cell = _cell(layer, rev, bidirectional)
        if kind == "weight_hr":
            moves.append(Move(f"{cell}.weight_ho", (k,), "transpose", transpose2d(v)))
        else:
            moves.append(Move(f"{cell}.{kind}", (k,), "copy", v))
    return moves


def _rev_rnn(p: Torch) -> Torch:
    out = {}
    for k, v in p.items():
        m = _CELL_KEY.match(k)
        if m is None:
            continue
        layer, cell, kind = m.groups()
        suffix = "_reverse" if cell == "cell_bw" else ""
        if kind == "weight_ho":
            out[f"weight_hr_l{layer}{suffix}"] = transpose2d(v)
        else:
            out[f"{kind}_l{layer}{suffix}"] = v
    return out


# -- attention -----------------------------------------------------------------------------------
@weight_rule("mha", scope="subtree", reverse=lambda p: _rev_mha(p),
             paddle_classes=("paddle.nn.MultiHeadAttention",))
def mha(t, paddle_names):
    """torch MultiheadAttention -> paddle.nn.MultiHeadAttention: `in_proj_weight` [3E, E] splits into
    q/k/v along dim 0, each transposed to paddle's [in, out]; with kdim/vdim torch keeps
    `q/k/v_proj_weight` [E, kdim] (transposed each); `out_proj` is a Linear (transposed)."""
    moves = []
    if "in_proj_weight" in t:
        for i, (name, w) in enumerate(zip("qkv", np.split(t["in_proj_weight"], 3, axis=0))):
            moves.append(Move(f"{name}_proj.weight", ("in_proj_weight",), f"split {i}/3 + transpose",
                              transpose2d(w)))
    for name in "qkv":
        if f"{name}_proj_weight" in t:
            moves.append(Move(f"{name}_proj.weight", (f"{name}_proj_weight",), "transpose",
                              transpose2d(t[f"{name}_proj_weight"])))
    if "in_proj_bias" in t:
        for i, (name, b) in enumerate(zip("qkv", np.split(t["in_proj_bias"], 3))):
            moves.append(Move(f"{name}_proj.bias", ("in_proj_bias",), f"split {i}/3", b))
    for k in ("out_proj.weight", "out_proj.bias"):
        if k in t:
            moves.append(Move(k, (k,), "transpose" if k.endswith("weight") else "copy",
                              transpose2d(t[k]) if k.endswith("weight") else t[k]))
    return moves


def _rev_mha(p: Torch) -> Torch:
    ws = [p[f"{n}_proj.weight"].T for n in "qkv"]
    out: Torch = {}
    if all(w.shape == ws[0].shape for w in ws):
        out["in_proj_weight"] = np.ascontiguousarray(np.concatenate(ws, axis=0))
    else:
        out.update({f"{n}_proj_weight": np.ascontiguousarray(w) for n, w in zip("qkv", ws)})
    if "q_proj.bias" in p:
        out["in_proj_bias"] = np.concatenate([p[f"{n}_proj.bias"] for n in "qkv"])
    out["out_proj.weight"] = np.ascontiguousarray(p["out_proj.weight"].T)
    if "out_proj.bias" in p:
        out["out_proj.bias"] = p["out_proj.bias"]
    return out


def _rev_compat_mha(p: Torch) -> Torch:
    out = dict(p)
    if "q_proj_bias" in out:
        out["in_proj_bias"] = np.concatenate([out.pop(f"{n}_proj_bias") for n in "qkv"])
    return out


@weight_rule("compat_mha", scope="subtree", reverse=_rev_compat_mha)
def compat_mha(t, paddle_names):
    """torch MultiheadAttention -> paddle.compat.nn.MultiheadAttention: torch names and layout, except
    that with kdim/vdim paddle keeps three biases where torch keeps one `in_proj_bias`."""
    moves = []
    for k, v in t.items():
        if k == "in_proj_bias" and "q_proj_bias" in paddle_names:
            moves += [Move(f"{n}_proj_bias", (k,), f"split {i}/3", b) for i, (n, b) in enumerate(zip("qkv", np.split(v, 3)))]
        else:
            moves.append(Move(k, (k,), "copy", v))
    return moves


# -- containers whose children are named differently ------------------------------------------------
@weight_rule("transformer_decoder_layer", reverse=dict, children={"cross_attn": "multihead_attn"},
             paddle_classes=("paddle.nn.TransformerDecoderLayer",))
def transformer_decoder_layer(t, paddle_names):
    """torch names the cross-attention `multihead_attn`, paddle `cross_attn`; the rest pairs by name and
    each child moves with its own rule."""
    return copy_all(t, paddle_names)
