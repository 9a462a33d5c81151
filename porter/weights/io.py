"""Reading torch checkpoints and writing paddle weights, without unpickling untrusted data.

- `.pt/.pth/.bin`: `torch.load(weights_only=True)`; a pickle that needs more is refused unless the
  caller passes `trust=True` for a file they trust.
- `.safetensors`: read lazily (porter.weights.stream); sharded `*.index.json` follow their weight_map.
- Checkpoints nested as `{"state_dict": ...}` / `{"model": ...}` and `module.` prefixes (DataParallel)
  are unwrapped.
Writers: `.pdparams` (paddle.save of numpy arrays) or `.safetensors`, both written atomically.
"""
from __future__ import annotations

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


def open_checkpoint(path: str | os.PathLike, *, trust: bool = False) -> Mapping[str, np.ndarray]:
    """The checkpoint as a {key: array} mapping. Safetensors (and sharded index files) are read lazily,
    one tensor per access, without importing torch; torch pickles are memory-mapped where possible."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.name.endswith(".index.json") or path.name.endswith(".safetensors"):
        from porter.weights.stream import SafetensorsReader
        return SafetensorsReader.open(path)
    return read_checkpoint(path, trust=trust)


def read_checkpoint(path: str | os.PathLike, *, trust: bool = False) -> dict[str, np.ndarray]:
    """The whole checkpoint as {key: ndarray}. Torch pickles go through torch.load(weights_only=True)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.name.endswith(".index.json") or path.name.endswith(".safetensors"):
        reader = open_checkpoint(path)
        return {k: reader[k] for k in reader}
    import torch
    try:
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=not trust, mmap=True)
        except RuntimeError as e:           # not a zip checkpoint (legacy format): no mmap
            if "mmap" not in str(e):
                raise
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
