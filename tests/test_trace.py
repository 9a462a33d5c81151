"""The trace route (porter.trace): X2Paddle traces a model or reads an ONNX file, in a subprocess, and
porter's parity check judges the port at two batch sizes. Real X2Paddle runs, no mocks; skipped only
when the `trace` extra is not installed (CI installs it)."""
from __future__ import annotations

import json
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from porter.cli import main

FIX = Path(__file__).resolve().parent / "fixtures" / "trace"
MODELS = FIX / "trace_models.py"


def _installed(name: str) -> bool:
    try:
        version(name)
        return True
    except PackageNotFoundError:
        return False


needs_trace = pytest.mark.skipif(not all(_installed(p) for p in ("x2paddle", "onnx", "onnxscript")),
                                 reason="the trace extra is not installed: pip install -e '.[trace]'")


def run(args, capsys):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def cnn_port(tmp_path_factory):
    """SmallCNN traced once for the tests that read its port."""
    import subprocess
    out = tmp_path_factory.mktemp("trace") / "cnn_paddle"
    proc = subprocess.run([sys.executable, "-m", "porter.cli", "convert", f"{MODELS}:SmallCNN", "--route", "trace",
                           "--input", "2,3,8,8", "-o", str(out)], capture_output=True, text=True)
    return out, proc


@needs_trace
def test_small_cnn_traced_matches_at_two_batch_sizes(cnn_port):
    out, proc = cnn_port
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "parity at batch 2: match" in proc.stdout and "parity at batch 3: match" in proc.stdout
    assert "verdict: PASS (trace (X2Paddle))" in proc.stdout
    assert "given up on this route:" in proc.stdout         # what the user gives up is said every time
    for name in ("x2paddle_code.py", "model.pdparams", "porter_port.json", "torch_state.pt", "parity.md"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / "porter_port.json").read_text())
    assert manifest["route"] == "trace" and manifest["class"] == "SmallCNN" and manifest["parity"]["passed"]
    code = (out / "x2paddle_code.py").read_text()
    assert "stride=[]" not in code                 # X2Paddle's F.max_pool2d mapping, fixed
    assert "import x2paddle" not in code and "from x2paddle" not in code    # runs without x2paddle
    report = json.loads((out / "parity.json").read_text())
    assert report["route"] == "trace (X2Paddle)" and max(c["max_abs"] for c in report["outputs"]) < 1e-5


@needs_trace
def test_check_accepts_a_trace_port_and_names_the_route(cnn_port, tmp_path, capsys):
    out, proc = cnn_port
    assert proc.returncode == 0, proc.stderr
    code, stdout, _ = run(["check", f"{MODELS}:SmallCNN", "--paddle-path", out, "--input", "2,3,8,8",
                           "--json", tmp_path / "p.json"], capsys)
    assert code == 0, stdout
    assert "(route: trace (X2Paddle))" in stdout
    assert "per-layer localisation does not apply" in stdout
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["route"] == "trace (X2Paddle)" and data["passed"] and data["second_batch"]


@needs_trace
def test_baked_batch_size_is_said_and_never_passes(tmp_path, capsys):
    # int(x.shape[0]): torch.jit.trace keeps 2, and torch.export cannot keep the batch dynamic either
    code, stdout, stderr = run(["convert", f"{MODELS}:BakedInt", "--route", "trace", "--input", "2,8",
                                "-o", tmp_path / "out"], capsys)
    assert code == 1, stdout + stderr
    assert "parity at batch 2: match" in stdout and "parity at batch 3: MISMATCH" in stdout
    assert "baked batch size 2" in stdout and "verdict: FAIL" in stdout
    assert "also tried trace via ONNX export (torch.onnx + X2Paddle): baked batch size 2" in stdout
    assert not json.loads((tmp_path / "out" / "porter_port.json").read_text())["parity"]["passed"]
    # and `check` on that port says the same
    code, stdout, _ = run(["check", f"{MODELS}:BakedInt", "--paddle-path", tmp_path / "out", "--input", "2,8"], capsys)
    assert code == 1 and "baked batch size 2" in stdout and "❌ FAIL" in stdout


@needs_trace
def test_custom_autograd_function_is_rescued_by_the_onnx_export(tmp_path, capsys):
    # torch.jit.trace records a PythonOp X2Paddle cannot map; torch.onnx.export inlines the Function
    code, stdout, stderr = run(["convert", f"{MODELS}:CustomFn", "--route", "trace", "--input", "4,8",
                                "-o", tmp_path / "out"], capsys)
    assert code == 0, stdout + stderr
    assert "verdict: PASS (trace via ONNX export (torch.onnx + X2Paddle))" in stdout
    assert "prim::PythonOp" in stdout and "torch.onnx.export: dynamic batch" in stdout
    assert "parity at batch 5: match" in stdout
    code, stdout, _ = run(["check", f"{MODELS}:CustomFn", "--paddle-path", tmp_path / "out", "--input", "4,8"], capsys)
    assert code == 0 and "(route: trace via ONNX export (torch.onnx + X2Paddle))" in stdout


@needs_trace
def test_baked_view_is_unbaked_and_judged_again(tmp_path, capsys):
    # x.view(x.shape[0], -1) traced as reshape(shape=[2, -1]): porter tries shape=[0, -1] and keeps it
    # only because the port then matches at both batch sizes
    code, stdout, stderr = run(["convert", f"{MODELS}:BakedView", "--route", "trace", "--input", "2,3,8,8",
                                "-o", tmp_path / "out"], capsys)
    assert code == 0, stdout + stderr
    assert "baked batch size 2 removed from 1 reshape(s)" in stdout and "parity at batch 3: match" in stdout
    assert "shape=[0, -1]" in (tmp_path / "out" / "x2paddle_code.py").read_text()


@needs_trace
def test_data_dependent_branch_is_not_a_pass(tmp_path, capsys):
    code, stdout, _ = run(["convert", f"{MODELS}:DataBranch", "--route", "trace", "--input", "4,8",
                           "-o", tmp_path / "out"], capsys)
    assert code == 1, stdout
    assert "branch" in stdout and "trace_models.py" in stdout and "verdict: FAIL" in stdout


@needs_trace
def test_x2paddle_failure_is_one_line_exit_2(tmp_path, capsys):
    # torch.einsum: neither way to trace gives X2Paddle something it maps (X2Paddle itself would exit 0)
    code, stdout, stderr = run(["convert", f"{MODELS}:Einsum", "--route", "trace", "--input", "2,8",
                                "-o", tmp_path / "out"], capsys)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("porter: error: X2Paddle could not port")
    assert "aten::einsum" in lines[0] and "Einsum" in lines[0]
    assert "Traceback" not in stderr + stdout


@needs_trace
def test_onnx_from_torch_default_exporter_converts_and_matches(tmp_path, capsys):
    import onnx
    import torch
    sys.path.insert(0, str(FIX))
    try:
        import trace_models
    finally:
        sys.path.remove(str(FIX))
    path = tmp_path / "pool.onnx"
    torch.onnx.export(trace_models.PoolCNN().eval(), (torch.randn(2, 3, 8, 8),), str(path))   # 2.13: dynamo
    model = onnx.load(str(path))
    assert max(i.version for i in model.opset_import if i.domain in ("", "ai.onnx")) >= 18
    assert any(n.op_type == "MaxPool" and any(a.name == "dilations" for a in n.attribute) for n in model.graph.node)
    code, stdout, stderr = run(["convert", path, "-o", tmp_path / "out"], capsys)
    assert code == 0, stdout + stderr
    assert "parity at batch 2: match" in stdout and "verdict: PASS (onnx (X2Paddle))" in stdout
    assert "dropped dilations" in stdout
    manifest = json.loads((tmp_path / "out" / "porter_port.json").read_text())
    assert manifest["route"] == "onnx"
    assert "onnx.mapping" not in sys.modules or hasattr(onnx, "mapping")   # never patched in this process
    data = json.loads((tmp_path / "out" / "parity.json").read_text())
    assert data["route"] == "onnx (X2Paddle)"


@needs_trace
@pytest.mark.parametrize("content", [b"not an onnx model at all\x00\x01", b""])
def test_bad_onnx_file_is_one_line_exit_2(tmp_path, capsys, content):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(content)
    code, stdout, stderr = run(["convert", bad, "-o", tmp_path / "out"], capsys)
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("porter: error:")
    assert "Traceback" not in stderr + stdout


def test_missing_onnx_file_is_exit_2(tmp_path, capsys):
    code, _, stderr = run(["convert", tmp_path / "nope.onnx", "-o", tmp_path / "out"], capsys)
    assert code == 2 and "no such file" in stderr


def test_trace_route_needs_an_entry(tmp_path, capsys):
    code, _, stderr = run(["convert", MODELS, "--route", "trace", "--input", "2,8", "-o", tmp_path / "o"], capsys)
    assert code == 2 and "ENTRY" in stderr and len(stderr.strip().splitlines()) == 1


def test_rewrite_summary_suggests_the_trace_route_and_its_price(tmp_path, capsys):
    src = tmp_path / "m.py"
    src.write_text("import torch\n\ny = torch.frobnicate(1)\n")
    code, stdout, _ = run(["convert", src, "-o", tmp_path / "o.py"], capsys)
    assert code == 0
    hint = [l for l in stdout.splitlines() if "--route trace" in l]
    assert hint and "readable code" in hint[0] and "batch sizes" in hint[0] and "training" in hint[0]


@needs_trace
def test_onnx_fixes_keep_the_arithmetic(tmp_path):
    """Each rewrite of the ONNX copy (decompositions, Gemm's C, Shape's start/end, opset 15) computes what
    the original computes, run by onnx's reference evaluator on both."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    from porter.trace.onnx_fix import fix_model
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((6, 6)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.standard_normal(6).astype(np.float32), "g"),
             numpy_helper.from_array(rng.standard_normal(6).astype(np.float32), "b"),
             numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")]
    nodes = [helper.make_node("Gemm", ["x", "w"], ["h"], transB=1),
             helper.make_node("HardSwish", ["h"], ["hs"]),
             helper.make_node("LayerNormalization", ["hs", "g", "b"], ["ln"], axis=-1, epsilon=1e-5),
             helper.make_node("ReduceMean", ["ln", "axes"], ["m"], keepdims=1),
             helper.make_node("Shape", ["x"], ["n"], start=0, end=1),
             helper.make_node("Cast", ["n"], ["nf"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["m", "nf"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.save(model, tmp_path / "m.onnx")
    changes = fix_model(str(tmp_path / "m.onnx"), str(tmp_path / "fixed.onnx"))
    fixed = onnx.load(str(tmp_path / "fixed.onnx"))
    ops = {n.op_type for n in fixed.graph.node}
    assert not ops & {"HardSwish", "LayerNormalization"} and len(changes) >= 4
    assert all(len(n.input) == 3 for n in fixed.graph.node if n.op_type == "Gemm")
    x = rng.standard_normal((3, 6)).astype(np.float32)
    want = ReferenceEvaluator(str(tmp_path / "m.onnx")).run(None, {"x": x})[0]
    got = ReferenceEvaluator(str(tmp_path / "fixed.onnx")).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
