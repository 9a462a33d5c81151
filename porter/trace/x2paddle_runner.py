"""Run X2Paddle in a subprocess (porter.trace._worker) and turn what it leaves behind into a port folder,
or one clear error. X2Paddle exits 0 after many failures and prints its errors; porter decides from
the files it wrote and the worker's result file instead.

A port folder holds:
  x2paddle_code.py      the paddle code X2Paddle wrote (cleaned: see `clean_code`)
  model.pdparams        its weights
  porter_port.json      the manifest `porter check --paddle-path` reads (route, class, weights, inputs)
  torch_state.pt        (trace route) the torch weights the port was traced with, so a check compares the
                        same numbers
  x2paddle.log          X2Paddle's own output
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

CODE, WEIGHTS, MANIFEST, TORCH_STATE, LOG = ("x2paddle_code.py", "model.pdparams", "porter_port.json",
                                            "torch_state.pt", "x2paddle.log")
MANIFEST_SCHEMA = "porter.port/1"
ROUTE_NAMES = {"trace": "trace (X2Paddle)", "onnx": "onnx (X2Paddle)",
               "export": "trace via ONNX export (torch.onnx + X2Paddle)"}


class TraceError(RuntimeError):
    """X2Paddle could not produce a port; the message is one line."""


def x2paddle_available() -> str | None:
    """The installed x2paddle's version, or None (without importing it: its ONNX parts break on import)."""
    try:
        from importlib.metadata import version
        return version("x2paddle")
    except Exception:
        return None


def run_worker(job: dict, out: Path, timeout: float | None = None) -> dict:
    """Run one X2Paddle job in a fresh interpreter; return its result (ok) or raise TraceError."""
    if x2paddle_available() is None:
        raise TraceError("x2paddle is not installed: pip install 'porter[trace]'")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="porter-x2p-") as tmp:
        job = dict(job, out=str(out), result=str(Path(tmp) / "result.json"))
        job_file = Path(tmp) / "job.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])          # porter itself, installed or not
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
        log_path = out / LOG
        try:
            with open(log_path, "w", encoding="utf-8") as log:
                proc = subprocess.run([sys.executable, "-m", "porter.trace._worker", str(job_file)], cwd=tmp,
                                      stdout=log, stderr=subprocess.STDOUT, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TraceError(f"X2Paddle did not finish within {timeout:.0f} s (log: {log_path})") from None
        try:
            result = json.loads(Path(job["result"]).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise TraceError(f"X2Paddle's process died (exit {proc.returncode}){_last_error(log_path)} "
                             f"(log: {log_path})") from None
    if not result.get("ok"):
        ops = _unsupported(log_path)
        raise TraceError(f"X2Paddle failed: {ops or result.get('error')} (log: {log_path})")
    missing = [n for n in (CODE, WEIGHTS) if not (out / n).is_file()]
    if missing:
        raise TraceError(f"X2Paddle reported success but wrote no {' or '.join(missing)}"
                         f"{_last_error(log_path)} (log: {log_path})")
    return result


def _log_lines(log_path: Path) -> list[str]:
    try:
        return log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _last_error(log_path: Path) -> str:
    lines = [l.strip() for l in _log_lines(log_path) if re.search(r"\[ERROR\]|Error|Exception", l)]
    return f": {lines[-1][:300]}" if lines else ""


def _unsupported(log_path: Path) -> str:
    ops = [m.group(1) for l in _log_lines(log_path) if (m := re.match(r"=+ (\S+::\S+|\w+) =+$", l.strip()))]
    return f"no mapping for {', '.join(dict.fromkeys(ops))}" if ops else ""


def clean_code(path: Path) -> list[str]:
    """Fix what X2Paddle 1.6.0 writes wrong for paddle 3.3 and drop its needless runtime import; return
    the changes. The code stays X2Paddle's otherwise."""
    text = path.read_text(encoding="utf-8")
    changes = []
    # torch's F.max_pool2d(x, k) has stride=[] ("same as kernel"); X2Paddle copies the empty list and
    # paddle refuses it. Paddle's default stride is also the kernel size.
    new = re.sub(r",\s*stride=\[\]", "", text)
    new = re.sub(r"stride=\[\],\s*", "", new)
    if new != text:
        changes.append("pooling stride=[] (torch: same as kernel) dropped: paddle's default is the kernel size")
    # the ONNX route names each parameter globally (create_parameter(attr='x2paddle_w')): a second instance
    # in one process fails ("parameter name ... have be been used"); the weights load by attribute name
    new2 = re.sub(r"(self\.create_parameter\([^)]*?)attr='[^']*',\s*", r"\1", new)
    if new2 != new:
        new = new2
        changes.append("global parameter names (attr=...) dropped: the port can be built more than once")
    # the custom-layer import pulls in X2Paddle (and through it onnx's removed modules) when unused
    for line in re.findall(r"^from x2paddle\.\S+ import (?:\w+_custom_layer) as (\w+)\n", new, re.M):
        if not re.search(rf"\b{line}\.", new):
            new = re.sub(rf"^from x2paddle\.\S+ import \w+_custom_layer as {line}\n", "", new, flags=re.M)
            changes.append("unused X2Paddle custom-layer import dropped: the port runs without x2paddle")
    if new != text:
        path.write_text(new, encoding="utf-8")
    return changes


def port_class(code: Path) -> str:
    """The paddle.nn.Layer class X2Paddle wrote (the one `main` builds)."""
    text = code.read_text(encoding="utf-8")
    m = re.search(r"^\s*model = (\w+)\(\)", text, re.M)
    if m:
        return m.group(1)
    classes = re.findall(r"^class (\w+)\(paddle\.nn\.Layer\)", text, re.M)
    if not classes:
        raise TraceError(f"{code}: no paddle.nn.Layer class in X2Paddle's code")
    return classes[-1]


def baked_shape_lines(code: Path, batch: int) -> list[str]:
    """Lines of the port that hold a literal shape list starting with the example's batch size: the
    usual form of a baked batch (`paddle.reshape(x=x, shape=[2, 256])`)."""
    out = []
    for i, line in enumerate(code.read_text(encoding="utf-8").splitlines(), 1):
        if re.search(rf"\b(shape|size|sections)=\[\s*{batch}\s*,", line):
            out.append(f"{code.name}:{i}: {line.strip()}")
    return out


def load_port(folder: str | os.PathLike, manifest: dict | None = None):
    """Build the paddle model of a port folder and load its weights strictly."""
    import importlib.util

    import paddle
    folder = Path(folder)
    manifest = manifest or read_manifest(folder)
    code = folder / manifest.get("code", CODE)
    name = f"porter_port_{abs(hash(str(code.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, code)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    layer = getattr(module, manifest["class"])()
    state = paddle.load(str(folder / manifest.get("weights", WEIGHTS)))
    own = layer.state_dict()
    # paddle's RNN layers list each weight twice (`weight_ih_l0` and `0.cell.weight_ih`, one tensor): a key
    # is only missing when no key for the same tensor is there
    given = {getattr(v, "name", k) for k, v in own.items() if k in state}
    missing = sorted(k for k in set(own) - set(state) if getattr(own[k], "name", k) not in given)
    unused = sorted(set(state) - set(own))
    if missing:
        raise TraceError(f"{folder / manifest.get('weights', WEIGHTS)} does not fit {manifest['class']}: "
                         f"{len(missing)} tensors missing ({', '.join(missing[:5])})")
    # X2Paddle's ONNX route also saves the initializers it copied into layers under their own names
    layer.porter_unused_weights = unused
    for k, v in own.items():
        if k in state and tuple(v.shape) != tuple(state[k].shape):
            raise TraceError(f"{k}: weights {tuple(state[k].shape)} vs layer {tuple(v.shape)}")
    import warnings
    with warnings.catch_warnings():       # the RNN aliases above: checked here, not warned about
        warnings.simplefilter("ignore", UserWarning)
        layer.set_state_dict(state)
    layer.eval()
    return layer


def read_manifest(folder: str | os.PathLike) -> dict:
    path = Path(folder) / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema") != MANIFEST_SCHEMA:
        raise TraceError(f"{path}: unknown schema {data.get('schema')!r}")
    return data


def has_manifest(folder: str | os.PathLike | None) -> bool:
    return bool(folder) and (Path(folder) / MANIFEST).is_file()
