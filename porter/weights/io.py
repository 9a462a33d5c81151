"""Reading torch checkpoints and writing paddle weights, without unpickling untrusted data.

- `.pt/.pth/.bin`: `torch.load(weights_only=True)`; a pickle that needs more is refused unless the
  caller passes `trust=True` for a file they trust.
- `.safetensors`: read with safetensors' numpy backend; sharded `*.index.json` follow their weight_map.
- Checkpoints nested as `{"state_dict": ...}` / `{"model": ...}` and `module.` prefixes (DataParallel)
  are unwrapped.
Writers: `.pdparams` (paddle.save of numpy arrays) or `.safetensors`, both written atomically.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from porter.fs import atomic_write


class CheckpointError(ValueError):
    pass


NEST_KEYS = ("state_dict", "model", "model_state_dict", "module", "net")


def _unwrap(obj: Any) -> Mapping[str, Any]:
    while isinstance(obj, Mapping):
        tensors = {k: v for k, v in obj.items() if hasattr(v, "shape")}
        if tensors and len(tensors) >= len(obj) / 2:
            obj = tensors
            break
        inner = next((obj[k] for k in NEST_KEYS if k in obj and isinstance(obj[k], Mapping)), None)
        if inner is None:
            raise CheckpointError("no state_dict found in the checkpoint (looked under " + ", ".join(NEST_KEYS) + ")")
        obj = inner
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"checkpoint holds a {type(obj).__name__}, not a state_dict")
    keys = list(obj)
    if keys and all(k.startswith("module.") for k in keys):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def read_checkpoint(path: str | os.PathLike, *, trust: bool = False) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    name = path.name
    if name.endswith(".index.json"):
        index = json.loads(path.read_text())
        out: dict[str, np.ndarray] = {}
        for shard in sorted(set(index["weight_map"].values())):
            out.update(read_checkpoint(path.parent / shard, trust=trust))
        return out
    if name.endswith(".safetensors"):
        from safetensors.numpy import load_file
        return dict(_unwrap(load_file(str(path))))
    import torch
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=not trust)
    except Exception as e:  # torch raises UnpicklingError (and others) for pickles needing more
        if not trust and "weights_only" in str(e):
            raise CheckpointError(
                f"{path}: this pickle needs more than weights_only=True allows; if you trust the file, "
                f"pass --trust-checkpoint (trust=True)") from None
        raise CheckpointError(f"{path}: cannot read: {e}") from None
    state = _unwrap(obj)
    return {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)) for k, v in state.items()}


def write_paddle_weights(state: Mapping[str, np.ndarray], path: str | os.PathLike) -> None:
    path = Path(path)
    state = {k: np.ascontiguousarray(v) for k, v in state.items()}
    if path.suffix == ".safetensors":
        from safetensors.numpy import save_file
        atomic_write(path, lambda tmp: save_file(dict(state), tmp))
    elif path.suffix == ".pdparams":
        import paddle
        atomic_write(path, lambda tmp: paddle.save(dict(state), tmp))
    else:
        raise CheckpointError(f"{path}: output must end in .pdparams or .safetensors")
