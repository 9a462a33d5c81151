"""Weight conversion at scale: `porter weights` on a generated multi-GB safetensors checkpoint, next to a
plain copy of the same file, with the converter's peak RSS.

    python bench/weights_throughput.py [--gib 1.0] [--dir /tmp/porter-bench]

The checkpoint is torch-named (Linear weights [out, in], BatchNorm running stats) and generated with
numpy, so neither torch nor a model download is needed; the paddle model is a generated module file.
Figures printed: wall seconds for `cp` and for `porter weights`, their ratio, the converter's peak RSS,
and a spot check that the output holds exactly the transposed values.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

MODEL = '''import paddle.nn as nn


class Big(nn.Layer):
    def __init__(self, n={n}, d={d}):
        super().__init__()
        self.embed = nn.Embedding(1000, d)
        self.layers = nn.LayerList([nn.Linear(d, d) for _ in range(n)])
        self.norm = nn.BatchNorm1D(d)
'''


def generate(folder: Path, gib: float, d: int = 4096) -> tuple[Path, Path, int]:
    from safetensors.numpy import save_file
    n = max(1, int(gib * 2**30 / (d * d * 4)))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bigmodel.py").write_text(MODEL.format(n=n, d=d))
    ckpt = folder / "big.safetensors"
    if not ckpt.exists():
        rng = np.random.default_rng(0)
        state = {"embed.weight": rng.standard_normal((1000, d), dtype=np.float32)}
        for i in range(n):
            state[f"layers.{i}.weight"] = rng.standard_normal((d, d), dtype=np.float32)
            state[f"layers.{i}.bias"] = rng.standard_normal(d, dtype=np.float32)
        state.update({"norm.weight": np.ones(d, np.float32), "norm.bias": np.zeros(d, np.float32),
                      "norm.running_mean": rng.standard_normal(d, dtype=np.float32),
                      "norm.running_var": np.ones(d, np.float32), "norm.num_batches_tracked": np.zeros((), np.int64)})
        save_file(state, str(ckpt))
        del state
    return ckpt, folder / "bigmodel.py", n


def timed(cmd: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB of that process, return code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--dir", default="/tmp/porter-bench")
    ap.add_argument("--generate-only", action="store_true")
    ap.add_argument("--generated", action="store_true")
    args = ap.parse_args()
    if args.generate_only:
        generate(Path(args.dir), args.gib)
        return 0
    folder = Path(args.dir)
    # generate in a child process: a forked child starts with the parent's RSS, which would skew the figures
    if "--generated" not in sys.argv:
        subprocess.run([sys.executable, __file__, "--gib", str(args.gib), "--dir", args.dir, "--generate-only"], check=True)
        os.execv(sys.executable, [sys.executable, __file__, "--gib", str(args.gib), "--dir", args.dir, "--generated"])
    ckpt, model, n = generate(folder, args.gib)
    size = ckpt.stat().st_size
    porter = str(Path(sys.executable).with_name("porter"))
    out = folder / "out.safetensors"
    os.sync()                          # no dirty pages from generation left to slow the first command
    copies = []
    for _ in range(2):                 # a copy before and after the conversion: the machines are noisy
        copy_s, copy_rss, _ = timed(["cp", str(ckpt), str(folder / "copy.safetensors")])
        copies.append(copy_s)
        (folder / "copy.safetensors").unlink()
        os.sync()
        if len(copies) == 1:
            conv_s, conv_rss, rc = timed([porter, "weights", str(ckpt), "--model", f"{model}:Big", "-o", str(out)])
            os.sync()
            pd_s, pd_rss, pd_rc = timed([porter, "weights", str(ckpt), "--model", f"{model}:Big",
                                         "-o", str(folder / "out.pdparams")])
            (folder / "out.pdparams").unlink(missing_ok=True)
            os.sync()
    copy_s = sorted(copies)[0]
    # and the start-up alone (imports), to separate fixed cost from per-byte cost
    idle_s, idle_rss, _ = timed([sys.executable, "-c", "import paddle, porter.weights.stream"])
    from safetensors import safe_open
    with safe_open(str(out), "numpy") as f, safe_open(str(ckpt), "numpy") as g:
        exact = bool(np.array_equal(f.get_tensor("layers.0.weight"), g.get_tensor("layers.0.weight").T))
    print(f"checkpoint: {size / 2**30:.2f} GiB, {n} Linear({4096}, {4096}) + Embedding + BatchNorm")
    print(f"plain copy:      {copy_s:6.2f} s   peak RSS {copy_rss:7.1f} MiB   (best of {', '.join(f'{c:.2f}' for c in copies)})")
    print(f"porter weights:  {conv_s:6.2f} s   peak RSS {conv_rss:7.1f} MiB   exit {rc}   exact={exact}   (-> .safetensors)")
    print(f"porter weights:  {pd_s:6.2f} s   peak RSS {pd_rss:7.1f} MiB   exit {pd_rc}   (-> .pdparams)")
    print(f"  of which start-up (import paddle): {idle_s:.2f} s, {idle_rss:.1f} MiB")
    print(f"ratio porter / copy: {conv_s / copy_s:.2f}x")
    for p in (folder / "copy.safetensors", out):
        p.unlink(missing_ok=True)
    shutil.rmtree(folder / "__pycache__", ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
