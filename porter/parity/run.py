"""`porter check ENTRY`: build the torch model, convert its source on the fly (or take an existing port
with --paddle-path), build the paddle model, and run `check_parity`. Each failure names its stage."""
from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class StageError(RuntimeError):
    def __init__(self, stage: str, message: str):
        super().__init__(f"{stage}: {message}")
        self.stage = stage


@dataclass
class Target:
    spec: str               # ENTRY as the user wrote it
    root: Path              # folder that goes on sys.path
    module: str             # dotted module
    attr: str


def resolve_target(spec: str, path: str | None) -> Target:
    from porter.entry import parse_entry
    return Target(spec, *parse_entry(spec, path))


def _purge(top: str) -> None:
    for name in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
        del sys.modules[name]


def _build(root: Path, module: str, attr: str, kwargs: dict) -> Any:
    from porter.entry import load_entry
    _purge(module.split(".")[0])
    try:
        factory = load_entry(f"{module}:{attr}", str(root))
        return factory(**kwargs)
    finally:
        _purge(module.split(".")[0])      # the other framework's twin has the same module name


def convert_tree(target: Target, out: Path) -> Path:
    """Convert the top-level package (or the single file) that holds the entry module into `out`."""
    from porter.convert.paths import convert_path
    top = target.module.split(".")[0]
    src = target.root / top
    if src.is_dir():
        report = convert_path(src, out / top)
    else:
        report = convert_path(target.root / f"{top}.py", out / f"{top}.py")
    if report.errors:
        raise StageError("convert", "; ".join(f"{f.path}: {f.error}" for f in report.errors))
    return out


def run_check(spec: str, *, inputs, second_inputs=None, path: str | None = None, paddle_path: str | None = None,
              kwargs: dict | None = None, device: str = "cpu", rtol=None, atol=None, backward: bool = True,
              train_step: str | None = None):
    from porter.parity.check import check_parity
    kwargs = kwargs or {}
    try:
        target = resolve_target(spec, path)
    except ValueError as e:
        raise StageError("load torch model", str(e)) from None
    if device == "gpu":
        _require_gpu()
    try:
        torch_model = _build(target.root, target.module, target.attr, kwargs)
    except Exception as e:
        raise StageError("load torch model", f"{type(e).__name__}: {e}") from None
    from porter.trace.x2paddle_runner import has_manifest
    if has_manifest(paddle_path):        # a port written by the trace or ONNX route (porter.trace)
        report = _check_traced_port(torch_model, Path(paddle_path), inputs, second_inputs, device, rtol, atol,
                                    train_step)
        report.model = spec
        return report
    with tempfile.TemporaryDirectory(prefix="porter-check-") as tmp:
        route = "existing port" if paddle_path else "rewrite"
        try:
            p_root = Path(paddle_path).resolve() if paddle_path else convert_tree(target, Path(tmp))
        except StageError:
            raise
        except Exception as e:
            raise StageError("convert", f"{type(e).__name__}: {e}") from None
        try:
            paddle_model = _build(p_root, target.module, target.attr, kwargs)
        except Exception as e:
            raise StageError("load paddle model", f"{type(e).__name__}: {e}{_where(e, p_root)}") from None
        try:
            report = check_parity(torch_model, paddle_model, inputs, device=device, rtol=rtol, atol=atol,
                                  backward=backward, second_inputs=second_inputs, train_step=train_step)
        except Exception as e:
            from porter.weights import WeightTransferError
            stage = "transfer weights" if isinstance(e, WeightTransferError) else "run"
            raise StageError(stage, f"{type(e).__name__}: {e}") from None
    report.model = spec
    report.route = route
    return report


def _check_traced_port(torch_model, folder: Path, inputs, second_inputs, device, rtol, atol, train_step):
    """Judge a trace/ONNX port folder (porter_port.json): its own weights, the torch model with the
    weights it was traced from (trace route) or as ENTRY builds them (ONNX route)."""
    from porter.trace.route import judge
    from porter.trace.x2paddle_runner import ROUTE_NAMES, load_port, read_manifest
    try:
        manifest = read_manifest(folder)
        route = ROUTE_NAMES.get(manifest.get("route"), str(manifest.get("route")))
    except Exception as e:
        raise StageError("load paddle model", f"{folder}: unreadable port manifest: {type(e).__name__}: {e}") from None
    note = None
    if manifest.get("torch_state"):
        try:
            import torch
            torch_model.load_state_dict(torch.load(folder / manifest["torch_state"], weights_only=True), strict=True)
        except Exception as e:
            raise StageError("transfer weights", f"{folder / manifest['torch_state']}: {type(e).__name__}: "
                                                 f"{str(e).splitlines()[0]}") from None
    else:
        note = ("torch weights: as ENTRY builds them; an ONNX port carries the exported weights, so ENTRY must "
                "build the model those came from (load its checkpoint) for the two to agree")
    try:
        layer = load_port(folder, manifest)
    except Exception as e:
        raise StageError("load paddle model", f"{type(e).__name__}: {e}{_where(e, folder)}") from None
    try:
        report = judge(torch_model, layer, inputs, second_inputs, route=route, device=device, rtol=rtol, atol=atol,
                       example_batch=manifest.get("example_batch"), code=folder / manifest.get("code", "x2paddle_code.py"),
                       tracer_warnings=manifest.get("tracer_warnings", []))
    except Exception as e:
        raise StageError("run", f"{type(e).__name__}: {e}") from None
    report.weights = {"source": f"{manifest.get('weights')} in {folder} (the port's own)"
                      + (f"; torch loaded from {manifest['torch_state']}" if manifest.get("torch_state") else ""),
                      "tensors": len(layer.state_dict()), "unused": len(getattr(layer, "porter_unused_weights", []))}
    if note:
        report.notes.insert(0, note)
    if train_step:
        report.notes.append("--train-step not applied: a traced port is for inference")
    return report


def _where(error: BaseException, root: Path) -> str:
    """`, at <file>:<line>: <code>` for the deepest frame inside the converted tree, if any."""
    import traceback
    root = str(root.resolve())
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(root)]
    if not frames:
        return ""
    f = frames[-1]
    return f"\n  at {Path(f.filename).relative_to(root)}:{f.lineno}: {(f.line or '').strip()}"


def _require_gpu() -> None:
    import paddle
    import torch
    missing = [name for name, ok in (("torch", torch.cuda.is_available()),
                                     ("paddle", paddle.device.is_compiled_with_cuda()
                                      and paddle.device.cuda.device_count() > 0)) if not ok]
    if missing:
        raise StageError("device", f"--device gpu needs CUDA in both frameworks; not available in: {', '.join(missing)}")
