"""`porter convert ENTRY --route trace` and `porter convert model.onnx`: X2Paddle writes the port, porter
judges it. A port is judged at the example's batch size (with fresh values, not the ones traced) and at
another batch size; one that matches only at the example's is reported as baked, never as a pass."""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from porter.trace.x2paddle_runner import (CODE, LOG, MANIFEST, MANIFEST_SCHEMA, ROUTE_NAMES, TORCH_STATE, WEIGHTS,
                                          TraceError, baked_shape_lines, clean_code, load_port, port_class,
                                          run_worker, x2paddle_available)

GIVE_UP = ("readable code (one flat forward), layer names (conv2d0, ...), other batch sizes and "
           "data-dependent branches (fixed at the example's), training (inference only)")
PROBES = [("values ×-1", lambda x: -x), ("values ×4+1", lambda x: x * 4 + 1)]
TRACE_SEED_OFFSET = 1000      # traced on other values than the check's, so a baked branch shows


class RouteInputError(ValueError):
    """Unusable input for the trace/ONNX routes (exit 2)."""


@dataclass
class Outcome:
    out: Path
    route: str
    report: Any                       # porter.parity.check.ParityReport
    lines: list[str] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)


def second_batch_of(batch: int) -> int:
    return batch + 1 if batch > 1 else 3


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise RouteInputError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise RouteInputError(f"{out}: already exists and is not empty (pass --force to write into it)")
        for name in (CODE, WEIGHTS, MANIFEST, TORCH_STATE, LOG, "parity.md", "parity.json"):
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _save_npz(path: Path, arrays: Sequence[np.ndarray]) -> None:
    np.savez(path, *arrays)


# -- judging ---------------------------------------------------------------------------------------
def _load(out: Path, manifest: dict):
    try:
        return load_port(out, manifest)
    except TraceError:
        raise
    except Exception as e:
        msg = str(e).strip().splitlines()
        raise TraceError(f"X2Paddle's port in {out} does not build: {type(e).__name__}: {msg[-1] if msg else ''}") from None


def _judge(*args, **kwargs):
    from porter.parity.run import StageError
    try:
        return judge(*args, **kwargs)
    except Exception as e:
        msg = str(e).strip().splitlines()
        raise StageError("run", f"{type(e).__name__}: {msg[-1] if msg else ''}") from None


def unbake_reshapes(text: str, batch: int) -> tuple[str, int]:
    """`paddle.reshape(x=..., shape=[B, ...])` with B the example's batch -> `shape=[0, ...]` (paddle copies
    the input's dimension for a 0): the trace's usual way of baking `x.view(x.size(0), -1)`."""
    import re
    pattern = re.compile(rf"(paddle\.reshape\(x=\w+, shape=\[)\s*{batch}\s*,")
    new, n = pattern.subn(r"\g<1>0,", text)
    return new, n


def _try_unbake(out: Path, manifest: dict, rejudge):
    """Unbake the port's reshapes and judge it again; keep the change only if the port now passes at both
    batch sizes (and still at the example's). Returns (layer, report, change) or None (code restored)."""
    code = out / manifest.get("code", CODE)
    before = code.read_text(encoding="utf-8")
    after, n = unbake_reshapes(before, manifest["example_batch"])
    if not n:
        return None
    code.write_text(after, encoding="utf-8")
    try:
        layer = _load(out, manifest)
        report = rejudge(layer)
    except Exception:
        report = None
    if report is None or not report.passed:
        code.write_text(before, encoding="utf-8")
        return None
    change = (f"baked batch size {manifest['example_batch']} removed from {n} reshape(s): shape=[{manifest['example_batch']}, ...]"
              f" -> shape=[0, ...] (paddle keeps the input's batch); judged again at both batch sizes")
    report.notes.insert(0, change)
    return layer, report, change


def _in_torch(warning: str) -> bool:
    import os
    file = warning.split(":", 1)[0]
    return f"{os.sep}torch{os.sep}" in file and ("site-packages" in file or "dist-packages" in file)


def _failed(name: str, why: str):
    from porter.parity.metrics import Comparison
    return Comparison(name, [], "", float("inf"), float("inf"), 1.0, float("nan"), float("inf"), 0, 0, False, why)


def _run_paddle(layer, inputs):
    import paddle
    with paddle.no_grad():
        return layer(*[paddle.to_tensor(np.array(x)) for x in inputs])


def judge(reference, paddle_layer, inputs, second_inputs, *, route: str, device: str = "cpu", rtol=None, atol=None,
          example_batch: int | None = None, code: Path | None = None, tracer_warnings: Sequence[str] = (),
          second_expected: bool = True):
    """Compare the port with `reference` (a torch module, or a callable on numpy arrays such as an ONNX
    runtime) at `inputs` and `second_inputs`. Returns a ParityReport with `notes` saying what was baked."""
    from porter.parity.check import ParityReport, environment
    from porter.parity.metrics import compare_outputs

    def ref(xs):
        if hasattr(reference, "named_modules"):
            import torch
            with torch.no_grad():
                return reference(*[torch.from_numpy(np.array(x)) for x in xs])
        return reference(xs)

    def side(xs, label):
        t_out = ref(xs)
        try:
            p_out = _run_paddle(paddle_layer, xs)
        except Exception as e:
            said = " ".join(str(e).strip().splitlines()[-1].split()) if str(e).strip() else ""
            return [_failed("output", f"the port raised {type(e).__name__}: {said[:200]}")]
        return compare_outputs(t_out, p_out, device, rtol, atol)

    import paddle
    paddle.set_device("gpu" if device == "gpu" else "cpu")
    paddle_layer.eval()
    if hasattr(reference, "eval"):
        reference.eval()
    outputs = side(inputs, "example")
    report = ParityReport(all(c.passed for c in outputs), outputs, environment=environment(device))
    report.route = route
    b = example_batch if example_batch is not None else (inputs[0].shape[0] if inputs and inputs[0].ndim else None)
    notes: list[str] = []
    baked: dict = {"example_batch": b, "other_batch": None, "batch_baked": False, "tracer_warnings": list(tracer_warnings)}
    second_ok = True
    if second_inputs is not None:
        b2 = second_inputs[0].shape[0] if second_inputs and second_inputs[0].ndim else None
        baked["other_batch"] = b2
        try:
            report.second_batch = side(second_inputs, "second")
        except Exception as e:      # the reference itself cannot run there (a fixed-shape ONNX file)
            report.second_batch = None
            notes.append(f"the reference does not run at batch {b2} ({type(e).__name__}); "
                         f"the source model itself is fixed to batch {b}: judged at batch {b} only")
            second_inputs = None
        else:
            second_ok = all(c.passed for c in report.second_batch)
    b_now = inputs[0].shape[0] if inputs and inputs[0].ndim else b
    lines = baked_shape_lines(code, b) if code is not None and b is not None else []
    literal = f"; literal shapes in the code: {'; '.join(lines[:3])}" if lines else ""
    # other values at the example's batch: a branch the trace fixed shows when the data takes the other one
    probes = [(label, [f(x) if x.dtype.kind == "f" else x for x in inputs]) for label, f in PROBES]
    report.probes = []
    for label, xs in probes:
        for c in side(xs, label):
            c.name = f"{c.name} [{label}]"
            report.probes.append(c)
    probes_ok = all(c.passed for c in report.probes)
    # a branch in the user's code; torch's own modules (rnn.py's input checks) only check shapes
    branch_warnings = [w for w in tracer_warnings if "Python boolean" in w and not _in_torch(w)]
    if report.passed and not probes_ok:
        baked["branch_baked"] = True
        notes.append(f"baked data-dependent path: the port matches on the check's values but not on "
                     f"{', '.join(sorted({c.name.rsplit('[', 1)[1][:-1] for c in report.probes if not c.passed}))}"
                     + (" (torch.jit.trace warned about it: see below)" if tracer_warnings else ""))
    elif report.passed and branch_warnings:
        baked["branch_baked"] = True
        notes.append(f"not verified: torch.jit.trace fixed {len(branch_warnings)} branch(es) on the data; every input "
                     f"porter tried took the traced branch, but other inputs may not, and the port cannot take "
                     f"the other one: not a pass")
    if report.passed and second_inputs is not None and not second_ok:
        baked["batch_baked"] = b_now == b
        why = "; ".join(dict.fromkeys(c.note for c in report.second_batch if c.note)) or "outputs differ"
        notes.append((f"baked batch size {b}: " if b_now == b else "")
                     + f"the port matches at batch {b_now} but not at batch {b2} ({why}){literal}")
        if not second_expected:
            notes.append(f"the ONNX file declares a fixed batch {b}: the port is judged at that batch; "
                         f"export with dynamic shapes for a port that runs at other batch sizes")
    if not report.passed:
        if b_now == b:
            notes.append(f"the port does not match even at the example's batch size {b}")
        else:
            baked["batch_baked"] = True
            notes.append(f"the port does not match at batch {b_now}; it was traced at batch {b} "
                         f"(a baked batch size?){literal}")
    if tracer_warnings:
        notes.append(f"torch.jit.trace fixed {len(tracer_warnings)} value(s) computed from the data "
                     f"(a branch, a Python number); the port always takes the traced path:")
        notes += [f"  {w}" for w in tracer_warnings[:8]]
    notes.append("per-layer localisation does not apply: X2Paddle renames every layer, so no layer pairs by name")
    notes.append("gradients not compared: a traced port is for inference")
    report.passed = (report.passed and (second_ok or not second_expected) and probes_ok
                     and not (branch_warnings and hasattr(reference, "named_modules")))
    report.notes = notes
    report.baked = baked
    return report


# -- trace route -----------------------------------------------------------------------------------
def trace_convert(entry: str, out: str | Path, *, inputs: list[np.ndarray], second_inputs: list[np.ndarray] | None,
                  trace_inputs: list[np.ndarray], path: str | None = None, kwargs: dict | None = None,
                  force: bool = False, device: str = "cpu", rtol=None, atol=None, timeout: float | None = None,
                  seed: int = 0) -> Outcome:
    """Two ways to trace, each judged: X2Paddle's torch.jit.trace route first; when it fails or its port
    does not pass, torch.onnx.export with a dynamic batch and X2Paddle's ONNX decoder. The port that
    passes is written to OUT (else the better one, with both stories told)."""
    import torch

    from porter.parity.check import perturb_initial_bn_stats
    from porter.parity.run import StageError, _build, resolve_target
    kwargs = kwargs or {}
    out = Path(out)
    try:
        target = resolve_target(entry, path)
    except ValueError as e:
        raise RouteInputError(str(e)) from None
    if x2paddle_available() is None:
        raise TraceError("x2paddle is not installed: pip install 'porter[trace]'")
    _prepare_out(out, force)
    t0 = time.monotonic()
    try:
        model = _build(target.root, target.module, target.attr, kwargs)
    except Exception as e:
        raise StageError("load torch model", f"{type(e).__name__}: {e}") from None
    if not isinstance(model, torch.nn.Module):
        raise StageError("load torch model", f"{entry} built a {type(model).__name__}, not a torch.nn.Module")
    perturb_initial_bn_stats(model, seed)      # a wrong BatchNorm mapping cannot hide behind 0/1 statistics
    model.eval()
    torch.save(model.state_dict(), out / TORCH_STATE)
    seconds = {"build": time.monotonic() - t0}
    attempts: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="porter-trace-") as tmp:
        _save_npz(Path(tmp) / "examples.npz", trace_inputs)
        export_examples = trace_inputs if trace_inputs[0].shape[0] > 1 else [np.concatenate([x, x]) for x in trace_inputs]
        _save_npz(Path(tmp) / "export.npz", export_examples)
        base = {"entry": f"{target.module}:{target.attr}", "path": str(target.root), "kwargs": kwargs,
                "state": str((out / TORCH_STATE).resolve())}
        for mode in ("trace", "export"):
            folder = Path(tmp) / mode
            job = dict(base, mode=mode, examples=str(Path(tmp) / ("examples.npz" if mode == "trace" else "export.npz")),
                       onnx=str(Path(tmp) / "exported.onnx"), fixed=str(Path(tmp) / "fixed.onnx"))
            a = _attempt(mode, job, folder, model, entry, kwargs, inputs, second_inputs, trace_inputs, device, rtol,
                         atol, timeout)
            attempts.append(a)
            seconds[mode] = a["seconds"]
            if a.get("report") is not None and a["report"].passed:
                break
        chosen = _choose(attempts)
        if chosen is None:
            raise TraceError(f"X2Paddle could not port {entry}: "
                             + "; ".join(f"{ROUTE_NAMES[a['mode']]}: {a['error']}" for a in attempts))
        for name in (CODE, WEIGHTS, LOG):
            if (chosen["dir"] / name).exists():
                shutil.copyfile(chosen["dir"] / name, out / name)
    report, manifest, fixes = chosen["report"], chosen["manifest"], chosen["fixes"]
    for a in attempts:
        if a is not chosen:
            report.notes.insert(0, f"also tried {ROUTE_NAMES[a['mode']]}: {_attempt_story(a)}")
    report.model = entry
    report.weights = {"source": f"{WEIGHTS} (written by X2Paddle from the torch weights in {TORCH_STATE})",
                      "tensors": len(chosen["layer"].state_dict()), "unused": len(chosen["layer"].porter_unused_weights)}
    manifest["parity"] = {"passed": report.passed, **report.baked}
    manifest["attempts"] = [{"route": ROUTE_NAMES[a["mode"]], "result": _attempt_story(a)} for a in attempts]
    _write_port_files(out, manifest, report)
    seconds["x2paddle"] = sum(a["x2paddle"] for a in attempts)
    return Outcome(out, manifest["route"], report, _summary(out, manifest, report, fixes, seconds), seconds)


def _attempt_story(a: dict) -> str:
    if a.get("report") is None:
        return f"failed: {a['error']}"
    if a["report"].passed:
        return "passed"
    baked = a["report"].baked
    if baked.get("batch_baked"):
        return f"baked batch size {baked.get('example_batch')}"
    if baked.get("branch_baked"):
        return "baked a data-dependent branch"
    return "does not match"


def _choose(attempts: list[dict]) -> dict | None:
    judged = [a for a in attempts if a.get("report") is not None]
    if not judged:
        return None
    for a in judged:
        if a["report"].passed:
            return a
    at_example = [a for a in judged if all(c.passed for c in a["report"].outputs)]
    return (at_example or judged)[0]


def _attempt(mode, job, folder, model, entry, kwargs, inputs, second_inputs, trace_inputs, device, rtol, atol, timeout):
    """One X2Paddle run and its judgement; errors are kept (the other attempt may still work)."""
    t0 = time.monotonic()
    a: dict = {"mode": mode, "dir": folder, "report": None, "error": None, "x2paddle": 0.0}
    try:
        result = run_worker(job, folder, timeout)
    except TraceError as e:
        a["error"] = str(e).removeprefix("X2Paddle failed: ").split(" (log: ")[0]
        a["x2paddle"] = a["seconds"] = time.monotonic() - t0
        return a
    a["x2paddle"] = time.monotonic() - t0
    fixes = result.get("fixes", []) + clean_code(folder / CODE)
    if result.get("export"):
        fixes.insert(0, f"torch.onnx.export: {result['export']}")
    manifest = {"schema": MANIFEST_SCHEMA, "route": mode, "tool": f"x2paddle {result.get('x2paddle')}",
                "entry": entry, "kwargs": kwargs, "code": CODE, "class": port_class(folder / CODE), "weights": WEIGHTS,
                "torch_state": TORCH_STATE, "input_shapes": [list(x.shape) for x in inputs],
                "input_dtypes": [str(x.dtype) for x in inputs], "example_batch": int(trace_inputs[0].shape[0]),
                "tracer_warnings": result.get("warnings", []), "fixes": fixes}
    warnings_ = result.get("warnings", [])

    def rejudge(layer):
        return _judge(model, layer, inputs, second_inputs, route=ROUTE_NAMES[mode], device=device, rtol=rtol,
                      atol=atol, example_batch=manifest["example_batch"], code=folder / CODE, tracer_warnings=warnings_)
    try:
        layer = _load(folder, manifest)
        report = rejudge(layer)
    except Exception as e:
        a["error"] = " ".join(str(e).split())[:300]
        a["seconds"] = time.monotonic() - t0
        return a
    if report.baked.get("batch_baked") and all(c.passed for c in report.outputs):
        fixed = _try_unbake(folder, manifest, rejudge)
        if fixed is not None:
            layer, report, change = fixed
            fixes.append(change)
    a.update(report=report, manifest=manifest, fixes=fixes, layer=layer, seconds=time.monotonic() - t0)
    return a


# -- ONNX route ------------------------------------------------------------------------------------
def onnx_inputs(model_path: str, specs=None, seed: int = 0):
    """(inputs, second inputs or None, batch declared dynamic) for an ONNX model: from --input specs, or
    from the graph's declared input shapes (float inputs only)."""
    import onnx

    from porter.parity.inputs import InputSpec, make_inputs
    from porter.trace.onnx_fix import OnnxFixError
    try:
        model = onnx.load(model_path, load_external_data=False)
    except Exception as e:
        raise OnnxFixError(f"{model_path}: not a readable ONNX model ({type(e).__name__})") from None
    init = {t.name for t in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in init]
    if not graph_inputs:
        raise OnnxFixError(f"{model_path}: not an ONNX model (no graph inputs)")
    dynamic = any(i.type.tensor_type.shape.dim and not i.type.tensor_type.shape.dim[0].HasField("dim_value")
                  for i in graph_inputs)
    if not specs:
        specs = []
        for i in graph_inputs:
            dims = i.type.tensor_type.shape.dim
            dtype = onnx.helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type)
            if not dims or any(not d.HasField("dim_value") or d.dim_value <= 0 for d in dims):
                raise RouteInputError(f"{model_path}: input {i.name!r} has no fixed shape; give --input SHAPE "
                                      f"(one per input, in order)")
            if np.dtype(dtype).kind != "f":
                raise RouteInputError(f"{model_path}: input {i.name!r} is {np.dtype(dtype)}; give --input "
                                      f"SHAPE:DTYPE:LO-HI for it")
            specs.append(InputSpec(tuple(d.dim_value for d in dims), str(np.dtype(dtype))))
    if len(specs) != len(graph_inputs):
        raise RouteInputError(f"{model_path}: the model takes {len(graph_inputs)} inputs, got {len(specs)} --input")
    inputs = make_inputs(specs, seed=seed)
    b = specs[0].shape[0]
    second = make_inputs(specs, seed=seed + 1, batch=second_batch_of(b))
    return inputs, second, dynamic, [i.name for i in graph_inputs]


def _onnx_reference(model_path: str, names: list[str]):
    """onnxruntime when installed, else onnx's reference evaluator (numpy, slower, exact semantics)."""
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
        return (lambda xs: _one(sess.run(None, dict(zip(names, xs))))), "onnxruntime"
    except ImportError:
        from onnx.reference import ReferenceEvaluator
        ev = ReferenceEvaluator(model_path)
        return (lambda xs: _one(ev.run(None, dict(zip(names, xs))))), "onnx.reference"


def _one(outputs):
    return outputs[0] if len(outputs) == 1 else list(outputs)


def onnx_convert(model_path: str, out: str | Path, *, specs=None, force: bool = False, device: str = "cpu",
                 rtol=None, atol=None, timeout: float | None = None, seed: int = 0) -> Outcome:
    from porter.trace.onnx_fix import OnnxFixError
    out = Path(out)
    src = Path(model_path)
    if not src.is_file():
        raise RouteInputError(f"{model_path}: no such file")
    if x2paddle_available() is None:
        raise TraceError("x2paddle is not installed: pip install 'porter[trace]'")
    inputs, second, dynamic, names = onnx_inputs(str(src), specs, seed)
    _prepare_out(out, force)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="porter-onnx-") as tmp:
        job = {"mode": "onnx", "model": str(src.resolve()), "fixed": str(Path(tmp) / "fixed.onnx")}
        try:
            result = run_worker(job, out, timeout)
        except TraceError as e:
            bad = _onnx_file_error(out / LOG, str(e))
            if bad:
                raise OnnxFixError(bad) from None
            raise
    t1 = time.monotonic()
    fixes = result.get("fixes", []) + clean_code(out / CODE)
    manifest = {"schema": MANIFEST_SCHEMA, "route": "onnx", "tool": f"x2paddle {result.get('x2paddle')}",
                "source": str(src), "code": CODE, "class": port_class(out / CODE), "weights": WEIGHTS,
                "input_names": names, "input_shapes": [list(x.shape) for x in inputs],
                "input_dtypes": [str(x.dtype) for x in inputs], "example_batch": int(inputs[0].shape[0]),
                "batch_dynamic": dynamic, "fixes": fixes}
    layer = _load(out, manifest)
    reference, ref_name = _onnx_reference(str(src), names)
    report = _judge(reference, layer, inputs, second, route=ROUTE_NAMES["onnx"], device=device, rtol=rtol,
                   atol=atol, example_batch=manifest["example_batch"], code=out / CODE, second_expected=dynamic)
    report.notes.insert(0, f"reference: the ONNX file run by {ref_name}")
    report.model = str(src)
    report.weights = {"source": f"{WEIGHTS} (written by X2Paddle from the ONNX initializers)",
                      "tensors": len(layer.state_dict()), "unused": len(layer.porter_unused_weights)}
    t2 = time.monotonic()
    manifest["parity"] = {"passed": report.passed, "reference": ref_name, **report.baked}
    _write_port_files(out, manifest, report)
    seconds = {"x2paddle": t1 - t0, "check": t2 - t1}
    return Outcome(out, "onnx", report, _summary(out, manifest, report, fixes, seconds), seconds)


def _onnx_file_error(log: Path, message: str) -> str | None:
    """The worker's one-line reason when the file itself is unusable (not X2Paddle's limits)."""
    if "OnnxFixError" in message:
        return message.split("OnnxFixError: ", 1)[1].split(" (at ", 1)[0]
    return None


# -- output ----------------------------------------------------------------------------------------
def _write_port_files(out: Path, manifest: dict, report) -> None:
    from porter.fs import atomic_write
    atomic_write(out / MANIFEST, lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=2), encoding="utf-8"))
    atomic_write(out / "parity.md", lambda tmp: Path(tmp).write_text(report.to_markdown(), encoding="utf-8"))
    atomic_write(out / "parity.json", lambda tmp: Path(tmp).write_text(json.dumps(report.to_json(), indent=2),
                                                                         encoding="utf-8"))


def _worst(cmps) -> str:
    if not cmps:
        return "-"
    c = max(cmps, key=lambda c: (not c.passed, c.max_abs))
    return c.note if c.note and not np.isfinite(c.max_abs) else f"max abs {c.max_abs:.2e}"


def _summary(out: Path, manifest: dict, report, fixes: list[str], seconds: dict) -> list[str]:
    b = manifest["example_batch"]
    lines = [f"wrote {out}/ ({CODE}, {WEIGHTS}, {MANIFEST}, parity.md) via {manifest['tool']} "
             f"in {seconds.get('x2paddle', 0):.1f} s"]
    lines += [f"fixed: {f}" for f in fixes]
    lines.append(f"parity at batch {b}: {'match' if all(c.passed for c in report.outputs) else 'MISMATCH'} "
                 f"({_worst(report.outputs)})")
    if report.second_batch is not None:
        b2 = report.baked.get("other_batch")
        lines.append(f"parity at batch {b2}: {'match' if all(c.passed for c in report.second_batch) else 'MISMATCH'} "
                     f"({_worst(report.second_batch)})")
    lines += [f"note: {n}" if not n.startswith("  ") else n for n in report.notes if n not in fixes]
    lines.append(f"given up on this route: {GIVE_UP}")
    lines.append(f"verdict: {'PASS' if report.passed else 'FAIL'} ({ROUTE_NAMES[manifest['route']]})"
                 + ("" if report.passed else f" — see {out / 'parity.md'}"))
    return lines
