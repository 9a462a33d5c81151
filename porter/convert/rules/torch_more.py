"""Rules for mappings/torch.more.toml rows the fields cannot express.

- `first_positional`: paddle 3.3.1's `paddle.index_put_` crashes the interpreter (SIGSEGV) when its tensor
  is passed by keyword (`index_put_(x=t, indices=..., value=...)`; positional `t` works). A torch call that
  names its first argument (`torch.index_put_(input=t, ...)`) gets that argument moved to the front as a
  positional one, then the row's generic transform applies.
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import Unsupported, generic, rule


@rule("first_positional")
def first_positional(row, call: cst.Call, ctx):
    args = list(call.args)
    first = (row.args or ["input"])[0]
    if any(a.star for a in args):
        return Unsupported(f"*args/**kwargs: {row.paddle} needs its first argument positional")
    named = [i for i, a in enumerate(args) if a.keyword is not None and a.keyword.value == first]
    if named and not any(a.keyword is None for a in args):
        last_comma = args[-1].comma
        a = args.pop(named[0])
        args.insert(0, a.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT,
                                      comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))))
        args[-1] = args[-1].with_changes(comma=last_comma)
    return generic(row, call, args)
