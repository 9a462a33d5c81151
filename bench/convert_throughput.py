"""Conversion throughput on a large real corpus: porter against the official converter (PaConvert, default
settings) on the same files in the same run, and a plain copy of the tree as the floor.

    python bench/convert_throughput.py [--package timm==1.0.31] [--subdirs models layers] [--jobs N]

The corpus is the package's source, taken from its wheel (`pip download --no-deps`, nothing installed).
PaConvert runs from its own venv (created under --workdir on first use: `pip install paconvert`, which
needs neither torch nor paddle). Prints lines, wall seconds, lines/s and the ratio porter / PaConvert.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path


def corpus(workdir: Path, package: str, subdirs: list[str]) -> Path:
    dest = workdir / "corpus"
    if dest.exists():
        return dest
    wheels = workdir / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels), package], check=True)
    wheel = next(wheels.glob(f"{package.split('==')[0].replace('-', '_')}-*.whl"))
    top = package.split("==")[0].replace("-", "_")
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            parts = name.split("/")
            if parts[0] == top and name.endswith(".py") and (not subdirs or (len(parts) > 2 and parts[1] in subdirs)):
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(name))
    return dest


def paconvert_exe(workdir: Path) -> Path:
    venv = workdir / "paconvert-venv"
    exe = venv / "bin" / "paconvert"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "paconvert"], check=True)
    return exe


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--package", default="timm==1.0.31")
    ap.add_argument("--subdirs", nargs="*", default=["models", "layers"])
    ap.add_argument("--workdir", default="/tmp/porter-convert-bench")
    ap.add_argument("--jobs", type=int, default=None, help="porter processes (default: all cores)")
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    src = corpus(work, args.package, args.subdirs)
    files = list(src.rglob("*.py"))
    lines = sum(p.read_text(encoding="utf-8", errors="replace").count("\n") for p in files)
    porter = str(Path(sys.executable).with_name("porter"))
    results = {}
    for name, cmd, out in [
        ("copy", ["cp", "-r", str(src), str(work / "out-copy")], work / "out-copy"),
        ("porter", [porter, "convert", str(src), "-o", str(work / "out-porter"), "--force"]
         + (["-j", str(args.jobs)] if args.jobs else []), work / "out-porter"),
        ("paconvert", [str(paconvert_exe(work)), "-i", str(src), "-o", str(work / "out-paconvert")], work / "out-paconvert"),
    ]:
        shutil.rmtree(out, ignore_errors=True)
        results[name] = timed(cmd)
    print(f"corpus: {args.package} {' '.join(args.subdirs)}: {len(files)} files, {lines} lines")
    for name, secs in results.items():
        print(f"{name:10s} {secs:7.2f} s  {lines / secs:9.0f} lines/s")
    print(f"ratio porter / PaConvert throughput: {results['paconvert'] / results['porter']:.2f}x")
    parsed = sum(1 for p in (work / "out-porter").rglob("*.py") if _parses(p))
    print(f"porter output files that parse: {parsed}/{len(files)}")
    return 0


def _parses(path: Path) -> bool:
    import ast
    try:
        ast.parse(path.read_text(encoding="utf-8"))
        return True
    except SyntaxError:
        return False


if __name__ == "__main__":
    sys.exit(main())
