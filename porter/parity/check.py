"""`check_parity`: run a torch module and its paddle port on identical inputs and say, with numbers,
whether they agree: outputs element-wise, every layer paired by module path, the first layer that
diverges on its own (replayed on the torch layer's inputs), gradients through the weight ledger.

Both models run in eval mode. Weights move with `transfer_weights` (strict); BatchNorm statistics still
at their initial 0/1 are perturbed first (on the torch side, so both get the same values) so a wrong
mapping cannot hide behind them.
"""
from __future__ import annotations

import inspect
import platform
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from porter.parity.metrics import Comparison, compare, compare_outputs


GRAD_REL_L2 = 1e-3


@dataclass
class LayerResult:
    path: str
    torch_type: str
    paddle_type: str
    accumulated: Comparison | None        # paddle's output vs torch's, errors from upstream included
    local: Comparison | None = None       # paddle layer replayed on the torch layer's inputs

    def to_json(self) -> dict:
        return {"layer": self.path, "torch_type": self.torch_type, "paddle_type": self.paddle_type,
                "accumulated": self.accumulated.to_json() if self.accumulated else None,
                "local": self.local.to_json() if self.local else None}


@dataclass
class ParityReport:
    passed: bool
    outputs: list[Comparison]
    layers: list[LayerResult] = field(default_factory=list)
    first_divergence: dict | None = None
    gradients: list[Comparison] = field(default_factory=list)
    second_batch: list[Comparison] | None = None
    train_step: list[Comparison] | None = None    # parameters after one optimizer step
    gradient_error: str | None = None             # why gradients could not be compared
    environment: dict = field(default_factory=dict)
    model: str = ""
    weights: dict = field(default_factory=dict)
    route: str = "rewrite"

    def to_json(self) -> dict:
        from porter.parity.report import to_json
        return to_json(self)

    def to_markdown(self) -> str:
        from porter.parity.report import to_markdown
        return to_markdown(self)


# -- helpers -------------------------------------------------------------------------------------
def environment(device: str) -> dict:
    import paddle
    import torch
    return {"python": platform.python_version(), "torch": torch.__version__, "paddle": paddle.__version__,
            "numpy": np.__version__, "device": device, "torch_threads": torch.get_num_threads(),
            "platform": platform.platform()}


def perturb_initial_bn_stats(module, seed: int = 0) -> list[str]:
    """Running statistics still at 0 (mean) / 1 (var) get seeded random values; returns the buffers."""
    import torch
    rng = np.random.default_rng(seed)
    changed = []
    with torch.no_grad():
        for name, buf in module.named_buffers():
            if name.endswith("running_mean") and bool((buf == 0).all()):
                buf.copy_(torch.from_numpy(rng.normal(0, 0.5, buf.shape).astype(np.float32)).to(buf.dtype))
                changed.append(name)
            elif name.endswith("running_var") and bool((buf == 1).all()):
                buf.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, buf.shape).astype(np.float32)).to(buf.dtype))
                changed.append(name)
    return changed


def _to_torch(v, device):
    import torch
    if isinstance(v, np.ndarray):
        return torch.from_numpy(np.array(v)).to(device)
    return v


def _to_paddle(v):
    import paddle
    if isinstance(v, np.ndarray):
        return paddle.to_tensor(np.array(v))
    return v


def _torch_to_paddle(v):
    """A captured torch value (nested) as paddle values, for replay."""
    import paddle
    if hasattr(v, "detach"):
        return paddle.to_tensor(v.detach().cpu().numpy())
    if isinstance(v, (list, tuple)):
        return type(v)(_torch_to_paddle(x) for x in v) if not hasattr(v, "_fields") else type(v)(*(_torch_to_paddle(x) for x in v))
    if isinstance(v, dict):
        return {k: _torch_to_paddle(x) for k, x in v.items()}
    return v


def _torch_device(device: str) -> str:
    return "cuda" if device == "gpu" else "cpu"


class _Capture:
    """Forward hooks on every submodule/sublayer: the first call's inputs (torch) and output (both)."""

    def __init__(self, torch_module, paddle_layer):
        self.t_out: dict[str, Any] = {}
        self.t_in: dict[str, tuple] = {}
        self.p_out: dict[str, Any] = {}
        self.order: list[str] = []           # torch completion order (children before parents)
        self.handles = []
        self.p_layers = dict(paddle_layer.named_sublayers(include_self=True))
        self.t_modules = dict(torch_module.named_modules())
        for path, mod in self.t_modules.items():
            self.handles.append(mod.register_forward_hook(self._t_hook(path), with_kwargs=True))
        for path, layer in self.p_layers.items():
            self.handles.append(layer.register_forward_post_hook(self._p_hook(path)))

    def _t_hook(self, path):
        def hook(module, args, kwargs, output):
            if path not in self.t_out:
                self.t_out[path] = output
                self.t_in[path] = (args, kwargs)
                self.order.append(path)
        return hook

    def _p_hook(self, path):
        def hook(layer, inputs, output):
            self.p_out.setdefault(path, output)
        return hook

    def remove(self):
        for h in self.handles:
            h.remove()
        self.handles = []


def _first(cmps: list[Comparison]) -> Comparison | None:
    if not cmps:
        return None
    worst = max(cmps, key=lambda c: (not c.passed, c.mismatch, c.max_abs))
    return worst


def _row_for(paddle_layer) -> str | None:
    from porter.mappings import default_table, resolve_paddle
    for row in default_table().rows.values():
        if row.paddle and not row.is_method:
            try:
                if resolve_paddle(row.paddle) is type(paddle_layer):
                    return f"{row.source} [{row.torch}]"
            except (ImportError, AttributeError):
                continue
    return None


def _source_line(paddle_root, path: str) -> str | None:
    """Where the layer at `path` is created (`self.<name> =` in its parent's class), else its class."""
    layers = dict(paddle_root.named_sublayers(include_self=True))
    layer = layers.get(path)
    parent_path, _, name = path.rpartition(".")
    parent = layers.get(parent_path) if path else None
    for owner, pattern in ((parent, rf"self\.{re.escape(name)}\s*[:=]"), (layer, r"\bdef forward\b")):
        if owner is None or type(owner).__module__.startswith("paddle."):
            continue
        try:
            lines, start = inspect.getsourcelines(type(owner))
            file = inspect.getsourcefile(type(owner))
        except (OSError, TypeError):
            continue
        for i, text in enumerate(lines):
            if re.search(pattern, text):
                return f"{file}:{start + i}: {text.strip()}"
    return None


# -- the check -----------------------------------------------------------------------------------
def check_parity(torch_module, paddle_layer, inputs: Sequence[np.ndarray], *, device: str = "cpu",
                 rtol: float | None = None, atol: float | None = None, transfer: bool = True,
                 layers: bool = True, backward: bool = True, second_inputs: Sequence[np.ndarray] | None = None,
                 train_step: str | None = None, seed: int = 0) -> ParityReport:
    """Compare `torch_module` and `paddle_layer` on `inputs` (numpy arrays, positional arguments).

    `train_step`: a torch optimizer expression over `params`, e.g. "torch.optim.AdamW(params, lr=1e-3)";
    it is converted with porter, both optimizers take one step on the gradients of the check's loss, and
    the parameters are compared (needs backward)."""
    import paddle
    import torch

    t_dev = _torch_device(device)
    paddle.set_device("gpu" if device == "gpu" else "cpu")
    torch_module.to(t_dev)
    weights: dict = {}
    if transfer:
        from porter.weights import transfer_weights
        perturbed = perturb_initial_bn_stats(torch_module, seed)
        ledger = transfer_weights(torch_module, paddle_layer)
        weights = {"tensors": len(ledger.entries), "dropped": ledger.dropped, "perturbed_bn_buffers": len(perturbed)}
    torch_module.eval()
    paddle_layer.eval()

    # one forward of each model serves the outputs, every layer's output and (graph kept) the backward
    capture = _Capture(torch_module, paddle_layer) if layers else None
    try:
        with torch.set_grad_enabled(backward):
            t_out = torch_module(*[_to_torch(x, t_dev) for x in inputs])
        with paddle.set_grad_enabled(backward):
            p_out = paddle_layer(*[_to_paddle(x) for x in inputs])
    finally:
        if capture:
            capture.remove()
    outputs = compare_outputs(t_out, p_out, device, rtol, atol)
    passed = all(c.passed for c in outputs)
    report = ParityReport(passed, outputs, environment=environment(device), weights=weights)

    if capture:
        for path in capture.order:
            p_layer = capture.p_layers.get(path)
            acc = None
            if path in capture.p_out:
                acc = _first(compare_outputs(capture.t_out[path], capture.p_out[path], device, rtol, atol, path or "model"))
            report.layers.append(LayerResult(path or "(model)", type(capture.t_modules[path]).__name__,
                                             type(p_layer).__name__ if p_layer is not None else "-", acc))
        if not passed:
            _localise(report, capture, device, rtol, atol, paddle_layer)

    if backward:
        try:
            report.gradients = _compare_gradients(torch_module, paddle_layer, t_out, p_out, device, rtol, atol, seed)
        except RuntimeError as e:
            # e.g. paddle's RNN kernels keep no backward state in eval mode ("Tensor holds no memory"):
            # said plainly in the report, not counted as a pass or a failure of the gradients
            report.gradient_error = f"{type(e).__name__}: {str(e).splitlines()[0]}"
            train_step = None
        passed = passed and all(c.passed for c in report.gradients)
        if train_step:
            report.train_step = _compare_train_step(torch_module, paddle_layer, train_step, device)
            passed = passed and all(c.passed for c in report.train_step)
    del t_out, p_out, capture

    if second_inputs is not None:
        with torch.no_grad():
            t2 = torch_module(*[_to_torch(x, t_dev) for x in second_inputs])
        with paddle.no_grad():
            p2 = paddle_layer(*[_to_paddle(x) for x in second_inputs])
        report.second_batch = compare_outputs(t2, p2, device, rtol, atol)
        passed = passed and all(c.passed for c in report.second_batch)
    report.passed = passed
    return report


def _localise(report: ParityReport, capture: _Capture, device, rtol, atol, paddle_root) -> None:
    """Replay each paddle layer (children before parents) on the inputs its torch twin received; the
    first whose own output differs is where the port goes wrong. If every sublayer is right on its own,
    the enclosing forward code is (the root is last in the order)."""
    import paddle
    by_path = {r.path if r.path != "(model)" else "": r for r in report.layers}
    for path in capture.order:
        p_layer = capture.p_layers.get(path)
        if p_layer is None:
            continue
        args, kwargs = capture.t_in[path]
        try:
            with paddle.no_grad():
                out = p_layer(*_torch_to_paddle(tuple(args)), **_torch_to_paddle(dict(kwargs)))
            local = _first(compare_outputs(capture.t_out[path], out, device, rtol, atol, path or "model"))
        except Exception as e:  # the paddle layer cannot take torch's inputs: a divergence in itself
            local = Comparison(path or "model", [], "", float("inf"), float("inf"), 1.0, float("nan"), float("inf"), 0, 0,
                               False, f"replay failed: {type(e).__name__}: {e}")
        by_path[path].local = local
        if local is not None and not local.passed:
            report.first_divergence = {
                "layer": path, "torch_type": type(capture.t_modules[path]).__name__,
                "paddle_type": type(p_layer).__name__, "row": _row_for(p_layer),
                "source": _source_line(paddle_root, path),
                "local": local.to_json(),
                "blame": "the layer's forward code" if any(
                    p.startswith(path + ".") or (path == "" and p) for p in capture.order if p != path)
                else "the layer (its mapping row or weights)",
            }
            return


def _compare_gradients(torch_module, paddle_layer, t_out, p_out, device, rtol, atol, seed) -> list[Comparison]:
    """Loss = sum over outputs of <output, R> with a fixed random R (a permutation cannot hide); the
    torch gradients are moved through the same weight rules as the weights, then compared."""
    import paddle
    import torch
    from porter.weights import plan

    rng = np.random.default_rng(seed + 7)
    t_loss, p_loss = 0, 0
    t_leaves = [v for v in _tensor_leaves(t_out) if v.dtype.is_floating_point]
    p_leaves = [v for v in _tensor_leaves(p_out) if v.dtype in (paddle.float32, paddle.float64, paddle.float16)]
    for tv, pv in zip(t_leaves, p_leaves):
        r = rng.standard_normal(tuple(tv.shape)).astype(np.float32)
        t_loss = t_loss + (tv * torch.from_numpy(r).to(tv.device, tv.dtype)).sum()
        p_loss = p_loss + (pv * paddle.to_tensor(r).astype(pv.dtype)).sum()
    if not t_leaves:
        return []
    torch_module.zero_grad(set_to_none=True)
    paddle_layer.clear_gradients()
    t_loss.backward()
    p_loss.backward()
    grads = {}
    for k, v in torch_module.state_dict(keep_vars=True).items():
        g = getattr(v, "grad", None)
        grads[k] = g.detach().cpu().numpy() if g is not None else v.detach().cpu().numpy() * 0
    values, _ = plan(grads, paddle_layer, strict=False)
    sd = paddle_layer.state_dict()
    out = []
    for key, tg in values.items():
        param = sd[key]
        if getattr(param, "stop_gradient", True) or param.grad is None:
            continue
        c = compare(f"grad {key}", tg, param.grad.numpy(), device, rtol, atol)
        c.passed = c.rel_l2 <= GRAD_REL_L2 and not c.note     # see porter.parity.metrics: gradients
        c.rtol, c.atol = GRAD_REL_L2, 0.0
        out.append(c)
    return out


def _compare_train_step(torch_module, paddle_layer, expr: str, device) -> list[Comparison]:
    """One step of the torch optimizer `expr` and of its porter conversion, on the gradients already
    computed; parameters compared through the weight rules (relative L2, as gradients)."""
    from porter.convert.engine import convert_source
    from porter.weights import plan

    program = f"import torch\nopt = {expr}\n"
    conv = convert_source(program)
    if conv.unconverted:
        raise ValueError(f"the optimizer expression does not convert: {conv.unconverted}")
    t_ns = {"params": torch_module.parameters()}
    exec(program, t_ns)  # noqa: S102 - the user's own optimizer expression, as they asked
    p_ns = {"params": paddle_layer.parameters()}
    exec(conv.code, p_ns)  # noqa: S102
    t_ns["opt"].step()
    p_ns["opt"].step()
    state = {k: v.detach().cpu().numpy() for k, v in torch_module.state_dict().items()}
    values, _ = plan(state, paddle_layer, strict=False)
    sd = paddle_layer.state_dict()
    out = []
    for key, tv in values.items():
        if getattr(sd[key], "stop_gradient", True):
            continue
        c = compare(f"after step {key}", tv, sd[key].numpy(), device)
        c.passed = c.rel_l2 <= GRAD_REL_L2 and not c.note
        c.rtol, c.atol = GRAD_REL_L2, 0.0
        out.append(c)
    return out


def _tensor_leaves(v):
    if isinstance(v, dict):
        return [x for item in v.values() for x in _tensor_leaves(item)]
    if isinstance(v, (list, tuple)):
        return [x for item in v for x in _tensor_leaves(item)]
    if hasattr(v, "shape") and hasattr(v, "dtype"):
        return [v]
    return []


