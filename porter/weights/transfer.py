"""Strict weight transfer: torch tensors into a paddle layer, paired by module path, every tensor accounted for.

The plan walks the paddle layer's sublayers; for each, the weight rule of its type (porter.weights.rules,
selected through the mapping rows' `weights` field) turns the torch tensors at the same path into paddle
tensors. Strict means one error listing every paddle tensor left unfilled, every torch tensor left
unused (beyond the documented drops) and every shape mismatch; nothing is loaded unless all pair up.
Tensors shared between layers (tied weights, paddle's RNN alias keys) are moved once.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

import numpy as np

from porter.weights.rules import DEFAULT, DROPPED, WEIGHT_RULES, PaddleTensors, WeightRule


class WeightTransferError(ValueError):
    """The torch tensors and the paddle layer do not pair up; the message lists every problem."""


@dataclass(frozen=True)
class Entry:
    paddle_key: str
    torch_keys: tuple[str, ...]
    transform: str
    torch_shape: tuple[int, ...]
    paddle_shape: tuple[int, ...]


@dataclass
class Ledger:
    entries: list[Entry] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)     # torch keys dropped by design
    aliases: dict[str, str] = field(default_factory=dict)  # paddle key -> the key it shares storage with
    problems: list[str] = field(default_factory=list)      # only with strict=False

    def to_json(self) -> dict:
        return {
            "entries": [{"paddle": e.paddle_key, "torch": list(e.torch_keys), "transform": e.transform,
                         "torch_shape": list(e.torch_shape), "paddle_shape": list(e.paddle_shape)}
                        for e in self.entries],
            "dropped": self.dropped,
            "aliases": self.aliases,
            "problems": self.problems,
        }

    def to_table(self) -> str:
        rows = [("paddle", "torch", "transform", "shape")]
        for e in self.entries:
            shape = str(e.paddle_shape) if e.torch_shape == e.paddle_shape else f"{e.torch_shape} -> {e.paddle_shape}"
            rows.append((e.paddle_key, ", ".join(e.torch_keys), e.transform, shape))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        if self.dropped:
            lines.append(f"dropped by design: {', '.join(self.dropped)}")
        return "\n".join(lines)

    def __len__(self) -> int:
        return len(self.entries)


@functools.lru_cache(maxsize=1)
def _rules_by_paddle_class() -> dict[type, WeightRule]:
    from porter.mappings import default_table, resolve_paddle

    out = {}
    for rule in WEIGHT_RULES.values():
        for name in rule.paddle_classes:
            out[resolve_paddle(name)] = rule
    for row in default_table().rows.values():
        if row.weights and row.paddle:
            out[resolve_paddle(row.paddle)] = WEIGHT_RULES[row.weights]
    return out


def rule_for(layer: Any) -> WeightRule:
    rules = _rules_by_paddle_class()
    for cls in type(layer).__mro__:
        if cls in rules:
            return rules[cls]
    return DEFAULT


def _walk(paddle_layer: Any, prefix: str = "", torch_prefix: str = ""):
    """(paddle prefix, torch prefix, layer, rule) for every layer; no descent below a subtree rule.
    A rule's `children` renames child paths between the two (paddle `cross_attn` is torch's
    `multihead_attn`)."""
    rule = rule_for(paddle_layer)
    yield prefix, torch_prefix, paddle_layer, rule
    if rule.scope == "subtree":
        return
    for name, child in paddle_layer._sub_layers.items():   # not named_children(): it hides tied layers
        if child is None:
            continue
        t_name = rule.children.get(name, name)
        yield from _walk(child, f"{prefix}.{name}" if prefix else name,
                         f"{torch_prefix}.{t_name}" if torch_prefix else t_name)


def to_numpy_state(source: Any) -> dict[str, np.ndarray]:
    """A torch module, a state_dict (torch tensors or arrays) or a checkpoint path -> {key: ndarray}."""
    from porter.weights.io import open_checkpoint

    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        return open_checkpoint(source)
    if hasattr(source, "state_dict") and callable(source.state_dict):
        source = source.state_dict()
    if not isinstance(source, Mapping):
        raise TypeError(f"expected a torch module, a state_dict or a checkpoint path, got {type(source).__name__}")
    return {k: _as_numpy(v) for k, v in source.items()}


def _as_numpy(v: Any) -> np.ndarray:
    if isinstance(v, np.ndarray):
        return v
    if hasattr(v, "detach"):          # torch tensor
        return v.detach().cpu().numpy()
    if hasattr(v, "numpy"):           # paddle tensor
        return v.numpy()
    return np.asarray(v)


def _local(state: Mapping[str, Any], prefix: str, subtree: bool) -> dict[str, Any]:
    """The tensors at `prefix` (direct, or the whole subtree), keyed by local name. Only the matching
    keys are read, so a lazy checkpoint reader loads one layer at a time."""
    p = prefix + "." if prefix else ""
    return {k[len(p):]: state[k] for k in state.keys()
            if k.startswith(p) and (subtree or "." not in k[len(p):])}


def _shape(state: Mapping[str, Any], key: str) -> tuple[int, ...]:
    return tuple(state.shape(key)) if hasattr(state, "shape") else tuple(state[key].shape)


class MoveStream:
    """Iterate (paddle key, value) for every paddle tensor as the plan fills it. After the iteration
    `ledger` holds what went where; a strict stream raises WeightTransferError at the end, listing every
    paddle tensor unfilled, torch tensor unused and shape mismatch."""

    def __init__(self, torch_state: Mapping[str, Any], paddle_layer: Any, strict: bool = True):
        self.state, self.layer, self.strict = torch_state, paddle_layer, strict
        self.ledger = Ledger()

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        torch_state, ledger = self.state, self.ledger
        paddle_sd = self.layer.state_dict()
        first_key: dict[int, str] = {}
        for k, t in paddle_sd.items():
            first_key.setdefault(id(t), k)
            if first_key[id(t)] != k:
                ledger.aliases[k] = first_key[id(t)]
        filled: set[int] = set()
        used: set[str] = set()
        problems = ledger.problems
        for prefix, t_prefix, layer, rule in _walk(self.layer):
            subtree = rule.scope == "subtree"
            local = _local(torch_state, t_prefix, subtree)
            paddle_shapes = {k: tuple(t.shape) for k, t in _local(paddle_sd, prefix, subtree).items()}
            if not local and not paddle_shapes:
                continue
            for move in rule.forward(local, PaddleTensors(paddle_shapes, layer)):
                sources = tuple(f"{t_prefix}.{s}" if t_prefix else s for s in move.sources)
                if move.paddle is None:       # consumed by design, nothing to store (the rule says why)
                    used.update(sources)
                    ledger.dropped.extend(sources)
                    continue
                key = f"{prefix}.{move.paddle}" if prefix else move.paddle
                if key not in paddle_sd:
                    continue          # its sources show up as unused
                tensor = paddle_sd[key]
                target_shape = tuple(tensor.shape)
                if tuple(move.value.shape) != target_shape:
                    problems.append(f"shape mismatch: {key} is {target_shape} in paddle, "
                                    f"{', '.join(sources)} gives {tuple(move.value.shape)} ({move.transform})")
                    used.update(sources)
                    continue
                used.update(sources)
                if id(tensor) in filled:
                    continue          # tied: moved once
                filled.add(id(tensor))
                ledger.entries.append(Entry(key, sources, move.transform,
                                            _shape(torch_state, sources[0]) if sources else (), target_shape))
                yield key, move.value
        for k in torch_state.keys():
            if k not in used and k.rsplit(".", 1)[-1] in DROPPED:
                ledger.dropped.append(k)
        unfilled = [k for k, t in paddle_sd.items() if id(t) not in filled and k not in ledger.aliases]
        unused = [k for k in torch_state.keys() if k not in used and k not in ledger.dropped]
        if unfilled:
            problems.append(f"{len(unfilled)} paddle tensor(s) not filled: {', '.join(unfilled)}")
        if unused:
            problems.append(f"{len(unused)} torch tensor(s) not used: {', '.join(unused)}")
        if problems and self.strict:
            raise WeightTransferError("weights do not pair up:\n  " + "\n  ".join(problems))


def iter_moves(torch_state: Mapping[str, Any], paddle_layer: Any, *, strict: bool = True) -> MoveStream:
    return MoveStream(torch_state, paddle_layer, strict)


def plan(torch_state: Mapping[str, np.ndarray], paddle_layer: Any, *, strict: bool = True
         ) -> tuple[dict[str, np.ndarray], Ledger]:
    """Decide where every tensor goes. Strict: raises WeightTransferError listing every problem;
    otherwise the problems are kept in `ledger.problems` and only what pairs is planned."""
    stream = iter_moves(torch_state, paddle_layer, strict=strict)
    values = dict(stream)
    return values, stream.ledger


def transfer_weights(source: Any, paddle_layer: Any, *, strict: bool = True) -> Ledger:
    """Load torch weights into `paddle_layer`, strictly: every tensor accounted for, or nothing loaded.

    `source` is a torch `nn.Module`, a torch state_dict, or a checkpoint path. With strict=False the
    tensors that pair are loaded and the rest is listed in `ledger.problems`.
    """
    values, ledger = plan(to_numpy_state(source), paddle_layer, strict=strict)
    apply(values, paddle_layer)
    return ledger


def apply(values: Mapping[str, np.ndarray], paddle_layer: Any) -> None:
    sd = paddle_layer.state_dict()
    for key, value in values.items():
        tensor = sd[key]
        dtype = str(tensor.dtype).replace("paddle.", "")
        tensor.set_value(value.astype(_numpy_dtype(dtype), copy=False))


def _numpy_dtype(paddle_dtype: str):
    return {"float32": np.float32, "float64": np.float64, "float16": np.float16, "int64": np.int64,
            "int32": np.int32, "bool": np.bool_, "uint8": np.uint8, "int8": np.int8}.get(paddle_dtype, None)


def reverse_weights(paddle_layer: Any) -> dict[str, np.ndarray]:
    """paddle layer -> torch state_dict (numpy): every rule's inverse (paddle -> torch weights)."""
    sd = paddle_layer.state_dict()
    out: dict[str, np.ndarray] = {}
    seen: set[int] = set()
    for prefix, t_prefix, layer, rule in _walk(paddle_layer):
        own = {}
        subtree = rule.scope == "subtree"
        for name, t in _local(sd, prefix, subtree).items():
            if id(t) in seen and not subtree:      # a subtree rule sees every alias of its tensors
                continue
            if rule.scope != "subtree" and name not in layer._parameters and name not in layer._buffers:
                continue
            seen.add(id(t))
            own[name] = t.numpy()
        if own:
            for k, v in rule.reverse(PaddleTensors(own, layer)).items():
                out[f"{t_prefix}.{k}" if t_prefix else k] = v
    return out


def full_state(values: Mapping[str, np.ndarray], paddle_layer: Any) -> dict[str, np.ndarray]:
    """Every key of the paddle state_dict (aliases included, e.g. RNN cell keys) with its planned value,
    so a strict `load_state_dict` of the written file finds nothing missing."""
    by_id = {id(t): values[k] for k, t in paddle_layer.state_dict().items() if k in values}
    return {k: by_id[id(t)] for k, t in paddle_layer.state_dict().items() if id(t) in by_id}


def dumps(ledger: Ledger) -> str:
    return json.dumps(ledger.to_json(), indent=2)


