"""Torch functions taking tensors as varargs (`torch.block_diag(a, b, c)`, `torch.cartesian_prod(a, b)`)
whose paddle counterpart takes one list (`paddle.block_diag([a, b, c])`).

Positional arguments become the elements of a list; a starred `*ts` becomes `*ts` inside that list, so
`torch.block_diag(*ts)` reads `paddle.block_diag([*ts])`. A keyword argument (torch's varargs functions take
none here) or `**kw` leaves the call unconverted and reported.
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import Unsupported, rule


@rule("pack_varargs")
def pack_varargs(row, call: cst.Call, ctx):
    elements: list[cst.BaseElement] = []
    for a in call.args:
        if a.keyword is not None or a.star == "**":
            return Unsupported("keyword arguments are not part of this torch signature")
        if a.star == "*":
            elements.append(cst.StarredElement(value=a.value))
        else:
            elements.append(cst.Element(value=a.value))
    return call.with_changes(args=[cst.Arg(value=cst.List(elements=elements))])
