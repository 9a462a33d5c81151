"""`porter check` / `check_parity`: passes a faithful port, fails planted bugs and names the layer."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.parity
ROOT = Path(__file__).resolve().parent.parent


def torch_net():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.manual_seed(0)                       # the same weights every run

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.norm = nn.LayerNorm(c)
            self.fc = nn.Linear(c, c)
            self.act = nn.GELU()

        def forward(self, x):
            return x + self.act(self.fc(self.norm(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.bn = nn.BatchNorm2d(8)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.blocks = nn.Sequential(Block(8), Block(8))
            self.head = nn.Linear(8, 5)

        def forward(self, x):
            x = self.pool(F.relu(self.bn(self.conv(x)))).flatten(1)
            return F.log_softmax(self.head(self.blocks(x)), dim=1)

    return Net()


def paddle_net(bug: str | None = None):
    import paddle.nn as nn
    import paddle.nn.functional as F

    class Block(nn.Layer):
        def __init__(self, c, i):
            super().__init__()
            self.norm = nn.LayerNorm(c, epsilon=1e-3 if bug == "eps" and i == 1 else 1e-5)
            self.fc = nn.Linear(c, c)
            self.act = nn.GELU(approximate=bug == "gelu" and i == 0)

        def forward(self, x):
            return x + self.act(self.fc(self.norm(x)))

    class Net(nn.Layer):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2D(3, 8, 3, padding=1)
            self.bn = nn.BatchNorm2D(8, epsilon=1e-2 if bug == "bn_eps" else 1e-5)
            self.pool = nn.AdaptiveAvgPool2D(1)
            self.blocks = nn.Sequential(Block(8, 0), Block(8, 1))
            self.head = nn.Linear(8, 5)

        def forward(self, x):
            x = self.pool(F.relu(self.bn(self.conv(x)))).flatten(1)
            return F.log_softmax(self.head(self.blocks(x)), axis=0 if bug == "axis" else 1)

    return Net()


def _inputs(n=4):
    return [np.random.default_rng(0).standard_normal((n, 3, 8, 8)).astype(np.float32)]


def test_faithful_port_passes():
    from porter import check_parity
    r = check_parity(torch_net(), paddle_net(), _inputs(), second_inputs=_inputs(3))
    assert r.passed, r.to_markdown()
    assert r.first_divergence is None
    assert all(c.max_abs < 1e-5 for c in r.outputs) and r.gradients and all(c.passed for c in r.gradients)
    assert r.weights["perturbed_bn_buffers"] == 2
    assert {l.path for l in r.layers} >= {"conv", "bn", "blocks.0.norm", "blocks.1.act", "(model)"}
    md = r.to_markdown()
    assert md.startswith("## porter check: ✅ PASS") and "torch 2.13" in md
    data = json.loads(json.dumps(r.to_json()))
    assert data["passed"] is True and data["first_divergence"] is None and data["schema"] == "porter.parity/1"


@pytest.mark.parametrize("bug,layer", [("eps", "blocks.1.norm"), ("gelu", "blocks.0.act"),
                                       ("bn_eps", "bn"), ("axis", "")])
def test_planted_bug_fails_and_is_localised(bug, layer):
    from porter import check_parity
    r = check_parity(torch_net(), paddle_net(bug), _inputs())
    assert not r.passed
    assert r.first_divergence is not None and r.first_divergence["layer"] == layer, r.to_markdown()
    if layer:
        assert "test_check.py" in (r.first_divergence["source"] or "")
        assert r.first_divergence["row"] is not None
    else:
        assert r.first_divergence["blame"] == "the layer's forward code"
    assert "### First divergence" in r.to_markdown()


def test_cli_check_converts_on_the_fly(tmp_path, capsys, monkeypatch):
    from porter.cli import main
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code = main(["check", str(ROOT / "samples/tiny_pkg/tinynet/model.py") + ":build", "--input", "2,3,16,16",
                 "--report", str(tmp_path / "p.md"), "--json", str(tmp_path / "p.json")])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["passed"] is True and data["first_divergence"] is None and data["second_batch"]
    assert (tmp_path / "p.md").read_text().startswith("## porter check: ✅ PASS")
    assert "porter check" in summary.read_text()


def test_cli_check_existing_port_with_a_bug_exits_1(tmp_path, capsys):
    from porter.cli import main
    from porter.convert.paths import convert_path
    convert_path(ROOT / "samples/tiny_pkg/tinynet", tmp_path / "port" / "tinynet")
    blocks = tmp_path / "port" / "tinynet" / "blocks.py"
    blocks.write_text(blocks.read_text().replace("epsilon=1e-3", "epsilon=1e-1"))
    code = main(["check", "tinynet.model:build", "--path", str(ROOT / "samples/tiny_pkg"),
                 "--paddle-path", str(tmp_path / "port"), "--input", "2,3,16,16", "--json", str(tmp_path / "p.json")])
    capsys.readouterr()
    assert code == 1
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["passed"] is False and data["first_divergence"]["layer"] == "features.0.bn"
    assert data["route"] == "existing port"


def test_cli_check_names_the_failing_stage(tmp_path, capsys):
    from porter.cli import main
    assert main(["check", str(tmp_path / "nope.py") + ":Net", "--input", "1,3"]) == 2
    assert "could not run: load torch model" in capsys.readouterr().err
    assert main(["check", "x.py:Net", "--input", "1,x"]) == 2
    assert "inputs:" in capsys.readouterr().err


@pytest.mark.parametrize("optimizer", ["torch.optim.SGD(params, lr=0.1, momentum=0.9)",
                                       "torch.optim.AdamW(params, lr=1e-2, weight_decay=0.1)"])
def test_train_step_compares_parameters_after_one_step(optimizer):
    from porter import check_parity
    r = check_parity(torch_net(), paddle_net(), _inputs(), train_step=optimizer)
    assert r.passed and r.train_step and all(c.passed for c in r.train_step), r.to_markdown()
    assert "Parameters after one optimizer step" in r.to_markdown()


def test_train_step_catches_a_wrong_optimizer_mapping(monkeypatch):
    """Adam is not AdamW (coupled vs decoupled decay, REFERENCE.md §4): a conversion that swapped them
    must fail the train step although forward and gradients match."""
    import porter.convert.engine as engine
    from porter import check_parity
    real = engine.convert_source

    def wrong(code, table=None):
        conv = real(code, table)
        conv.code = conv.code.replace("optimizer.AdamW(", "optimizer.Adam(")
        return conv

    monkeypatch.setattr(engine, "convert_source", wrong)
    r = check_parity(torch_net(), paddle_net(), _inputs(), train_step="torch.optim.AdamW(params, lr=1e-2, weight_decay=0.5)")
    assert all(c.passed for c in r.outputs) and all(c.passed for c in r.gradients)
    assert not r.passed and any(not c.passed for c in r.train_step)


def test_rnn_backward_that_paddle_cannot_run_in_eval_is_reported_not_hidden():
    """paddle's RNN kernels keep no backward state in eval mode: the gradients are reported as not
    compared (with paddle's error), the outputs still decide."""
    import paddle
    import torch
    from porter import check_parity
    torch.manual_seed(0)
    t = torch.nn.GRU(3, 4, batch_first=True)
    p = paddle.nn.GRU(3, 4, time_major=False)
    r = check_parity(t, p, [np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)])
    assert all(c.passed for c in r.outputs) and r.passed
    assert r.gradient_error is not None and "holds no memory" in r.gradient_error   # paddle 3.3.1's behaviour
    assert r.gradients == [] and "not compared" in r.to_markdown()
    assert r.to_json()["gradient_error"] == r.gradient_error
