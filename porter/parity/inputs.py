"""Model inputs for a check: `--input 2,3,224,224`, `--input 4,128:int64:0-30000`, or an `.npz` file.

The same numpy arrays go to both frameworks. Values are drawn from a seeded generator: standard normal
for floats unless a range is given, uniform integers in [lo, hi) for integer dtypes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_RANGE = re.compile(r"^(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)-(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)$")
FLOATS = {"float32", "float64", "float16"}
INTS = {"int64", "int32", "int8", "uint8", "int16"}


class InputSpecError(ValueError):
    pass


@dataclass(frozen=True)
class InputSpec:
    shape: tuple[int, ...]
    dtype: str = "float32"
    low: float | None = None
    high: float | None = None

    @classmethod
    def parse(cls, text: str) -> "InputSpec":
        parts = text.split(":")
        try:
            shape = tuple(int(s) for s in parts[0].split(",") if s.strip())
        except ValueError:
            raise InputSpecError(f"{text!r}: shape must be comma-separated integers, e.g. 2,3,224,224") from None
        if not shape or any(s <= 0 for s in shape):
            raise InputSpecError(f"{text!r}: shape must have positive sizes")
        dtype = parts[1] if len(parts) > 1 and parts[1] else "float32"
        if dtype not in FLOATS | INTS | {"bool"}:
            raise InputSpecError(f"{text!r}: unknown dtype {dtype!r}")
        low = high = None
        if len(parts) > 2:
            m = _RANGE.match(parts[2])
            if m is None:
                raise InputSpecError(f"{text!r}: range must be LO-HI, e.g. 0-30000 or -1-1")
            low, high = float(m.group(1)), float(m.group(2))
        elif dtype in INTS:
            raise InputSpecError(f"{text!r}: integer inputs need a range, e.g. {parts[0]}:{dtype}:0-1000")
        if len(parts) > 3:
            raise InputSpecError(f"{text!r}: expected SHAPE[:DTYPE[:LO-HI]]")
        return cls(shape, dtype, low, high)

    def make(self, rng: np.random.Generator, batch: int | None = None) -> np.ndarray:
        shape = (batch, *self.shape[1:]) if batch is not None else self.shape
        if self.dtype in INTS:
            return rng.integers(int(self.low), int(self.high), shape).astype(self.dtype)
        if self.dtype == "bool":
            return rng.random(shape) > 0.5
        if self.low is not None:
            return rng.uniform(self.low, self.high, shape).astype(self.dtype)
        return rng.standard_normal(shape).astype(self.dtype)


def make_inputs(specs: list[InputSpec], seed: int = 0, batch: int | None = None) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [s.make(rng, batch) for s in specs]


def load_npz(path: str) -> list[np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        keys = sorted(data.files, key=lambda k: (len(k), k))   # arr_0, arr_1, ... in order
        return [data[k] for k in keys]
