"""Patterns real model code uses, converted and executed on both frameworks."""
from __future__ import annotations

import numpy as np
import pytest

from porter import convert_source, transfer_weights

pytestmark = pytest.mark.parity

VALUES = '''
import functools
import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, c, norm_layer=None, act_layer=nn.ReLU):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self.conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn = norm_layer(c, eps=1e-3, momentum=0.01)
        self.act = act_layer(inplace=True)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


def build(c=4):
    norm = functools.partial(nn.BatchNorm2d, eps=1e-2, momentum=0.03)
    return nn.Sequential(Block(c), Block(c, norm_layer=norm), nn.Flatten(1), nn.Linear(c * 16, 3))
'''


def _run_both(src: str, factory: str, x: np.ndarray):
    import paddle
    import torch
    conv = convert_source(src)
    assert conv.unconverted == [], conv.unconverted
    t_ns, p_ns = {}, {}
    exec(src, t_ns)
    exec(conv.code, p_ns)
    t, p = t_ns[factory](), p_ns[factory]()
    with torch.no_grad():
        for name, buf in t.named_buffers():
            if name.endswith("running_var"):
                buf.uniform_(0.5, 2.0)
            elif name.endswith("running_mean"):
                buf.normal_()
    transfer_weights(t, p)
    t.eval()
    p.eval()
    with torch.no_grad():
        out_t = t(torch.from_numpy(x)).numpy()
    return out_t, p(paddle.to_tensor(x)).numpy(), conv.code


def test_class_values_and_partials_keep_their_argument_conversion():
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 4)).astype(np.float32)
    t, p, code = _run_both(VALUES, "build", x)
    # a class passed as a value converts at run time (momentum stays torch's, converted once there)
    assert "norm_layer = _porter_layer(nn.BatchNorm2D, 'torch.nn.BatchNorm2d')" in code
    assert "functools.partial(_porter_layer(nn.BatchNorm2D, 'torch.nn.BatchNorm2d'), eps=1e-2, momentum=0.03)" in code
    np.testing.assert_allclose(p, t, rtol=1e-5, atol=1e-5)


def test_converting_torchvision_itself_keeps_its_own_imports(tmp_path):
    """torchvision's APIs are mapped for the model code that imports them; converting torchvision's own
    source (a wheel root or the package folder) must keep its `from torchvision... import`."""
    from porter.convert.paths import convert_path
    for src in (tmp_path / "wheel", tmp_path / "wheel" / "torchvision"):
        (tmp_path / "wheel" / "torchvision").mkdir(parents=True, exist_ok=True)
        (tmp_path / "wheel" / "torchvision" / "__init__.py").write_text(
            "from torchvision.ops.misc import FrozenBatchNorm2d\nimport torch\n", encoding="utf-8")
        out = tmp_path / f"out_{src.name}"
        convert_path(src, out, force=True)
        init = out / "torchvision" / "__init__.py" if src.name == "wheel" else out / "__init__.py"
        code = init.read_text(encoding="utf-8")
        assert "from torchvision.ops.misc import FrozenBatchNorm2d" in code and "import paddle" in code
    user = tmp_path / "user.py"
    user.write_text("from torchvision.ops.misc import FrozenBatchNorm2d\nm = FrozenBatchNorm2d(3)\n", encoding="utf-8")
    assert "BatchNorm2D" in convert_path(user).code
