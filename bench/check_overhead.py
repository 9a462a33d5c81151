"""`porter check` overhead on a ResNet-50-sized model: the time of a full check (weights moved strictly,
forward with every layer captured, gradients, a second batch size) next to one forward pass of each model.

    python bench/check_overhead.py [--batch 2] [--size 224] [--repeat 3]

Prints the median forward times, the check time and the ratio check / (torch forward + paddle forward).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-backward", action="store_true", help="forward-only check (no gradients)")
    args = ap.parse_args()
    import paddle
    import torch
    from porter import check_parity, convert_path
    from porter.parity.run import _build

    with tempfile.TemporaryDirectory() as tmp:
        report = convert_path(ROOT / "samples" / "resnet" / "resnet.py", Path(tmp) / "resnet.py")
        assert not report.unconverted, report.unconverted
        t_model = _build(ROOT / "samples" / "resnet", "resnet", "resnet50", {})
        p_model = _build(Path(tmp), "resnet", "resnet50", {})
    t_model.eval()
    p_model.eval()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, 3, args.size, args.size)).astype(np.float32)
    x2 = rng.standard_normal((max(1, args.batch // 2), 3, args.size, args.size)).astype(np.float32)

    def t_fwd():
        with torch.no_grad():
            t_model(torch.from_numpy(x))

    def p_fwd():
        with paddle.no_grad():
            p_model(paddle.to_tensor(x))

    def timeit(fn, n):
        fn()   # warm-up
        times = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    t_s, p_s = timeit(t_fwd, args.repeat), timeit(p_fwd, args.repeat)
    start = time.perf_counter()
    r = check_parity(t_model, p_model, [x], second_inputs=[x2], backward=not args.no_backward)
    check_s = time.perf_counter() - start
    params = sum(p.numel() for p in t_model.parameters())
    print(f"model: ResNet-50 ({params / 1e6:.1f} M parameters), input {x.shape}, second batch {x2.shape[0]}, "
          f"torch threads {torch.get_num_threads()}")
    print(f"one forward: torch {t_s:.3f} s, paddle {p_s:.3f} s (median of {args.repeat})")
    print(f"porter check: {check_s:.3f} s  passed={r.passed}  outputs max abs {max(c.max_abs for c in r.outputs):.2e}"
          f"  layers {len(r.layers)}  gradients {len(r.gradients)}")
    print(f"ratio check / (torch + paddle forward): {check_s / (t_s + p_s):.2f}x"
          f"{'  (forward only)' if args.no_backward else '  (with gradients)'}")
    for c in [*r.outputs, *(r.second_batch or []), *r.gradients]:
        if not c.passed:
            print(f"  outside tolerance: {c.name}: max abs {c.max_abs:.2e}, max rel {c.max_rel:.2e}, "
                  f"mismatch {c.mismatch:.2%} (rtol {c.rtol:g}, atol {c.atol:.1g})")
    return 0 if r.passed else 1


if __name__ == "__main__":
    sys.exit(main())
