"""A small package converts whole and the converted package builds, loads torch weights and matches."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from porter import convert_path, transfer_weights

PKG = Path(__file__).resolve().parent.parent / "samples" / "tiny_pkg"


def _import_fresh(root: Path, name: str):
    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[mod]
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(root))


@pytest.mark.parity
def test_tiny_package_builds_and_matches(tmp_path):
    import paddle
    import torch

    report = convert_path(PKG, tmp_path / "out")
    assert report.unconverted == [] and not report.errors
    t_pkg = _import_fresh(PKG, "tinynet")
    t_model = t_pkg.build().eval()
    p_pkg = _import_fresh(tmp_path / "out", "tinynet")
    assert "paddle" in p_pkg.blocks.__dict__ and "torch" not in p_pkg.blocks.__dict__
    p_model = p_pkg.build()
    p_model.eval()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for name, buf in t_model.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(torch.from_numpy(rng.standard_normal(buf.shape).astype(np.float32)))
            elif name.endswith("running_var"):
                buf.copy_(torch.from_numpy((rng.random(buf.shape) + 0.5).astype(np.float32)))
    ledger = transfer_weights(t_model, p_model)
    assert len(ledger.dropped) == 3                                  # num_batches_tracked x3
    x = rng.standard_normal((2, 3, 16, 16)).astype(np.float32)
    with torch.no_grad():
        t = t_model(torch.from_numpy(x)).numpy()
    p = p_model(paddle.to_tensor(x)).numpy()
    np.testing.assert_allclose(p, t, rtol=1e-5, atol=1e-5)
    for mod in [m for m in sys.modules if m == "tinynet" or m.startswith("tinynet.")]:
        del sys.modules[mod]
