"""Weight transfer: every rule round-trips, strictness lists every problem, checkpoints are read safely."""
from __future__ import annotations

import json

import numpy as np
import pytest

from porter import convert_source, transfer_weights
from porter.weights import WeightTransferError, reverse_weights
from porter.weights.io import CheckpointError, read_checkpoint, write_paddle_weights

pytestmark = pytest.mark.parity

ZOO = [
    "nn.Linear(4, 4)", "nn.Linear(5, 3, bias=False)", "nn.Conv2d(4, 6, 3, groups=2)",
    "nn.ConvTranspose2d(4, 6, 3, groups=2, stride=2)", "nn.BatchNorm2d(4)", "nn.BatchNorm1d(4, affine=False)",
    "nn.LayerNorm(4)", "nn.GroupNorm(2, 4)", "nn.InstanceNorm2d(4, affine=True)", "nn.Embedding(10, 3)",
    "nn.PReLU(4)", "nn.Bilinear(3, 4, 5)", "nn.LSTM(3, 4, 2, bidirectional=True)",
    "nn.LSTM(3, 6, 2, bidirectional=True, proj_size=2)", "nn.GRU(3, 4)", "nn.RNN(3, 4, 2)",
    "nn.MultiheadAttention(8, 2)", "nn.MultiheadAttention(8, 2, kdim=4, vdim=6)",
    "nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)", "nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)",
    "nn.LayerNorm([3, 4])",
]


def build_pair(expr: str):
    import paddle  # noqa: F401
    import torch
    torch.manual_seed(0)
    src = f"import torch\nimport torch.nn as nn\nm = {expr}\n"
    t_ns, p_ns = {}, {}
    exec(src, t_ns)
    conv = convert_source(src)
    assert not conv.unconverted, conv.unconverted
    exec(conv.code, p_ns)
    tm = t_ns["m"]
    with torch.no_grad():   # non-trivial values everywhere, statistics included
        for k, v in tm.state_dict().items():
            if v.dtype.is_floating_point:
                v.copy_(torch.randn_like(v))
    return tm, p_ns["m"]


@pytest.mark.parametrize("expr", ZOO)
def test_round_trip_reproduces_torch_exactly(expr):
    tm, pm = build_pair(expr)
    ledger = transfer_weights(tm, pm)
    assert len(ledger) > 0
    back = reverse_weights(pm)
    src = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    assert set(back) == set(src)
    for k, v in src.items():
        np.testing.assert_array_equal(back[k], v, err_msg=k)


def test_square_linear_is_transposed():
    tm, pm = build_pair("nn.Linear(4, 4)")
    transfer_weights(tm, pm)
    np.testing.assert_array_equal(pm.weight.numpy(), tm.weight.detach().numpy().T)


def test_every_problem_is_listed_and_nothing_loaded():
    import paddle
    import torch
    t = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
    p = paddle.nn.Sequential(paddle.nn.Linear(4, 5), paddle.nn.BatchNorm1D(3))
    before = {k: v.numpy().copy() for k, v in p.state_dict().items()}
    with pytest.raises(WeightTransferError) as e:
        transfer_weights(t, p)
    msg = str(e.value)
    assert "shape mismatch: 0.weight is (4, 5) in paddle, 0.weight gives (4, 3) (transpose)" in msg
    assert "shape mismatch: 0.bias" in msg
    assert "torch tensor(s) not used: 2.weight, 2.bias" in msg
    for k, v in p.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])      # strict: nothing loaded


def test_unfilled_paddle_tensor_is_an_error():
    import paddle
    import torch
    with pytest.raises(WeightTransferError, match="paddle tensor\\(s\\) not filled: 1.weight, 1.bias"):
        transfer_weights(torch.nn.Sequential(torch.nn.Linear(2, 2)),
                         paddle.nn.Sequential(paddle.nn.Linear(2, 2), paddle.nn.Linear(2, 2)))


def test_lenient_mode_reports_instead_of_raising():
    import paddle
    import torch
    ledger = transfer_weights(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 3)),
                              paddle.nn.Sequential(paddle.nn.Linear(2, 2)), strict=False)
    assert [e.paddle_key for e in ledger.entries] == ["0.weight", "0.bias"]
    assert ledger.problems == ["2 torch tensor(s) not used: 1.weight, 1.bias"]


def test_tied_weights_move_once():
    import paddle
    import torch

    class T(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(3, 3)
            self.b = self.a

    class P(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.a = paddle.nn.Linear(3, 3)
            self.b = self.a

    t, p = T(), P()
    ledger = transfer_weights(t, p)
    assert [e.paddle_key for e in ledger.entries] == ["a.weight", "a.bias"]
    np.testing.assert_array_equal(p.b.weight.numpy(), t.a.weight.detach().numpy().T)


def test_ledger_renders(tmp_path):
    tm, pm = build_pair("nn.BatchNorm2d(4)")
    ledger = transfer_weights(tm, pm)
    table = ledger.to_table()
    assert "_mean" in table and "running_mean" in table and "rename" in table
    assert "dropped by design: num_batches_tracked" in table
    data = json.loads(json.dumps(ledger.to_json()))
    assert {"paddle": "_variance", "torch": ["running_var"], "transform": "rename",
            "torch_shape": [4], "paddle_shape": [4]} in data["entries"]


# -- checkpoints -----------------------------------------------------------------------------------
class NotAllowed:
    pass


def test_checkpoint_formats(tmp_path):
    import torch
    from safetensors.numpy import save_file
    tm, pm = build_pair("nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))")
    sd = tm.state_dict()
    torch.save(sd, tmp_path / "plain.pt")
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in sd.items()}}, tmp_path / "nested.pth")
    arrays = {k: v.numpy() for k, v in sd.items()}
    keys = sorted(arrays)
    save_file({k: arrays[k] for k in keys[:3]}, str(tmp_path / "s-1.safetensors"))
    save_file({k: arrays[k] for k in keys[3:]}, str(tmp_path / "s-2.safetensors"))
    (tmp_path / "m.index.json").write_text(json.dumps(
        {"weight_map": {k: ("s-1.safetensors" if i < 3 else "s-2.safetensors") for i, k in enumerate(keys)}}))
    for name in ("plain.pt", "nested.pth", "m.index.json"):
        state = read_checkpoint(tmp_path / name)
        assert set(state) == set(arrays), name
        transfer_weights(tmp_path / name, pm)
        np.testing.assert_array_equal(pm.state_dict()["0.weight"].numpy(), arrays["0.weight"].T)


def test_untrusted_pickle_is_refused(tmp_path):
    import torch
    torch.save({"weight": torch.zeros(2), "extra": NotAllowed()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="trust"):
        read_checkpoint(tmp_path / "evil.pt")
    assert set(read_checkpoint(tmp_path / "evil.pt", trust=True)) == {"weight"}


def test_write_paddle_weights_loads_strictly(tmp_path):
    import paddle
    from porter.weights import plan
    tm, pm = build_pair("nn.LSTM(3, 4, bidirectional=True)")
    values, _ = plan({k: v.numpy() for k, v in tm.state_dict().items()}, pm)
    for suffix in (".pdparams", ".safetensors"):
        out = tmp_path / f"w{suffix}"
        from porter.weights.transfer import full_state
        write_paddle_weights(full_state(values, pm), out)
        fresh = build_pair("nn.LSTM(3, 4, bidirectional=True)")[1]
        state = paddle.load(str(out)) if suffix == ".pdparams" else \
            {k: paddle.to_tensor(v) for k, v in __import__("safetensors.numpy", fromlist=["x"]).load_file(str(out)).items()}
        missing, unexpected = fresh.set_state_dict(state)
        assert not missing and not unexpected
        np.testing.assert_array_equal(fresh.weight_ih_l0.numpy(), tm.weight_ih_l0.detach().numpy())


def test_porter_weights_cli(tmp_path, capsys):
    import paddle
    import torch
    from porter.cli import main

    src = tmp_path / "src"
    src.mkdir()
    (src / "net.py").write_text("import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self, c=3):\n"
                                "        super().__init__()\n        self.fc = nn.Linear(4, c)\n        self.bn = nn.BatchNorm1d(c)\n")
    assert main(["convert", str(src), "-o", str(tmp_path / "out")]) == 0
    ns = {}
    exec((src / "net.py").read_text(), ns)
    t = ns["Net"](c=5)
    torch.save(t.state_dict(), tmp_path / "ck.pt")
    out = tmp_path / "w.pdparams"
    code = main(["weights", str(tmp_path / "ck.pt"), "--model", str(tmp_path / "out" / "net.py") + ":Net",
                 "--kwargs", '{"c": 5}', "-o", str(out), "--ledger", str(tmp_path / "l.json")])
    assert code == 0, capsys.readouterr().err
    assert "6 paddle tensors filled from 7 torch tensors" in capsys.readouterr().out
    state = paddle.load(str(out))
    np.testing.assert_array_equal(np.asarray(state["fc.weight"]), t.fc.weight.detach().numpy().T)
    assert json.loads((tmp_path / "l.json").read_text())["dropped"] == ["bn.num_batches_tracked"]
    code = main(["weights", str(tmp_path / "ck.pt"), "--model", str(tmp_path / "out" / "net.py") + ":Net", "-o", str(out)])
    assert code == 2 and "shape mismatch: fc.weight" in capsys.readouterr().err


def test_streamed_safetensors_output_is_exact_and_strict(tmp_path):
    import paddle
    from safetensors.numpy import load_file, save_file
    from porter.weights.stream import SafetensorsReader, build_lazily, stream_to_safetensors

    tm, pm = build_pair("nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.LSTM(4, 3))")
    src = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    save_file(src, str(tmp_path / "in.safetensors"))
    reader = SafetensorsReader.open(tmp_path / "in.safetensors")
    assert set(reader) == set(src) and reader.shape("0.weight") == (4, 6)
    ledger = stream_to_safetensors(reader, build_lazily(lambda: pm, {}), tmp_path / "out.safetensors")
    assert len(ledger.entries) == 10
    out = load_file(str(tmp_path / "out.safetensors"))
    np.testing.assert_array_equal(out["0.weight"], src["0.weight"].T)
    np.testing.assert_array_equal(out["1._variance"], src["1.running_var"])
    np.testing.assert_array_equal(out["2.0.cell.weight_hh"], src["2.weight_hh_l0"])
    fresh = build_pair("nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.LSTM(4, 3))")[1]
    fresh.load_dict({k: paddle.to_tensor(v) for k, v in out.items()})
    del src["1.running_mean"]
    save_file(src, str(tmp_path / "bad.safetensors"))
    with pytest.raises(WeightTransferError, match="not filled: 1._mean"):
        stream_to_safetensors(SafetensorsReader.open(tmp_path / "bad.safetensors"), pm, tmp_path / "bad_out.safetensors")
    assert not (tmp_path / "bad_out.safetensors").exists() and not list(tmp_path.glob(".bad_out*"))


def test_bf16_safetensors_widen_to_float32(tmp_path):
    import json as _json
    import struct
    from porter.weights.stream import SafetensorsReader
    vals = np.array([1.5, -2.0, 3.140625], dtype=np.float32)
    raw = (vals.view(np.uint32) >> 16).astype(np.uint16).tobytes()
    header = _json.dumps({"w": {"dtype": "BF16", "shape": [3], "data_offsets": [0, len(raw)]}}).encode()
    (tmp_path / "b.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + raw)
    np.testing.assert_array_equal(SafetensorsReader.open(tmp_path / "b.safetensors")["w"], vals)


@pytest.mark.parametrize("expr", ["nn.BatchNorm2d(4, track_running_stats=False)", "nn.LayerNorm([3, 4])",
                                  "nn.Sequential(nn.Linear(4, 3), nn.CrossEntropyLoss(weight=torch.ones(3)))",
                                  "nn.BCEWithLogitsLoss(pos_weight=torch.ones(3))"])
def test_layers_whose_tensors_differ_in_kind(expr):
    """No torch statistics (paddle's start values), flattened LayerNorm affine, loss-owned buffers."""
    tm, pm = build_pair(expr)
    ledger = transfer_weights(tm, pm)
    assert not ledger.problems
    for e in ledger.entries:
        assert e.paddle_shape == tuple(pm.state_dict()[e.paddle_key].shape)


@pytest.mark.parametrize("kw", [{}, {"kdim": 4, "vdim": 6}])
def test_native_paddle_attention_rule_round_trips_and_matches(kw):
    """A hand-written port on paddle.nn.MultiHeadAttention (batch-first, [in, out] projections)."""
    import paddle
    import torch
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(8, 2, batch_first=True, **kw).eval()
    p = paddle.nn.MultiHeadAttention(8, 2, **kw)
    p.eval()
    ledger = transfer_weights(t, p)
    assert {e.transform for e in ledger.entries} >= {"transpose"}
    back = reverse_weights(p)
    for k, v in t.state_dict().items():
        np.testing.assert_array_equal(back[k], v.numpy(), err_msg=k)
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 5, 8)).astype(np.float32)
    k_ = rng.standard_normal((2, 7, kw.get("kdim", 8))).astype(np.float32)
    v_ = rng.standard_normal((2, 7, kw.get("vdim", 8))).astype(np.float32)
    with torch.no_grad():
        out_t = t(torch.from_numpy(q), torch.from_numpy(k_), torch.from_numpy(v_))[0].numpy()
    out_p = p(paddle.to_tensor(q), paddle.to_tensor(k_), paddle.to_tensor(v_)).numpy()
    np.testing.assert_allclose(out_p, out_t, rtol=1e-5, atol=1e-6)


def test_streamed_pdparams_loads_strictly_in_paddle(tmp_path):
    import paddle
    from porter.weights.stream import stream_to_pdparams
    tm, pm = build_pair("nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.LSTM(4, 3))")
    src = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    ledger = stream_to_pdparams(src, pm, tmp_path / "w.pdparams")
    assert len(ledger.entries) == 10
    state = paddle.load(str(tmp_path / "w.pdparams"))
    fresh = build_pair("nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.LSTM(4, 3))")[1]
    fresh.load_state_dict(state, strict=True)                    # every key, aliases included
    np.testing.assert_array_equal(fresh.state_dict()["0.weight"].numpy(), src["0.weight"].T)
    np.testing.assert_array_equal(fresh.state_dict()["2.0.cell.weight_ih"].numpy(), src["2.weight_ih_l0"])
    del src["0.bias"]
    with pytest.raises(WeightTransferError, match="not filled: 0.bias"):
        stream_to_pdparams(src, pm, tmp_path / "bad.pdparams")
    assert not (tmp_path / "bad.pdparams").exists()
