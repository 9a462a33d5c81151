"""Notebooks and dependency files.

Notebooks (`.ipynb`): the code cells are converted together, as one module, so an import in the first
cell binds the names used in later ones; markdown cells, outputs and metadata are kept. IPython lines
(`%matplotlib inline`, `!pip install ...`, `x?`) are set aside before conversion and put back after.

Dependency files: `requirements*.txt` lines and `pyproject.toml` dependency strings naming torch become
`paddlepaddle>=3.3.1`; torchvision/torchaudio (no paddle twin) are kept and flagged with a comment.
"""
from __future__ import annotations

import json
import re
import uuid

from porter.convert.engine import Conversion, Unconverted

_MAGIC = re.compile(r"^\s*([%!]|.*\?\s*$)")
PADDLE_REQUIREMENT = "paddlepaddle>=3.3.1"


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def convert_notebook(text: str, display: str, convert_text) -> tuple[str, Conversion]:
    """`convert_text(code, display)` is porter.convert.paths.convert_text (raises InputError)."""
    from porter.convert.paths import InputError
    try:
        nb = json.loads(text)
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{display}: not a Jupyter notebook (no 'cells')") from None
    code_cells = [c for c in cells if c.get("cell_type") == "code"]
    tag = uuid.uuid4().hex[:12]
    boundary = f"# porter-cell-{tag}"
    magics: dict[str, str] = {}
    masked = []
    for cell in code_cells:
        out = []
        for line in _source(cell).split("\n"):
            if _MAGIC.match(line) and line.strip():
                key = f"# porter-magic-{tag}-{len(magics)}"
                magics[key] = line
                indent = line[:len(line) - len(line.lstrip())]
                out.append(indent + key)
            else:
                out.append(line)
        masked.append("\n".join(out))
    joined = f"\n{boundary}\n".join(masked) + "\n"
    starts, line = [], 1                      # first line of each cell in the joined text
    for m in masked:
        starts.append(line)
        line += m.count("\n") + 2
    try:
        conv = convert_text(joined, display)
    except InputError as e:
        raise InputError(_cell_position(str(e), display, starts)) from None
    parts = conv.code.rstrip("\n").split(f"\n{boundary}\n") if code_cells else []
    if len(parts) != len(code_cells):
        raise InputError(f"{display}: the cells could not be separated again after conversion")
    for cell, part in zip(code_cells, parts):
        for key, line in magics.items():
            part = part.replace(key, line.lstrip(), 1) if key in part else part
        cell["source"] = _lines(part)
    conv.unconverted = [Unconverted(_cell_line(u.line, starts)[1], u.api, f"cell {_cell_line(u.line, starts)[0]}: {u.reason}")
                        for u in conv.unconverted]
    indent = 1 if text.lstrip().startswith("{\n ") else None
    return json.dumps(nb, indent=indent, ensure_ascii=False) + ("\n" if text.endswith("\n") else ""), conv


def _cell_line(line: int, starts: list[int]) -> tuple[int, int]:
    cell = max(i for i, s in enumerate(starts) if s <= line) if starts else 0
    return cell + 1, line - starts[cell] + 1


def _cell_position(message: str, display: str, starts: list[int]) -> str:
    m = re.match(rf"{re.escape(display)}:(\d+):(.*)", message)
    if not m:
        return message
    cell, line = _cell_line(int(m.group(1)), starts)
    return f"{display}: cell {cell}, line {line}:{m.group(2)}"


# -- dependency files ------------------------------------------------------------------------------
_REQ = re.compile(r"^(\s*)(torch|torchvision|torchaudio)\b([^#;]*)(.*)$", re.IGNORECASE)
_PYPROJECT = re.compile(r"""(["'])(torch|torchvision|torchaudio)(\b[^"']*)\1""", re.IGNORECASE)


def convert_requirements(text: str) -> tuple[str, int]:
    """requirements*.txt: torch -> paddlepaddle; torchvision/torchaudio flagged. Returns (text, changes)."""
    out, changes = [], 0
    for line in text.splitlines(keepends=True):
        m = _REQ.match(line)
        if m is None or not _is_requirement_name(m.group(3)):
            out.append(line)
            continue
        changes += 1
        end = "\n" if line.endswith("\n") else ""
        if m.group(2).lower() == "torch":
            spacing = m.group(3)[len(m.group(3).rstrip()):] if m.group(4) else ""
            out.append(f"{m.group(1)}{PADDLE_REQUIREMENT}{spacing}{m.group(4).rstrip()}{end}")
        else:
            out.append(f"{line.rstrip()}  # porter: {m.group(2)} has no paddle package; only its torch-free parts may be used{end}")
    return "".join(out), changes


def _is_requirement_name(rest: str) -> bool:
    """`torch>=2`, `torch [extra]`, `torch` — not `torch-geometric` or `torchmetrics`."""
    return not rest or rest[0] in " <>=!~[\t\r\n"


def convert_pyproject(text: str) -> tuple[str, int]:
    changes = 0

    def repl(m):
        nonlocal changes
        if not _is_requirement_name(m.group(3)):
            return m.group(0)
        changes += 1
        if m.group(2).lower() == "torch":
            return f"{m.group(1)}{PADDLE_REQUIREMENT}{m.group(1)}"
        return m.group(0)
    return _PYPROJECT.sub(repl, text), changes
