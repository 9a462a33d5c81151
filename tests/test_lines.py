"""Reported line numbers (porter.convert.lines) equal libcst's full position pass."""
from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from porter.convert import engine
from porter.convert.lines import report_lines
from porter.mappings import default_table

CODE = '''"""doc"""
# header comment
import torch
import torch.nn as nn; y = torch.frob(1)


@torch.no_grad()
@staticmethod
def f(x: torch.Tensor):
    return torch.frob(
        x,
        torch.nope(2),
    )


class A(nn.Module):
    @property
    def g(self):
        if torch.frob(3):
            z = [torch.nope(i) for i in range(3)]
        return z

x = 1; torch.frob(4)
'''


def test_fast_lines_equal_the_position_pass():
    module = cst.parse_module(CODE)
    table = default_table()
    analyzer = engine.Analyzer(table)
    analyzer.walk(module)
    analyzer.bindings.finish()
    rewriter = engine.Rewriter(table, analyzer.bindings, analyzer.instance_types(), analyzer.module_classes,
                               analyzer.class_values())
    module.visit(rewriter)
    assert len(rewriter.unconverted) == 6
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    fast = report_lines(CODE, module, [(n, top) for n, top, _, _ in rewriter.unconverted])
    assert fast == [positions[n].start.line for n, _, _, _ in rewriter.unconverted]
    assert sorted(fast) == [4, 10, 12, 19, 20, 23]
