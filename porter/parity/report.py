"""Parity reports: Markdown for a pull request (verdict first) and JSON with a versioned schema.

JSON top level: `schema` ("porter.parity/1"), `passed` (bool), `first_divergence` ({"layer": "<module
path>", ...} or null), `outputs`, `second_batch`, `gradients`, `layers`, `weights`, `environment`.
"""
from __future__ import annotations

import math

SCHEMA = "porter.parity/1"


def to_json(r) -> dict:
    return {
        "schema": SCHEMA,
        "passed": r.passed,
        "model": r.model,
        "route": r.route,
        "first_divergence": r.first_divergence,
        "outputs": [c.to_json() for c in r.outputs],
        "second_batch": None if r.second_batch is None else [c.to_json() for c in r.second_batch],
        "gradients": [c.to_json() for c in r.gradients],
        "gradient_error": r.gradient_error,
        "train_step": None if r.train_step is None else [c.to_json() for c in r.train_step],
        "layers": [l.to_json() for l in r.layers],
        "weights": r.weights,
        "environment": r.environment,
        # trace/ONNX routes (porter.trace): what the port fixed at trace time, and what the check could not do
        "notes": list(getattr(r, "notes", [])),
        "baked": getattr(r, "baked", None),
        "probes": [c.to_json() for c in getattr(r, "probes", None) or []],
    }


def _f(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "inf"
    return f"{x:.2e}" if x else "0"


def _table(cmps, limit=None) -> list[str]:
    rows = ["| tensor | shape | max abs | max rel | mismatch | cosine | rel L2 | tol (rtol/atol) | |",
            "|---|---|---|---|---|---|---|---|---|"]
    shown = sorted(cmps, key=lambda c: (c.passed, -c.max_abs))[:limit] if limit else cmps
    for c in shown:
        rows.append(f"| `{c.name}` | {tuple(c.shape)} | {_f(c.max_abs)} | {_f(c.max_rel)} | {c.mismatch:.1%} | "
                    f"{c.cosine:.6f} | {_f(c.rel_l2)} | {c.rtol:g}/{c.atol:.1g} | {'✅' if c.passed else '❌ ' + c.note} |")
    return rows


def to_markdown(r) -> str:
    verdict = "✅ PASS" if r.passed else "❌ FAIL"
    env = r.environment
    out = [f"## porter check: {verdict}", ""]
    if r.model:
        out.append(f"**Model:** `{r.model}` (route: {r.route})  ")
    out.append(f"**Environment:** torch {env.get('torch')}, paddle {env.get('paddle')}, numpy {env.get('numpy')}, "
               f"Python {env.get('python')}, device {env.get('device')}, torch threads {env.get('torch_threads')}  ")
    if r.weights and r.weights.get("source"):     # a traced port carries its own weights
        unused = r.weights.get("unused")
        out.append(f"**Weights:** {r.weights.get('tensors')} tensors from {r.weights['source']}"
                   + (f"; {unused} saved tensors not used by the port" if unused else ""))
    elif r.weights:
        out.append(f"**Weights:** {r.weights.get('tensors')} tensors moved strictly"
                   f" ({len(r.weights.get('dropped', []))} dropped by design); "
                   f"{r.weights.get('perturbed_bn_buffers', 0)} BatchNorm buffers perturbed from their initial values")
    out += ["", "### Outputs", *_table(r.outputs)]
    if r.second_batch is not None:
        out += ["", "### Outputs at a second batch size", *_table(r.second_batch)]
    if getattr(r, "probes", None):
        out += ["", "### Outputs on other values at the same batch size", *_table(r.probes)]
    if r.gradients:
        bad = sum(not c.passed for c in r.gradients)
        out += ["", f"### Parameter gradients ({len(r.gradients)} compared, {bad} outside tolerance "
                f"(relative L2 error <= 1e-3); worst 5)",
                *_table(r.gradients, limit=5)]
    if r.gradient_error:
        out += ["", f"### Parameter gradients: **not compared** — the backward pass raised: `{r.gradient_error}`"]
    if r.train_step is not None:
        bad = sum(not c.passed for c in r.train_step)
        out += ["", f"### Parameters after one optimizer step ({len(r.train_step)} compared, {bad} outside "
                f"tolerance; worst 5)", *_table(r.train_step, limit=5)]
    notes = list(getattr(r, "notes", []))
    if notes:
        out += ["", "### What this route fixed or could not check"]
        out += [f"  - {n.strip()}" if n.startswith("  ") else f"- {n}" for n in notes]
    fd = r.first_divergence
    if fd is not None:
        local = fd["local"]
        out += ["", "### First divergence",
                f"Layer **`{fd['layer'] or '(model)'}`** ({fd['torch_type']} → {fd['paddle_type']}) differs on its own: "
                f"replayed on the torch layer's inputs, max abs {_f(local['max_abs'])}, mismatch {local['mismatch']:.1%}. "
                f"Suspect: {fd['blame']}."]
        if fd.get("row"):
            out.append(f"- mapping row: `{fd['row']}`")
        if fd.get("source"):
            out.append(f"- source: `{fd['source']}`")
        if local.get("note"):
            out.append(f"- {local['note']}")
    elif not r.passed and r.layers:
        out += ["", "No single layer diverges on its own."]
    accumulated = [l for l in r.layers if l.accumulated is not None]
    if accumulated:
        worst = sorted(accumulated, key=lambda l: -l.accumulated.max_abs)[:5]
        out += ["", "### Worst layers (accumulated error)", "| layer | torch → paddle | max abs | local max abs |",
                "|---|---|---|---|"]
        for l in worst:
            out.append(f"| `{l.path}` | {l.torch_type} → {l.paddle_type} | {_f(l.accumulated.max_abs)} | "
                       f"{_f(l.local.max_abs) if l.local else '-'} |")
    return "\n".join(out) + "\n"
