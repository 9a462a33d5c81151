"""Property tests: generated and mutated programs never make the converter raise; the output always
parses; converting the output again changes nothing; the output is deterministic."""
from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from porter import convert_source

ROOT = Path(__file__).resolve().parent.parent
# CI runs a fixed, derandomized set (the same examples every run); PORTER_PROPERTY_EXAMPLES=N runs N
# fresh random examples per test for a stress run.
_STRESS = "PORTER_PROPERTY_EXAMPLES" in __import__("os").environ
EXAMPLES = int(__import__("os").environ.get("PORTER_PROPERTY_EXAMPLES", "150"))
SETTINGS = dict(max_examples=EXAMPLES, deadline=None, derandomize=not _STRESS, database=None,
                suppress_health_check=[HealthCheck.too_slow])

IMPORTS = [
    "import torch", "import torch.nn as nn", "import torch.nn as {a}", "from torch import nn",
    "import torch.nn.functional as F", "from torch.nn import functional as {a}", "import numpy as np",
    "from torch.nn import Linear, Conv2d", "from torch.nn import BatchNorm2d as {a}", "import torch as {a}",
    "from torch.optim import SGD", "import functools", "from torch.utils.data import DataLoader",
]
STATEMENTS = [
    "{v} = torch.zeros({n}, {m})", "{v} = torch.flatten({w}, 1)", "{v} = nn.Linear({n}, {m}, bias=False)",
    "{v} = nn.BatchNorm2d({n}, {f}, {f})", "{v} = F.relu({w}, inplace=True)", "{v} = {w}.view(-1, {n})",
    "{v} = {w}.sum(1, True)", "{v} = {w}.split({n})", "{v} = '{s}'.split(',')", "{v} = {w}.max(dim={k})",
    "{v} = torch.max({w}, {k})", "{v} = np.sum({w}, {k})", "{v} = torch.cat([{w}, {w}], dim={k})",
    "{v} = functools.partial(nn.Conv2d, kernel_size={n})", "{v} = torch.frobnicate({w})",
    "{v} = SGD({w}, lr={f}, momentum={f})", "{v} = {w}.items()", "{v} = {w} if {w} else torch.ones({n})",
    "{v} = [{w} for {w} in range({n})]", "{v} = lambda {w}: torch.relu({w})", "del {v}",
    "torch._assert({w} > {n}, '{s}')", "{v} = {w}.to(torch.float32).cuda()", "{v} = DataLoader({w}, batch_size={n})",
]
BLOCKS = [
    "class {C}(nn.Module):\n    def __init__(self, {w}=nn.ReLU):\n        super().__init__()\n        {body}\n",
    "def {v}({w}, *args, **kwargs):\n    {body}\n    return {w}\n",
    "with torch.no_grad():\n    {body}\n",
    "if {w}:\n    {body}\nelse:\n    pass\n",
    "try:\n    {body}\nexcept Exception:  # porter must keep this comment\n    pass\n",
]

names = st.sampled_from(["x", "y", "h", "model", "opt", "nn", "F", "torch", "self", "np", "data"])
aliases = st.sampled_from(["tnn", "T", "F2", "BN", "nn"])
numbers = st.integers(min_value=-2, max_value=64)
floats = st.sampled_from(["0.1", "1e-3", "0.9", "1.0"])
words = st.text(alphabet="abc ,\\u00e9\\u4e2d", min_size=0, max_size=6).map(lambda s: s.replace("'", ""))


@st.composite
def programs(draw):
    def fill(template: str) -> str:
        return template.format(v=draw(names), w=draw(names), n=draw(numbers), m=draw(numbers), f=draw(floats),
                               k=draw(st.integers(-1, 2)), s=draw(words), a=draw(aliases),
                               C=draw(st.sampled_from(["Net", "Block"])), body="{body}")

    lines = [fill(t) for t in draw(st.lists(st.sampled_from(IMPORTS), min_size=0, max_size=5))]
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            lines.append(fill(draw(st.sampled_from(STATEMENTS))))
        else:
            body = fill(draw(st.sampled_from(STATEMENTS)))
            lines.append(fill(draw(st.sampled_from(BLOCKS))).replace("{body}", body))
    return "\n".join(lines) + "\n"


def _valid(src: str) -> bool:
    try:
        ast.parse(src)
        return True
    except SyntaxError:
        return False


def _check(src: str) -> None:
    first = convert_source(src)
    ast.parse(first.code)                                           # always valid Python
    assert convert_source(src).code == first.code                   # deterministic
    assert convert_source(first.code).code == first.code            # converting the output changes nothing
    assert first.converted + len(first.unconverted) == first.found


@settings(**SETTINGS)
@given(programs())
def test_generated_programs(src):
    if _valid(src):
        _check(src)


SAMPLES = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "samples").rglob("*.py"))]


@settings(**SETTINGS)
@given(st.sampled_from(SAMPLES), st.lists(st.tuples(st.sampled_from(["drop", "dup", "indent"]), st.integers(0, 200)),
                                         max_size=4))
def test_mutated_real_files(src, mutations):
    lines = src.splitlines(keepends=True)
    for kind, at in mutations:
        if not lines:
            break
        i = at % len(lines)
        if kind == "drop":
            del lines[i]
        elif kind == "dup":
            lines.insert(i, lines[i])
        else:
            lines[i] = "    " + lines[i]
    mutated = "".join(lines)
    if _valid(mutated):
        _check(mutated)
