"""Per-row execution tests: run a torch snippet, convert it with porter, run the paddle result on the same
values, compare element-wise (values, shapes and dtypes).

Cases live in `tests/parity/cases/*.toml` as `[[case]]` tables:

    api     = "torch.nn.functional.relu"          # the row(s) exercised (string or list)
    inputs  = { x = "randn(2, 3)" }               # numpy-built values, the same on both sides
    exprs   = ["F.relu(x)", "F.relu(input=x)"]    # call forms: positional, keyword, reordered, defaults
    layers  = ["nn.Linear(4, 3)"]                 # or: layers built, weights moved by porter, then `call`
    call    = "m(x)"                              #   (default), in eval mode unless train = true
    script  = "..."                               # or: a program that sets `out`; `sync(m)` moves weights
    rtol, atol, check_dtype                       # tolerances (defaults 1e-5, 1e-6, true)

Each snippet is converted as a whole program that starts with the usual torch imports, so the import
rewriting is exercised too; a snippet that converts with anything unconverted fails.
"""
from __future__ import annotations

import io
import tokenize
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CASES_DIR = Path(__file__).parent / "cases"


def _torch_side_packages() -> None:
    """torchvision where the venv has none: the reference classes in torch_side/ (see its README)."""
    import importlib.util
    import sys
    if importlib.util.find_spec("torchvision") is None:
        sys.path.append(str(Path(__file__).parent / "torch_side"))


_torch_side_packages()

PRELUDE = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
"""


@dataclass
class Case:
    apis: list[str]
    source: str
    inputs: dict[str, str] = field(default_factory=dict)
    exprs: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    call: str = "m(x)"
    script: str | None = None
    train: bool = False
    rtol: float = 1e-5
    atol: float = 1e-6
    check_dtype: bool = True

    def forms(self) -> list[tuple[str, str]]:
        """(kind, snippet) pairs: each one is a separate test."""
        if self.script is not None:
            return [("script", self.script)]
        return [("expr", e) for e in self.exprs] + [("layer", l) for l in self.layers]


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.toml")):
        for raw in tomllib.loads(path.read_text(encoding="utf-8")).get("case", []):
            raw = dict(raw)
            api = raw.pop("api")
            cases.append(Case(apis=[api] if isinstance(api, str) else list(api), source=path.name, **raw))
    return cases


# -- inputs --------------------------------------------------------------------------------------
def make_inputs(spec: dict[str, str], seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    env = {
        "randn": lambda *s: rng.standard_normal(s).astype(np.float32),
        "rand": lambda *s: rng.random(s).astype(np.float32),
        "positive": lambda *s: (rng.random(s) + 0.1).astype(np.float32),
        "randint": lambda lo, hi, *s: rng.integers(lo, hi, s).astype(np.int64),
        "randbool": lambda *s: rng.random(s) > 0.5,
        "float64": lambda a: np.asarray(a, dtype=np.float64),
        "int32": lambda a: np.asarray(a, dtype=np.int32),
        "np": np,
    }
    out: dict[str, Any] = {}
    for name, expr in spec.items():
        out[name] = eval(expr, env, dict(out))  # noqa: S307 - test data written in this repository
    return out


def to_torch(v):
    import torch
    return torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v


def to_paddle(v):
    import paddle
    return paddle.to_tensor(np.array(v)) if isinstance(v, np.ndarray) else v


# -- results -------------------------------------------------------------------------------------
def to_numpy(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: to_numpy(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)) and not _is_shape(v):
        return [to_numpy(x) for x in v]
    if hasattr(v, "detach"):
        return v.detach().cpu().numpy()
    if hasattr(v, "numpy") and hasattr(v, "place"):
        return v.numpy()
    if _is_shape(v):
        return np.asarray(list(v), dtype=np.int64)
    return v


def _is_shape(v) -> bool:
    return type(v).__name__ == "Size" or (isinstance(v, (list, tuple)) and v and all(type(x) is int for x in v))


def assert_close(t: Any, p: Any, case: Case, path: str = "out") -> None:
    if isinstance(t, dict):
        assert isinstance(p, dict) and set(t) == set(p), f"{path}: keys {sorted(t)} vs {sorted(p)}"
        for k in t:
            assert_close(t[k], p[k], case, f"{path}[{k!r}]")
        return
    if isinstance(t, list):
        assert isinstance(p, list) and len(t) == len(p), f"{path}: torch gives {len(t)} items, paddle {p!r}"
        for i, (a, b) in enumerate(zip(t, p)):
            assert_close(a, b, case, f"{path}[{i}]")
        return
    if isinstance(t, np.ndarray) or isinstance(p, np.ndarray):
        ta, pa = np.asarray(t), np.asarray(p)
        assert ta.shape == pa.shape, f"{path}: shape torch {ta.shape} vs paddle {pa.shape}"
        if case.check_dtype:
            assert ta.dtype == pa.dtype, f"{path}: dtype torch {ta.dtype} vs paddle {pa.dtype}"
        if ta.dtype == bool or pa.dtype == bool:
            assert np.array_equal(ta, pa), f"{path}: boolean values differ"
            return
        wide = np.complex128 if np.iscomplexobj(ta) or np.iscomplexobj(pa) else np.float64   # keep imaginary parts
        np.testing.assert_allclose(pa.astype(wide), ta.astype(wide), rtol=case.rtol, atol=case.atol, err_msg=path)
        return
    if isinstance(t, float) or isinstance(p, float):
        np.testing.assert_allclose(float(p), float(t), rtol=case.rtol, atol=case.atol, err_msg=path)
        return
    assert t == p, f"{path}: torch {t!r} vs paddle {p!r}"


# -- running -------------------------------------------------------------------------------------
def convert_program(body: str) -> str:
    from porter import convert_source

    conv = convert_source(PRELUDE + body)
    assert not conv.unconverted, f"left unconverted: {conv.unconverted}\n{conv.code}"
    names = {t.string for t in tokenize.generate_tokens(io.StringIO(conv.code).readline) if t.type == tokenize.NAME}
    assert "torch" not in names, f"torch left in the output (comments aside):\n{conv.code}"
    return conv.code


def perturb_running_stats(module, rng) -> None:
    """BatchNorm statistics still at 0/1 would hide a wrong mapping (DESIGN.md): make them non-trivial."""
    import torch
    for name, buf in module.named_buffers():
        if name.endswith("running_mean"):
            buf.copy_(torch.from_numpy(rng.standard_normal(buf.shape).astype(np.float32)))
        elif name.endswith("running_var"):
            buf.copy_(torch.from_numpy((rng.random(buf.shape) + 0.5).astype(np.float32)))


def run_form(case: Case, kind: str, snippet: str, seed: int = 0):
    import paddle
    import torch
    from porter import transfer_weights

    values = make_inputs(case.inputs, seed)
    t_env: dict[str, Any] = {k: to_torch(v) for k, v in values.items()}
    p_env: dict[str, Any] = {k: to_paddle(v) for k, v in values.items()}
    t_env["__name__"] = p_env["__name__"] = "porter_case"    # a module name, as TorchScript's markers expect
    exec(PRELUDE, t_env)  # noqa: S102 - test snippets from this repository
    torch.manual_seed(seed)
    paddle.seed(seed)
    rng = np.random.default_rng(seed + 1)

    if kind == "expr":
        exec(f"out = {snippet}", t_env)  # noqa: S102
        exec(convert_program(f"out = {snippet}\n"), p_env)  # noqa: S102
        return to_numpy(t_env["out"]), to_numpy(p_env["out"])

    if kind == "layer":
        exec(f"m = {snippet}", t_env)  # noqa: S102
        exec(convert_program(f"m = {snippet}\n"), p_env)  # noqa: S102
        tm, pm = t_env["m"], p_env["m"]
        with torch.no_grad():
            perturb_running_stats(tm, rng)
        transfer_weights(tm, pm)
        tm.train(case.train)
        pm.train() if case.train else pm.eval()
        exec(f"out = {case.call}", t_env)  # noqa: S102
        exec(convert_program(f"out = {case.call}\n"), p_env)  # noqa: S102
        return to_numpy(t_env["out"]), to_numpy(p_env["out"])

    # script: sync(m) in torch records the initial weights; in paddle it loads them, in the same order
    states: list[dict] = []

    def t_sync(m):
        with torch.no_grad():
            perturb_running_stats(m, rng)
        states.append({k: v.detach().clone() for k, v in m.state_dict().items()})

    t_env["sync"] = t_sync
    exec(snippet, t_env)  # noqa: S102
    it = iter(states)
    p_env["sync"] = lambda m: transfer_weights(next(it), m)
    exec(convert_program(snippet), p_env)  # noqa: S102
    return to_numpy(t_env["out"]), to_numpy(p_env["out"])
