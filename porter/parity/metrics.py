"""Element-wise comparison of torch and paddle results (never means): nested outputs are flattened to
named leaves and each leaf gets max abs / max rel error, mismatch ratio and cosine similarity.

Default tolerances (an element passes when |p - t| <= atol + rtol * |t|):

| dtype          | rtol  | atol  | why                                                        |
|----------------|-------|-------|------------------------------------------------------------|
| float32 (CPU)  | 1e-5  | 1e-5  | a correct port differs by ~1e-7 per op (REFERENCE.md §7)   |
| float32 (GPU)  | 1e-3  | 1e-3  | TF32 matmuls and cuDNN algorithm choice                    |
| float64        | 1e-10 | 1e-10 |                                                            |
| float16/bf16   | 1e-2  | 1e-2  |                                                            |
| integer/bool   | 0     | 0     | exact                                                      |

Parameter gradients (porter.parity.check) pass on the relative L2 error ||p - t|| / ||t|| <= 1e-3, with
the element-wise figures reported beside it. Element-wise is the wrong test for gradients: an activation
within rounding of a ReLU kink flips its derivative, so a correct ResNet-50 port shows a few elements
(0.2-0.8%, measured) with O(1) relative differences that move between runs; their L2 share stays below
1e-4, while a mapping bug (a transposed weight, a wrong epsilon) gives 1e-2 or more.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

TOLERANCES = {
    ("float32", "cpu"): (1e-5, 1e-5), ("float32", "gpu"): (1e-3, 1e-3),
    ("float64", "cpu"): (1e-10, 1e-10), ("float64", "gpu"): (1e-10, 1e-10),
    ("float16", "cpu"): (1e-2, 1e-2), ("float16", "gpu"): (1e-2, 1e-2),
    ("bfloat16", "cpu"): (1e-2, 1e-2), ("bfloat16", "gpu"): (1e-2, 1e-2),
}


def tolerance(dtype: str, device: str = "cpu") -> tuple[float, float]:
    return TOLERANCES.get((dtype, device), (0.0, 0.0))


@dataclass
class Comparison:
    name: str
    shape: list[int]
    dtype: str
    max_abs: float
    max_rel: float
    mismatch: float          # share of elements outside tolerance
    cosine: float
    rel_l2: float            # ||p - t|| / ||t||
    rtol: float
    atol: float
    passed: bool
    note: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def to_numpy(v: Any) -> Any:
    if hasattr(v, "detach"):
        return v.detach().cpu().numpy()
    if hasattr(v, "numpy") and hasattr(v, "place"):
        return v.numpy()
    return v


def leaves(v: Any, name: str = "output") -> list[tuple[str, Any]]:
    """Flatten nested tuples/lists/dicts (and HF-style output objects) into (name, array) pairs."""
    if isinstance(v, dict):
        return [x for k, item in v.items() for x in leaves(item, f"{name}[{k!r}]")]
    if isinstance(v, (list, tuple)):
        return [x for i, item in enumerate(v) for x in leaves(item, f"{name}[{i}]")]
    if hasattr(v, "to_tuple") and callable(v.to_tuple):
        return leaves(v.to_tuple(), name)
    arr = to_numpy(v)
    if isinstance(arr, np.ndarray):
        return [(name, arr)]
    if isinstance(arr, (int, float, bool, np.number)):
        return [(name, np.asarray(arr))]
    return []


def compare(name: str, t: np.ndarray, p: np.ndarray, device: str = "cpu",
            rtol: float | None = None, atol: float | None = None) -> Comparison:
    t, p = np.asarray(t), np.asarray(p)
    dtype = str(t.dtype)
    d_rtol, d_atol = tolerance(dtype, device)
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    if t.shape != p.shape:
        return Comparison(name, list(t.shape), dtype, float("inf"), float("inf"), 1.0, float("nan"), float("inf"),
                          rtol, atol, False, f"shape torch {t.shape} vs paddle {p.shape}")
    note = "" if t.dtype == p.dtype else f"dtype torch {t.dtype} vs paddle {p.dtype}"
    if t.size == 0:
        return Comparison(name, list(t.shape), dtype, 0.0, 0.0, 0.0, 1.0, 0.0, rtol, atol, not note, note)
    # float tensors are compared in their own dtype (no float64 copies of large activations); the
    # subtraction of two float32 values is exact to float32 rounding, far below any tolerance used here
    tf = t if t.dtype.kind == "f" and t.dtype.itemsize >= 4 else t.astype(np.float64)
    pf = p.astype(tf.dtype, copy=False)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(tf - pf)
    mag = np.abs(tf)
    if not np.isfinite(diff).all():          # rare: compare non-finite values by identity, the rest as usual
        same = (tf == pf) | (np.isnan(tf) & np.isnan(pf))      # inf == inf, nan where both are nan
        diff = np.where(same, 0, np.where(np.isfinite(diff), diff, np.inf)).astype(tf.dtype)
        finite = np.isfinite(tf) & np.isfinite(pf)
        tf, pf, mag = np.where(finite, tf, 0), np.where(finite, pf, 0), np.where(finite, mag, 0)
    bad = diff > atol + rtol * mag
    max_abs = float(diff.max())
    max_rel = float((diff / np.maximum(mag, 1e-12)).max())
    dot = float(np.einsum("i,i->", tf.ravel(), pf.ravel(), dtype=np.float64))
    nt = float(np.sqrt(np.einsum("i,i->", tf.ravel(), tf.ravel(), dtype=np.float64)))
    np_ = float(np.sqrt(np.einsum("i,i->", pf.ravel(), pf.ravel(), dtype=np.float64)))
    cosine = dot / (nt * np_) if nt > 0 and np_ > 0 else (1.0 if nt == np_ else 0.0)
    dn = float(np.sqrt(np.einsum("i,i->", diff.ravel(), diff.ravel(), dtype=np.float64)))
    rel_l2 = dn / nt if nt > 0 else (0.0 if dn == 0 else float("inf"))
    return Comparison(name, list(t.shape), dtype, max_abs, max_rel, float(bad.mean()), cosine, rel_l2, rtol, atol,
                      bool(not bad.any()) and not note, note)


def compare_outputs(t_out: Any, p_out: Any, device: str = "cpu", rtol=None, atol=None,
                    prefix: str = "output") -> list[Comparison]:
    t_leaves, p_leaves = leaves(t_out, prefix), leaves(p_out, prefix)
    if [n for n, _ in t_leaves] != [n for n, _ in p_leaves]:
        return [Comparison(prefix, [], "", float("inf"), float("inf"), 1.0, float("nan"), float("inf"), 0, 0, False,
                           f"structure differs: torch {[n for n, _ in t_leaves]} vs paddle {[n for n, _ in p_leaves]}")]
    return [compare(n, t, p, device, rtol, atol) for (n, t), (_, p) in zip(t_leaves, p_leaves)]
