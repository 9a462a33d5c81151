"""Golden before/after fixtures: tests/golden/<family>/<case>.torch.py converts to <case>.paddle.py exactly.

Needs neither torch nor paddle. `pytest --update-golden` rewrites the expected files (review the diff).
Each expected file must itself be valid Python, and converting it again must change nothing.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from porter import convert_source

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*/*.torch.py"))


def _expected(path: Path) -> Path:
    return path.with_name(path.name.replace(".torch.py", ".paddle.py"))


@pytest.mark.parametrize("src", CASES, ids=[f"{p.parent.name}/{p.name[:-9]}" for p in CASES])
def test_golden(src: Path, update_golden):
    result = convert_source(src.read_text(encoding="utf-8"))
    expected = _expected(src)
    if update_golden or not expected.exists():
        expected.write_text(result.code, encoding="utf-8")
    assert result.code == expected.read_text(encoding="utf-8")
    ast.parse(result.code)
    again = convert_source(result.code)
    assert again.code == result.code, "converting the output again changed it"
