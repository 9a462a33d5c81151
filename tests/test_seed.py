"""The seed document's PyTorch MLP (shared/seed, verbatim in samples/seed_mlp/model.py) converts to paddle
code that has none of the seed's four Paddle bugs (REFERENCE.md §8), trains, and matches torch before and
after one SGD step with the same weights."""
from __future__ import annotations

import ast
import builtins
import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

from porter import convert_source, transfer_weights

SEED = Path(__file__).resolve().parent.parent / "samples" / "seed_mlp" / "model.py"


@pytest.fixture(scope="module")
def converted() -> str:
    conv = convert_source(SEED.read_text(encoding="utf-8"))
    assert conv.unconverted == []
    assert conv.found == conv.converted == 13       # 12 calls + net.parameters()
    return conv.code


def test_seed_output_is_clean_paddle(converted):
    ast.parse(converted)
    assert not re.search(r"\btorch\b", converted)
    assert "# 定义神经网络" in converted and "# 训练神经网络" in converted      # comments kept
    assert "log_softmax(x, axis=1)" in converted                              # bug 1: dim= raises
    assert "paddle.io.data" not in converted                                  # bug 2: no such module
    assert "minimize" not in converted and "optimizer.clear_grad()" in converted and "optimizer.step()" in converted  # bug 3
    assert "loss.item()" in converted and ".numpy()" not in converted         # bug 4
    assert "optim.SGD(parameters=net.parameters(), learning_rate=0.01)" in converted


def _split_at_net(code: str):
    tree = ast.parse(code)
    k = next(i for i, s in enumerate(tree.body)
             if isinstance(s, ast.Assign) and getattr(s.targets[0], "id", None) == "net")
    head = ast.Module(body=tree.body[:k + 1], type_ignores=[])
    tail = ast.Module(body=tree.body[k + 1:], type_ignores=[])
    return compile(head, "<head>", "exec"), compile(tail, "<tail>", "exec")


def _batch(seed=0, n=16):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, n).astype(np.int64)


@pytest.mark.parity
def test_seed_matches_torch_before_and_after_one_sgd_step(converted):
    import paddle
    import torch

    x, y = _batch()
    t_head, t_tail = _split_at_net(SEED.read_text(encoding="utf-8"))
    p_head, p_tail = _split_at_net(converted)
    t_ns, p_ns = {}, {}
    exec(t_head, t_ns)
    exec(p_head, p_ns)
    ledger = transfer_weights(t_ns["net"], p_ns["net"])
    assert [e.transform for e in ledger.entries] == ["transpose", "copy", "transpose", "copy"]

    def forward():
        t_ns["net"].eval()
        p_ns["net"].eval()
        with torch.no_grad():
            t = t_ns["net"](torch.from_numpy(x)).numpy()
        p = p_ns["net"](paddle.to_tensor(x)).numpy()
        return t, p

    t, p = forward()
    np.testing.assert_allclose(p, t, rtol=1e-5, atol=1e-6)

    # one epoch of one batch through the programs' own training loops: exactly one SGD step
    one = lambda *a: builtins.range(1)  # noqa: E731
    t_ns.update(range=one, trainloader=[(torch.from_numpy(x), torch.from_numpy(y))])
    p_ns.update(range=one, trainloader=[(paddle.to_tensor(x), paddle.to_tensor(y))])
    with contextlib.redirect_stdout(io.StringIO()) as t_out:
        exec(t_tail, t_ns)
    with contextlib.redirect_stdout(io.StringIO()) as p_out:
        exec(p_tail, p_ns)
    t_loss = float(t_out.getvalue().split("Loss: ")[1])
    p_loss = float(p_out.getvalue().split("Loss: ")[1])
    assert abs(t_loss - p_loss) < 1e-5
    t, p = forward()
    np.testing.assert_allclose(p, t, rtol=1e-5, atol=1e-6)
    for (name, tp), pp in zip(t_ns["net"].named_parameters(), p_ns["net"].parameters()):
        tv = tp.detach().numpy()
        np.testing.assert_allclose(pp.numpy(), tv.T if tv.ndim == 2 else tv, rtol=1e-5, atol=1e-7, err_msg=name)


@pytest.mark.parity
def test_converted_seed_trains_on_a_small_loader(converted):
    import paddle

    x, y = _batch(1, 64)
    x[np.arange(64), 0, 0, y] += 3.0          # a learnable signal
    ds = paddle.io.TensorDataset([paddle.to_tensor(x), paddle.to_tensor(y)])
    ns = {"trainloader": paddle.io.DataLoader(ds, batch_size=16, shuffle=True)}
    paddle.seed(0)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(converted, "seed_paddle.py", "exec"), ns)
    losses = [float(v) for v in re.findall(r"Loss: ([0-9.eE+-]+)", out.getvalue())]
    assert len(losses) == 10 and all(np.isfinite(losses))
    assert losses[-1] < losses[0]
