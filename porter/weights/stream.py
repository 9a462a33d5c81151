"""Checkpoint conversion at scale: tensors stream from the safetensors file one at a time, the paddle model
is built without allocating its parameters (`paddle.LazyGuard`), and each converted tensor is written to
the output (`.safetensors` at its offset, `.pdparams` as the next pickle item) straight away. Peak memory
stays near the largest tensor, not the model.

Strictness is unchanged: the output is written to a temporary file and renamed into place only when every
tensor paired up (`porter.fs.atomic_write`), so a failed conversion leaves nothing behind.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from porter.fs import atomic_write
from porter.weights.io import CheckpointError

# safetensors dtype codes <-> numpy (BF16 is read as raw uint16 and widened to float32 on access)
_ST_TO_NP = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
             "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_, "BF16": np.uint16}
_NP_TO_ST = {np.dtype(np.float64): "F64", np.dtype(np.float32): "F32", np.dtype(np.float16): "F16",
             np.dtype(np.int64): "I64", np.dtype(np.int32): "I32", np.dtype(np.int16): "I16",
             np.dtype(np.int8): "I8", np.dtype(np.uint8): "U8", np.dtype(np.bool_): "BOOL"}


class SafetensorsReader(Mapping[str, np.ndarray]):
    """A read-only mapping over one or more safetensors files; each access reads one tensor from disk."""

    def __init__(self, paths: list[Path]):
        self._where: dict[str, tuple[Path, str, list[int], int, int]] = {}
        for path in paths:
            with open(path, "rb") as f:
                (n,) = struct.unpack("<Q", f.read(8))
                try:
                    header = json.loads(f.read(n))
                except ValueError:
                    raise CheckpointError(f"{path}: not a safetensors file (bad header)") from None
            base = 8 + n
            for key, info in header.items():
                if key == "__metadata__":
                    continue
                if info["dtype"] not in _ST_TO_NP:
                    raise CheckpointError(f"{path}: tensor {key} has unsupported dtype {info['dtype']}")
                b, e = info["data_offsets"]
                self._where[key] = (path, info["dtype"], info["shape"], base + b, e - b)
        keys = list(self._where)
        if keys and all(k.startswith("module.") for k in keys):
            self._where = {k[len("module."):]: v for k, v in self._where.items()}

    @classmethod
    def open(cls, path: str | Path) -> "SafetensorsReader":
        path = Path(path)
        if path.name.endswith(".index.json"):
            shards = sorted(set(json.loads(path.read_text())["weight_map"].values()))
            return cls([path.parent / s for s in shards])
        return cls([path])

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(self._where[key][2])

    def __getitem__(self, key: str) -> np.ndarray:
        """A read-only memory map of the tensor's bytes (no copy; the mapping goes when the array does)."""
        path, code, shape, offset, size = self._where[key]
        dtype = np.dtype(_ST_TO_NP[code])
        if size == 0:
            raw = np.zeros(0, dtype=dtype)
        else:
            raw = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=(size // dtype.itemsize,))
        if code == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        return raw.reshape(shape)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


def build_lazily(factory, kwargs: dict) -> Any:
    """Build the paddle model without allocating parameters where paddle allows (RNN layers do not)."""
    import paddle
    try:
        with paddle.LazyGuard():
            return factory(**kwargs)
    except Exception:
        return factory(**kwargs)


def _np_dtype(tensor) -> np.dtype:
    name = str(tensor.dtype).replace("paddle.", "")
    return np.dtype({"bfloat16": "float32"}.get(name, name))


def stream_to_safetensors(state: Mapping[str, np.ndarray], paddle_layer: Any, out: str | Path):
    """Plan and write in one pass; returns the ledger. Raises WeightTransferError (nothing written)."""
    from porter.weights.transfer import iter_moves

    sd = paddle_layer.state_dict()
    header: dict[str, dict] = {}
    offset = 0
    for key, t in sd.items():                       # every key, aliases included: a strict load finds all
        dtype = _np_dtype(t)
        size = int(np.prod(t.shape, dtype=np.int64)) * dtype.itemsize
        header[key] = {"dtype": _NP_TO_ST[dtype], "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    keys_of: dict[int, list[str]] = {}
    for key, t in sd.items():
        keys_of.setdefault(id(t), []).append(key)

    result = {}

    def write(tmp: str) -> None:
        with open(tmp, "r+b" if Path(tmp).exists() else "wb") as f:
            f.write(struct.pack("<Q", len(blob)))
            f.write(blob)
            base = 8 + len(blob)
            f.truncate(base + offset)
            moves = iter_moves(state, paddle_layer)
            for key, value in moves:
                arr = np.ascontiguousarray(value.astype(_np_dtype(sd[key]), copy=False))
                for k in keys_of[id(sd[key])]:
                    f.seek(base + header[k]["data_offsets"][0])
                    f.write(memoryview(arr).cast("B"))
            result["ledger"] = moves.ledger            # raises before this line if anything is unpaired

    atomic_write(out, write)
    return result["ledger"]


def stream_to_pdparams(state: Mapping[str, np.ndarray], paddle_layer: Any, out: str | Path):
    """The same one-pass conversion into a `.pdparams` file (what `paddle.load` reads: a pickle of
    {name: ndarray}), written item by item so only one tensor is in memory at a time. Aliased keys
    (RNN cells) get their own copy, as paddle.save would write them."""
    import pickle

    from porter.weights.transfer import iter_moves

    sd = paddle_layer.state_dict()
    keys_of: dict[int, list[str]] = {}
    for key, t in sd.items():
        keys_of.setdefault(id(t), []).append(key)
    result = {}

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            pickler = pickle._Pickler(f, protocol=3)       # no framing (4+): items can be written one by one
            f.write(pickle.PROTO + b"\x03" + pickle.EMPTY_DICT)
            moves = iter_moves(state, paddle_layer)
            for key, value in moves:
                arr = np.ascontiguousarray(value.astype(_np_dtype(sd[key]), copy=False))
                for k in keys_of[id(sd[key])]:
                    f.write(pickle.MARK)
                    pickler.save(k)
                    pickler.save(arr)
                    f.write(pickle.SETITEMS)
                    pickler.memo.clear()
            f.write(pickle.STOP)
            result["ledger"] = moves.ledger            # raises before this line if anything is unpaired

    atomic_write(out, write)
    return result["ledger"]
