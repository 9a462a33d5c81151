"""Line numbers of the few nodes a conversion reports, without a position pass over the whole file.

libcst's PositionProvider regenerates the whole module while recording every node's position: 22% of
a conversion on timm's models when anything is reported. Instead, CPython's `ast` (a C parser, a few
percent of that) gives each top-level statement's first line, and the position pass runs on the one
top-level statement that holds the node, for its offset inside it.
"""
from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider


def _first_lines(code: str, module: cst.Module) -> dict[int, int]:
    """id(top-level cst statement) -> the line of its keyword (`def`, not a decorator: where both ast
    and libcst's positions put it), matched to ast's statements in order."""
    body = ast.parse(code).body
    out, j = {}, 0
    for stmt in module.body:
        out[id(stmt)] = body[j].lineno
        j += len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
    return out


def report_lines(code: str, module: cst.Module, items: list[tuple[cst.CSTNode, cst.CSTNode]]) -> list[int]:
    """For each (node, its top-level statement) the node's first line in `code`."""
    firsts = _first_lines(code, module)
    offsets: dict[int, dict] = {}
    out = []
    for node, top in items:
        if id(top) not in offsets:
            tiny = module.with_changes(body=[top], header=[], footer=[])
            offsets[id(top)] = MetadataWrapper(tiny, unsafe_skip_copy=True).resolve(PositionProvider)
        pos = offsets[id(top)]
        out.append(firsts[id(top)] + pos[node].start.line - pos[top].start.line)
    return out
