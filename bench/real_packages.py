"""Real public model packages converted whole: per package, files, lines, API uses found, the share
converted, the files whose output parses, and the most common unconverted APIs.

    python bench/real_packages.py [--packages timm==1.0.31 torchvision==0.24.1 ...] [--workdir DIR]

Sources come from the packages' wheels (`pip download --no-deps`; nothing is installed or imported).
Building and checking the converted models (`porter check`) needs each package's torch side installed
and is not part of this script yet.
"""
from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from convert_throughput import _parses, corpus  # noqa: E402  (same wheel extraction and parse check)

DEFAULT = ["timm==1.0.31", "torchvision==0.24.1", "torchaudio==2.9.1", "transformers==5.25.0"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", nargs="*", default=DEFAULT)
    ap.add_argument("--workdir", default="/tmp/porter-real-packages")
    args = ap.parse_args()
    porter = str(Path(sys.executable).with_name("porter"))
    rows = []
    for package in args.packages:
        work = Path(args.workdir) / package.replace("==", "-")
        work.mkdir(parents=True, exist_ok=True)
        src = corpus(work, package, [])
        out, report = work / "out", work / "report.json"
        start = time.perf_counter()
        subprocess.run([porter, "convert", str(src), "-o", str(out), "--force", "--report", str(report)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        secs = time.perf_counter() - start
        r = json.loads(report.read_text())
        files = list(out.rglob("*.py"))
        lines = sum(p.read_text(encoding="utf-8", errors="replace").count("\n") for p in src.rglob("*.py"))
        parses = sum(1 for p in files if _parses(p))
        top = collections.Counter(u["api"] for u in r["unconverted"]).most_common(3)
        s = r["summary"]
        rows.append((package, s["files"], lines, s["found"], s["converted"] / max(1, s["found"]), parses, len(files),
                     s["errors"], secs, ", ".join(f"{a} ({n})" for a, n in top)))
    print("| package | files | lines | API uses | converted | outputs that parse | errors | seconds | most unconverted |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for p, f, l, found, share, parses, n, errors, secs, top in rows:
        print(f"| {p} | {f} | {l:,} | {found:,} | {share:.1%} | {parses}/{n} | {errors} | {secs:.0f} | {top} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
