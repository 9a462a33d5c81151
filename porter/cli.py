"""`porter` command line: parse arguments, call porter.api, print. Exit codes (DESIGN.md):
0 success; 1 parity failure (check); 2 unusable input or a stage that could not run; 3 `convert --strict`
with something left unconverted."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_PARITY, EXIT_INPUT, EXIT_STRICT = 0, 1, 2, 3


def _progress_printer():
    """`converted 120/4000 files` on stderr, redrawn in place on a terminal, every 5% otherwise."""
    import time
    start = time.monotonic()
    tty = sys.stderr.isatty()
    state = {"last": -1}

    def show(done: int, total: int) -> None:
        if total < 20 and done < total:
            return
        pct = done * 100 // total
        if not tty and pct // 5 == state["last"] and done < total:
            return
        state["last"] = pct // 5
        line = f"converted {done}/{total} files ({pct}%, {time.monotonic() - start:.1f} s)"
        print(("\r" + line) if tty else line, end="\n" if (done == total or not tty) else "", file=sys.stderr, flush=True)
    return show


def _convert(args) -> int:
    route = args.route or ("onnx" if str(args.src).lower().endswith(".onnx") else "rewrite")
    if route != "rewrite":
        return _convert_traced(args, route)
    if args.input or args.inputs or args.kwargs:
        print("porter: error: --input/--inputs/--kwargs are for --route trace (the rewrite reads no model inputs)",
              file=sys.stderr)
        return EXIT_INPUT
    from porter.convert.paths import InputError, convert_path, write_report

    progress = _progress_printer() if sys.stderr.isatty() or args.progress else None
    try:
        report = convert_path(args.src, args.output, force=args.force, jobs=args.jobs, progress=progress)
    except InputError as e:
        print(f"porter: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    if report.code is not None:
        sys.stdout.write(report.code)
    stream = sys.stderr if report.code is not None else sys.stdout
    if report.out:
        print(f"wrote {report.out}", file=stream)
    for line in report.summary_lines():
        print(line, file=stream)
    if args.report:
        write_report(report, args.report)
        print(f"report: {args.report}", file=stream)
    if report.errors:
        return EXIT_INPUT
    if args.strict and report.unconverted:
        return EXIT_STRICT
    return EXIT_OK


def _trace_inputs(args):
    """(check inputs, second-batch inputs, inputs to trace with) for `convert --route trace`."""
    import numpy as np

    from porter.parity.inputs import InputSpec, InputSpecError, load_npz, make_inputs
    from porter.trace.route import TRACE_SEED_OFFSET, second_batch_of
    if args.inputs:
        inputs = load_npz(args.inputs)
        second = [np.concatenate([x, x[:1]]) for x in inputs] if all(x.ndim for x in inputs) else None
        return inputs, second, inputs
    if not args.input:
        raise InputSpecError("give the model inputs: --input SHAPE[:DTYPE[:LO-HI]] (repeatable) or --inputs file.npz")
    specs = [InputSpec.parse(s) for s in args.input]
    b = specs[0].shape[0]
    return (make_inputs(specs, seed=args.seed), make_inputs(specs, seed=args.seed + 1, batch=second_batch_of(b)),
            make_inputs(specs, seed=args.seed + TRACE_SEED_OFFSET))


def _convert_traced(args, route: str) -> int:
    """`convert ENTRY --route trace` / `convert model.onnx`: X2Paddle writes, porter's parity check judges."""
    from porter.parity.inputs import InputSpec, InputSpecError
    from porter.parity.run import StageError
    from porter.trace.onnx_fix import OnnxFixError
    from porter.trace.route import RouteInputError, onnx_convert, trace_convert
    from porter.trace.x2paddle_runner import TraceError

    src = str(args.src)
    stem = src.rpartition(":")[2] if route == "trace" else Path(src).stem     # the class, or the file's name
    out = Path(args.output or f"{stem}_paddle")
    try:
        kwargs = json.loads(args.kwargs) if args.kwargs else {}
        if route == "trace":
            if ":" not in src:
                raise RouteInputError(f"{src!r}: --route trace needs a model ENTRY, 'file.py:Class' or 'package.module:factory'")
            inputs, second, traced = _trace_inputs(args)
            outcome = trace_convert(src, out, inputs=inputs, second_inputs=second, trace_inputs=traced,
                                    path=args.path, kwargs=kwargs, force=args.force, timeout=args.timeout, seed=args.seed)
        else:
            specs = [InputSpec.parse(s) for s in args.input] if args.input else None
            outcome = onnx_convert(src, out, specs=specs, force=args.force, timeout=args.timeout, seed=args.seed)
    except (RouteInputError, OnnxFixError, InputSpecError, TraceError, json.JSONDecodeError, OSError, ValueError) as e:
        print(f"porter: error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return EXIT_INPUT
    except StageError as e:
        print(f"porter: could not run: {e}", file=sys.stderr)
        return EXIT_INPUT
    except Exception as e:      # noqa: BLE001 - one line, never a traceback (exit 2: the route could not run)
        msg = str(e).strip().splitlines()
        print(f"porter: could not run: {type(e).__name__}: {msg[-1] if msg else ''}", file=sys.stderr)
        return EXIT_INPUT
    for line in outcome.lines:
        print(line)
    if args.report:
        from porter.fs import atomic_write
        atomic_write(args.report, lambda tmp: Path(tmp).write_text(json.dumps(outcome.report.to_json(), indent=2), encoding="utf-8"))
        print(f"report: {args.report}")
    return EXIT_OK if outcome.report.passed else EXIT_PARITY


def _weights(args) -> int:
    from porter.entry import EntryError, load_entry
    from porter.weights import WeightTransferError
    from porter.weights.io import CheckpointError, open_checkpoint
    from porter.weights.stream import build_lazily, stream_to_pdparams, stream_to_safetensors

    out = args.output or Path(args.checkpoint).name.split(".")[0] + ".pdparams"
    try:
        kwargs = json.loads(args.kwargs) if args.kwargs else {}
        model = build_lazily(load_entry(args.model, args.path), kwargs)
        state = open_checkpoint(args.checkpoint, trust=args.trust_checkpoint)
        if str(out).endswith(".safetensors"):          # streamed: peak memory near the largest tensor
            ledger = stream_to_safetensors(state, model, out)
        elif str(out).endswith(".pdparams"):
            ledger = stream_to_pdparams(state, model, out)
        else:
            raise CheckpointError(f"{out}: output must end in .pdparams or .safetensors")
    except (EntryError, CheckpointError, WeightTransferError, json.JSONDecodeError, OSError) as e:
        print(f"porter: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    print(ledger.to_table() if args.verbose else
          f"{len(ledger.entries)} paddle tensors filled from {len(state)} torch tensors"
          + (f" ({len(ledger.dropped)} dropped by design: num_batches_tracked)" if ledger.dropped else ""))
    if args.ledger:
        from porter.fs import atomic_write
        atomic_write(args.ledger, lambda tmp: Path(tmp).write_text(json.dumps(ledger.to_json(), indent=2)))
    print(f"wrote {out}")
    return EXIT_OK


def _check(args) -> int:
    import os

    from porter.parity.inputs import InputSpec, InputSpecError, load_npz, make_inputs
    from porter.parity.run import StageError, run_check

    try:
        kwargs = json.loads(args.kwargs) if args.kwargs else {}
        if args.inputs:
            inputs, second = load_npz(args.inputs), None
        else:
            if not args.input:
                raise InputSpecError("give the model inputs: --input SHAPE[:DTYPE[:LO-HI]] (repeatable) or --inputs file.npz")
            specs = [InputSpec.parse(s) for s in args.input]
            inputs = make_inputs(specs, seed=args.seed)
            b = specs[0].shape[0]
            second = make_inputs(specs, seed=args.seed + 1, batch=b + 1 if b > 1 else 3)
    except (InputSpecError, json.JSONDecodeError, OSError, ValueError) as e:
        print(f"porter: error: inputs: {e}", file=sys.stderr)
        return EXIT_INPUT
    try:
        report = run_check(args.entry, inputs=inputs, second_inputs=second, path=args.path,
                           paddle_path=args.paddle_path, kwargs=kwargs, device=args.device,
                           rtol=args.rtol, atol=args.atol, backward=not args.no_backward,
                           train_step=args.train_step)
    except StageError as e:
        print(f"porter: could not run: {e}", file=sys.stderr)
        return EXIT_INPUT
    md = report.to_markdown()
    from porter.fs import atomic_write
    if args.report:
        atomic_write(args.report, lambda tmp: Path(tmp).write_text(md, encoding="utf-8"))
    if args.json:
        atomic_write(args.json, lambda tmp: Path(tmp).write_text(json.dumps(report.to_json(), indent=2), encoding="utf-8"))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(md + "\n")
    print(md)
    return EXIT_OK if report.passed else EXIT_PARITY


def _mappings(args) -> int:
    from porter.mappings import MappingError, default_table, missing_targets

    try:
        table = default_table()
    except MappingError as e:
        print(f"porter: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    counts = table.counts_by_namespace()
    if args.markdown:
        from porter.mappings import render_markdown
        sys.stdout.write(render_markdown(table))
        return EXIT_OK
    if args.json:
        print(json.dumps({k: {"mapped": m, "unsupported": u} for k, (m, u) in counts.items()}, indent=2))
    else:
        print(f"{'table':<32} {'mapped':>7} {'documented unsupported':>23}")
        for name, (m, u) in counts.items():
            print(f"{name:<32} {m:>7} {u:>23}")
        print(f"{'total':<32} {sum(m for m, _ in counts.values()):>7} {sum(u for _, u in counts.values()):>23}")
    if args.check:
        missing = missing_targets(table)
        for m in missing:
            print(f"missing in installed paddle: {m}", file=sys.stderr)
        return EXIT_INPUT if missing else EXIT_OK
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from porter import __version__

    p = argparse.ArgumentParser(prog="porter", description="Port PyTorch models to PaddlePaddle and prove the port is faithful.")
    p.add_argument("--version", action="version", version=f"porter {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("convert", help="convert a .py file or a package directory to paddle source")
    c.add_argument("src", help="a .py file or a package directory (never modified)")
    c.add_argument("-o", "--output", help="output file or folder (a file without -o prints to stdout; a folder defaults to SRC_paddle)")
    c.add_argument("--report", help="write the JSON report here")
    c.add_argument("--strict", action="store_true", help="exit 3 when anything was left unconverted")
    c.add_argument("--force", action="store_true", help="overwrite existing output")
    c.add_argument("-j", "--jobs", type=int, help="processes for a directory run (default: all cores)")
    c.add_argument("--progress", action="store_true", help="show progress even when stderr is not a terminal")
    c.add_argument("--route", choices=["rewrite", "trace", "onnx"],
                   help="rewrite the source (default), or let X2Paddle trace the model ENTRY (trace) or read an "
                        ".onnx file (onnx, the default for .onnx); porter then checks the port at two batch sizes")
    c.add_argument("--input", action="append", help="trace/onnx: SHAPE[:DTYPE[:LO-HI]] per model input, as for check")
    c.add_argument("--inputs", help="trace: an .npz file with the inputs (arr_0, arr_1, ... in order)")
    c.add_argument("--kwargs", help="trace: JSON keyword arguments for the model callable")
    c.add_argument("--path", help="trace: folder to import package.module from (default: current folder)")
    c.add_argument("--seed", type=int, default=0, help="trace/onnx: seed of the check's inputs")
    c.add_argument("--timeout", type=float, default=1800, help="trace/onnx: seconds X2Paddle may take (default 1800)")
    c.set_defaults(func=_convert)

    w = sub.add_parser("weights", help="convert a torch checkpoint into paddle weights for the converted model")
    w.add_argument("checkpoint", help=".pt/.pth/.bin (read with weights_only=True), .safetensors, or a sharded *.index.json")
    w.add_argument("--model", required=True, help="the paddle model: file.py:Class or package.module:factory")
    w.add_argument("--kwargs", help="JSON keyword arguments for the model callable")
    w.add_argument("--path", help="folder to import package.module from (default: current folder)")
    w.add_argument("-o", "--output", help="output .pdparams or .safetensors (default: CHECKPOINT name + .pdparams)")
    w.add_argument("--ledger", help="write the ledger (what went where) as JSON here")
    w.add_argument("--trust-checkpoint", action="store_true", help="allow a pickle that needs more than weights_only=True (trusted files only)")
    w.add_argument("-v", "--verbose", action="store_true", help="print the whole ledger")
    w.set_defaults(func=_weights)

    k = sub.add_parser("check", help="run the torch model and its paddle port on identical inputs and compare")
    k.add_argument("entry", help="the torch model: file.py:Class or package.module:callable")
    k.add_argument("--input", action="append", help="SHAPE[:DTYPE[:LO-HI]], e.g. 2,3,224,224 or 4,128:int64:0-30000 (repeat per argument)")
    k.add_argument("--inputs", help="an .npz file with the inputs (arr_0, arr_1, ... in order)")
    k.add_argument("--kwargs", help="JSON keyword arguments for the model callable")
    k.add_argument("--path", help="folder to import package.module from (default: current folder)")
    k.add_argument("--paddle-path", help="use an existing paddle port: the same module path under this folder")
    k.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    k.add_argument("--rtol", type=float, help="relative tolerance (default per dtype and device; see docs)")
    k.add_argument("--atol", type=float, help="absolute tolerance (default per dtype and device)")
    k.add_argument("--no-backward", action="store_true", help="skip the gradient comparison")
    k.add_argument("--train-step", metavar="OPTIMIZER",
                   help="also compare the parameters after one step of this torch optimizer over `params`, "
                        "converted by porter, e.g. \"torch.optim.AdamW(params, lr=1e-3)\"")
    k.add_argument("--seed", type=int, default=0)
    k.add_argument("--report", help="write the Markdown report here")
    k.add_argument("--json", help="write the JSON report here")
    k.set_defaults(func=_check)

    m = sub.add_parser("mappings", help="list mapping-table coverage by namespace")
    m.add_argument("--json", action="store_true")
    m.add_argument("--markdown", action="store_true", help="every row as a Markdown reference (docs/mappings.md)")
    m.add_argument("--check", action="store_true", help="also check every target exists in the installed paddle")
    m.set_defaults(func=_mappings)
    return p


def main(argv: list[str] | None = None) -> int:
    import warnings
    warnings.filterwarnings("ignore", message="No ccache found")   # printed by every paddle import
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("porter: interrupted; no partial file was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
