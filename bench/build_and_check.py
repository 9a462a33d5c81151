"""Real model packages, converted whole, then built and compared model by model: the number users care
about ("my model comes out running on paddle, unmodified, and matches").

    python bench/build_and_check.py --package torchvision [--models resnet18 vit_b_16 ...] [--limit N]
    python bench/build_and_check.py --package timm --limit 60

Run it in a venv that has the package's torch side (e.g. torch==2.14.1 torchvision==0.29.1 timm) plus
paddlepaddle==3.3.1 and porter; the project's own venv cannot import torchvision. Per model:

1. torch side (its own process): build the model with random weights (seeded), eval mode; save its
   state_dict as safetensors, a random input and the output as .npy.
2. paddle side (its own process, torch blocked from import): import the converted package from the output
   folder, build the same model, `porter.transfer_weights(<safetensors>, model)` (strict), run the same
   input, and compare: rel = max|paddle - torch| / max|torch|; a model matches when rel <= 1e-4 and
   torch's output is not constant. Every float weight is moved off its initial value first (small
   noise; running variances in [0.75, 1.25]) so zero-initialised heads do not give trivial matches.

Prints one line per model and a summary table (Markdown). Nothing is downloaded but the sources already
installed; weights are random, so no hub access is needed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REL = 1e-4
BLOCKED = ("torch", "torchvision", "torchaudio", "functorch", "timm")


# ---------------------------------------------------------------- package-specific model lists and inputs
def models_for(package: str, limit: int | None) -> list[tuple[str, list[int]]]:
    if package == "torchvision":
        import torchvision.models as tvm
        names = sorted(tvm.list_models(module=tvm))          # classification
        names += sorted(tvm.list_models(module=tvm.segmentation))
        shapes = {"inception_v3": [2, 3, 299, 299]}
        out = [(n, shapes.get(n, [2, 3, 224, 224])) for n in names]
    elif package == "timm":
        import timm
        small = ("atto", "femto", "pico", "nano", "tiny", "xxs", "xs", "small", "s0", "b0", "18", "26", "lite")
        families: dict[str, list[str]] = {}
        for n in timm.list_models():
            families.setdefault(timm.models._registry._model_to_module.get(n, n), []).append(n)
        out = []
        for family, names in sorted(families.items()):   # one architecture per module, a small variant
            pick = next((n for tok in small for n in names if tok in n), names[0])
            cfg = timm.models.get_pretrained_cfg(pick)
            size = list(getattr(cfg, "input_size", None) or (3, 224, 224)) if cfg else [3, 224, 224]
            out.append((pick, [2] + size))
    else:
        raise SystemExit(f"unknown package {package}")
    return out[:limit] if limit else out


def build(package: str, name: str, mod):
    if package == "torchvision":
        return mod.models.get_model(name)
    return mod.create_model(name, pretrained=False)


# ---------------------------------------------------------------- the two sides
def torch_side(package: str, name: str, shape: list[int], work: Path) -> None:
    import importlib

    import numpy as np
    import torch
    from safetensors.torch import save_file
    torch.manual_seed(0)
    model = build(package, name, importlib.import_module(package)).eval()
    with torch.no_grad():      # move every float tensor off its init (zero-init heads give constant outputs)
        g = torch.Generator().manual_seed(1)
        for key, t in model.state_dict().items():
            if t.is_floating_point():
                if key.endswith("running_var"):
                    t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.75)
                else:
                    t.add_(torch.randn(t.shape, generator=g) * 0.02)
    sd = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(sd, str(work / "weights.safetensors"))
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    with torch.no_grad():
        y = model(torch.from_numpy(x))
    np.save(work / "input.npy", x)
    flat = flatten(y, lambda t: t.detach().numpy())
    np.savez(work / "torch_out.npz", *flat)


def paddle_side(package: str, name: str, out_root: Path, work: Path) -> dict:
    import importlib.abc

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            top = fullname.split(".")[0]
            if top in BLOCKED and not _from_out(fullname):
                raise ImportError(f"{fullname} is blocked (paddle side)")
            return None

    def _from_out(fullname):
        return (out_root / fullname.split(".")[0]).exists()

    sys.meta_path.insert(0, Block())
    sys.path.insert(0, str(out_root))
    import importlib

    import numpy as np
    import paddle

    from porter import transfer_weights
    stage = "import"
    try:
        mod = importlib.import_module(package)
        stage = "build"
        paddle.seed(0)
        model = build(package, name, mod)
        stage = "weights"
        transfer_weights(str(work / "weights.safetensors"), model, strict=True)
        model.eval()
        stage = "forward"
        x = paddle.to_tensor(np.load(work / "input.npy"))
        with paddle.no_grad():
            y = model(x)
        got = flatten(y, lambda t: t.numpy())
        want = [v for _, v in sorted(np.load(work / "torch_out.npz").items(), key=lambda kv: int(kv[0][4:]))]
        stage = "compare"
        if len(got) != len(want):
            return {"stage": stage, "error": f"{len(got)} outputs, torch has {len(want)}"}
        rel = 0.0
        for g, w in zip(got, want):
            if g.shape != w.shape:
                return {"stage": stage, "error": f"shape {list(g.shape)} vs torch {list(w.shape)}"}
            scale = float(np.abs(w).max()) or 1.0
            rel = max(rel, float(np.abs(g.astype(np.float64) - w).max()) / scale)
        degenerate = all(float(np.ptp(w)) == 0.0 for w in want)
        return {"stage": "done", "rel": rel, "match": rel <= REL and not degenerate, "degenerate": degenerate}
    except Exception as e:  # noqa: BLE001  (the benchmark reports every failure by stage)
        import traceback
        tb = [f for f in traceback.extract_tb(e.__traceback__) if str(out_root) in f.filename]
        where = f" at {Path(tb[-1].filename).relative_to(out_root)}:{tb[-1].lineno}: {(tb[-1].line or '').strip()}" if tb else ""
        return {"stage": stage, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}{where}"}


def flatten(y, to_np) -> list:
    if isinstance(y, dict):
        return [a for k in sorted(y) for a in flatten(y[k], to_np)]
    if isinstance(y, (list, tuple)):
        return [a for v in y for a in flatten(v, to_np)]
    if hasattr(y, "shape"):
        return [to_np(y)]
    return []


# ---------------------------------------------------------------- driver
def convert_package(package: str, workdir: Path) -> Path:
    import importlib.util
    spec = importlib.util.find_spec(package)
    src_pkg = Path(spec.origin).parent
    src = workdir / "src" / package
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(src_pkg, src, ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__", "*.dll"))
    out = workdir / "out"
    porter = str(Path(sys.executable).with_name("porter"))
    start = time.perf_counter()
    r = subprocess.run([porter, "convert", str(src), "-o", str(out / package), "--force", "--report",
                        str(workdir / "report.json")], capture_output=True, text=True)
    print(f"converted {package} in {time.perf_counter() - start:.1f} s: {r.stdout.strip().splitlines()[1:2]}",
          file=sys.stderr)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--package", default="torchvision")
    ap.add_argument("--models", nargs="*")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--workdir", default="/tmp/porter-build-check")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--no-convert", action="store_true", help="reuse the converted package in --workdir")
    ap.add_argument("--json", help="write per-model results here")
    ap.add_argument("--_side", help=argparse.SUPPRESS)
    ap.add_argument("--_name", help=argparse.SUPPRESS)
    ap.add_argument("--_shape", help=argparse.SUPPRESS)
    args = ap.parse_args()
    workdir = Path(args.workdir) / args.package
    if args._side == "torch":
        torch_side(args.package, args._name, json.loads(args._shape), workdir / "models" / args._name)
        return 0
    if args._side == "paddle":
        print(json.dumps(paddle_side(args.package, args._name, workdir / "out", workdir / "models" / args._name)))
        return 0

    workdir.mkdir(parents=True, exist_ok=True)
    if not args.no_convert:
        convert_package(args.package, workdir)
    todo = models_for(args.package, args.limit)
    if args.models:
        todo = [(n, s) for n, s in todo if n in args.models] or [(n, [2, 3, 224, 224]) for n in args.models]
    results = []
    for i, (name, shape) in enumerate(todo, 1):
        mdir = workdir / "models" / name
        mdir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        base = [sys.executable, __file__, "--package", args.package, "--workdir", args.workdir, "--_name", name,
                "--_shape", json.dumps(shape)]
        res: dict
        try:
            t = subprocess.run(base + ["--_side", "torch"], capture_output=True, text=True, timeout=args.timeout)
            if t.returncode:
                res = {"stage": "torch", "error": (t.stderr.strip().splitlines() or ["?"])[-1][:300]}
            else:
                p = subprocess.run(base + ["--_side", "paddle"], capture_output=True, text=True, timeout=args.timeout,
                                   env={**os.environ, "GLOG_minloglevel": "3"})
                lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
                res = json.loads(lines[-1]) if lines else {"stage": "crash", "error": (p.stderr.strip().splitlines() or ["?"])[-1][:300]}
        except subprocess.TimeoutExpired:
            res = {"stage": "timeout", "error": f"over {args.timeout} s"}
        res.update(model=name, seconds=round(time.perf_counter() - start, 1))
        shutil.rmtree(mdir, ignore_errors=True)
        results.append(res)
        verdict = ("MATCH" if res.get("match") else "CONSTANT" if res.get("degenerate") else "DIFF") \
            if res["stage"] == "done" else f"FAIL[{res['stage']}]"
        detail = f"rel {res['rel']:.1e}" if "rel" in res else res.get("error", "")
        print(f"[{i}/{len(todo)}] {name}: {verdict} {detail} ({res['seconds']} s)", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    ran = [r for r in results if r["stage"] != "torch"]
    match = sum(1 for r in ran if r.get("match"))
    built = sum(1 for r in ran if r["stage"] in ("forward", "compare", "done", "weights"))
    print(f"\n| package | models (torch builds) | paddle builds | weights load strictly | match (rel <= {REL:g}) |")
    print("|---|---:|---:|---:|---:|")
    loaded = sum(1 for r in ran if r["stage"] in ("forward", "compare", "done"))
    print(f"| {args.package} | {len(ran)} | {built} | {loaded} | {match} ({match / max(1, len(ran)):.0%}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
