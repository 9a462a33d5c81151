"""Runs X2Paddle in its own process: `python -m porter.trace._worker JOB.json`.

Everything X2Paddle needs patched lives here, in this process only: the user's (and porter's) process
never imports x2paddle's converters nor sees onnx changed.
- onnx >= 1.19 removed `onnx.mapping`; X2Paddle imports `TENSOR_TYPE_TO_NP_TYPE` from it. A stand-in
  module built from `onnx.helper.tensor_dtype_to_np_dtype` goes into this process's `sys.modules`.
- `onnx.version.version` (X2Paddle's version check) is reached without importing the submodule.
- X2Paddle's "feedback" calls reach the network: always disabled.
- The static inference-model export after the code is written (`dygraph2static`) is skipped: porter uses
  the dygraph code and `model.pdparams`, and judges them itself.

The job file is JSON: {"mode": "trace"|"onnx", "out": DIR, "result": FILE, ...}; the result file gets
{"ok": bool, "error": str|None, "warnings": [...], ...}. The exit status is 0 whatever happened (the
parent reads the result file; a missing one means the process died)."""
from __future__ import annotations

import json
import sys
import traceback
import types
import warnings


def _shim_onnx() -> None:
    import onnx
    import onnx.helper
    try:
        import onnx.mapping  # noqa: F401  (onnx < 1.19 still has it)
    except ImportError:
        import numpy as np
        m = types.ModuleType("onnx.mapping")
        table = {}
        for name, code in onnx.TensorProto.DataType.items():
            try:
                table[code] = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(code))
            except Exception:   # UNDEFINED, STRING on some versions, float8 without ml_dtypes
                continue
        m.TENSOR_TYPE_TO_NP_TYPE = table
        m.NP_TYPE_TO_TENSOR_TYPE = {v: k for k, v in reversed(list(table.items()))}
        sys.modules["onnx.mapping"] = m
        onnx.mapping = m
    if not hasattr(onnx, "version") or not hasattr(getattr(onnx, "version"), "version"):
        onnx.version = types.SimpleNamespace(version=onnx.__version__)
    if not hasattr(onnx.helper, "ValueInfoProto"):
        onnx.helper.ValueInfoProto = onnx.ValueInfoProto


def _no_static_export() -> None:
    from x2paddle.core.program import PaddleGraph
    PaddleGraph.dygraph2static = lambda self, *a, **k: None


def _extend_x2paddle() -> None:
    """Ops today's torch emits that X2Paddle 1.6.0 (written for torch 1.x) has no mapping for, added in
    its own style; porter's parity check judges every port, these included."""
    from x2paddle.op_mapper.pytorch2paddle import aten

    def simple(kernel, attr_names, tensor_inputs=("x",)):
        def mapping(mapper, graph, node):
            scope_name = mapper.normalize_scope_name(node)
            outputs = [mapper._get_outputs_name(node)[0]]
            inputs_name, inputs_node = mapper._get_inputs_name(node)
            layer_inputs, attrs = {}, {}
            for i, key in enumerate(tensor_inputs):
                mapper._check_input(graph, inputs_node[i], inputs_name[i], outputs, scope_name)
                layer_inputs[key] = inputs_name[i]
            for j, key in enumerate(attr_names, start=len(tensor_inputs)):
                if inputs_name[j] in mapper.attrs:
                    attrs[key] = mapper.attrs[inputs_name[j]]
                else:
                    mapper._check_input(graph, inputs_node[j], inputs_name[j], outputs, scope_name)
                    layer_inputs[key] = inputs_name[j]
            graph.add_layer(kernel, inputs=layer_inputs, outputs=outputs, scope_name=scope_name, **attrs)
            return list(layer_inputs.values()), outputs
        return mapping

    if not hasattr(aten, "aten_unflatten"):      # nn.MultiheadAttention since torch 2.0
        aten.aten_unflatten = simple("paddle.unflatten", ["axis", "shape"])


def _model_and_examples(job: dict):
    import numpy as np
    import torch
    from porter.entry import load_entry

    factory = load_entry(job["entry"], job.get("path"))
    model = factory(**job.get("kwargs", {}))
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{job['entry']} built a {type(model).__name__}, not a torch.nn.Module")
    if job.get("state"):
        model.load_state_dict(torch.load(job["state"], weights_only=True), strict=True)
    model.eval()
    with np.load(job["examples"], allow_pickle=False) as data:
        keys = sorted(data.files, key=lambda k: (len(k), k))
        examples = [torch.from_numpy(np.array(data[k])) for k in keys]
    return model, examples


def _export(job: dict, result: dict) -> None:
    """torch.onnx.export (torch 2.13: the dynamo exporter, torch.export underneath) with the batch dimension
    dynamic, then the ONNX route: a second way to trace, which inlines autograd Functions and keeps
    `x.shape[0]` symbolic."""
    import torch
    model, examples = _model_and_examples(job)
    path = job["onnx"]
    batch = torch.export.Dim("batch")
    dynamic = tuple({0: batch} if x.ndim else None for x in examples)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, tuple(examples), path, dynamic_shapes=dynamic)
        result["export"] = "dynamic batch"
    except Exception as e:      # e.g. the batch is specialised by the model's code
        print(f"porter: dynamic-batch export failed ({type(e).__name__}); exporting at the example's shapes")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, tuple(examples), path)
        result["export"] = f"static shapes (dynamic batch failed: {type(e).__name__})"
    _onnx(dict(job, model=path), result)


def _trace(job: dict, result: dict) -> None:
    import torch
    model, examples = _model_and_examples(job)
    _no_static_export()
    # torch.jit.trace re-runs the model to compare graphs (check_trace) and refuses models whose graph
    # varies between runs (nn.MultiheadAttention's fast path): porter's parity check judges the port instead
    plain_trace = torch.jit.trace

    def trace(*args, **kw):
        kw.setdefault("check_trace", False)
        return plain_trace(*args, **kw)
    torch.jit.trace = trace
    _extend_x2paddle()
    from x2paddle.convert import pytorch2paddle
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pytorch2paddle(model, job["out"], jit_type="trace", input_examples=examples, disable_feedback=True)
    result["warnings"] = _tracer_warnings(caught)
    result["class"] = type(model).__name__


def _tracer_warnings(caught) -> list[str]:
    out = []
    for w in caught:
        if w.category.__name__ == "TracerWarning":
            where = f"{w.filename}:{w.lineno}"
            first = str(w.message).splitlines()[0].split(". ")[0].rstrip(".")   # "Converting a tensor to a Python boolean might cause the trace to be incorrect"
            text = f"{where}: {first}"
            if text not in out:
                out.append(text)
    return out


def _onnx(job: dict, result: dict) -> None:
    _shim_onnx()
    _no_static_export()
    from x2paddle.decoder.onnx_decoder import ONNXDecoder
    from x2paddle.op_mapper.onnx2paddle.onnx_op_mapper import ONNXOpMapper
    from x2paddle.optimizer.optimizer import GraphOptimizer
    from porter.trace.onnx_fix import fix_model
    result["fixes"] = fix_model(job["model"], job["fixed"])
    model = ONNXDecoder(job["fixed"], False, job.get("input_shapes"))   # checked in fix_model, on the original
    mapper = ONNXOpMapper(model)
    mapper.paddle_graph.build()
    GraphOptimizer(source_frame="onnx").optimize(mapper.paddle_graph)
    mapper.paddle_graph.gen_model(job["out"])


class _Tail:
    """stdout as is, plus the last lines kept: X2Paddle prints its errors and then calls exit(0)."""

    def __init__(self, stream):
        self.stream, self.lines, self.part = stream, [], ""

    def write(self, text):
        self.stream.write(text)
        self.part += text
        *done, self.part = self.part.split("\n")
        self.lines = (self.lines + [l for l in done if l.strip()])[-20:]
        return len(text)

    def flush(self):
        self.stream.flush()


def main(argv: list[str]) -> int:
    job = json.loads(open(argv[1], encoding="utf-8").read())
    result: dict = {"ok": False, "error": None, "warnings": []}
    tail = sys.stdout = _Tail(sys.stdout)
    try:
        import x2paddle
        result["x2paddle"] = getattr(x2paddle, "__version__", "?")
        {"trace": _trace, "onnx": _onnx, "export": _export}[job["mode"]](job, result)
        result["ok"] = True
    except SystemExit as e:
        said = [l for l in tail.lines if not l.startswith("[")] or tail.lines
        result["error"] = f"X2Paddle gave up (exit({e.code})): {said[-1].strip()[:300] if said else 'no reason printed'}"
    except BaseException as e:   # noqa: BLE001 - reported to the parent, which decides
        tb = traceback.extract_tb(e.__traceback__)
        where = f" (at {tb[-1].filename}:{tb[-1].lineno})" if tb else ""
        import re
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))
        msg = [l for l in text.strip().splitlines() if l.strip() and not l.startswith("(Refer to")]
        if type(e).__name__ == "TorchExportError":     # the cause is inside torch.export's long report
            cause = [l for l in msg if re.match(r"<class '[\w.]+'>: ", l) or "data-dependent" in l]
            result["error"] = ("torch.export failed: " + re.sub(r"<class '(?:[\w]+\.)*(\w+)'>", r"\1",
                                                                  cause[0] if cause else msg[0])[:300])
        else:
            result["error"] = f"{type(e).__name__}: {msg[-1][:300] if msg else ''}{where}"
        result["traceback"] = traceback.format_exc()
    sys.stdout = tail.stream
    with open(job["result"], "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
