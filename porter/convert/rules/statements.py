"""Calls that become other Python: statements and negations.

- `assert_statement`: `torch._assert(cond, msg)` as a statement becomes `assert cond, msg` (it is
  torch's traceable assert; paddle has none, and in eager mode both raise AssertionError on a false
  condition). Used inside an expression it stays unconverted.
- `marker`: tracer/compiler markers with no meaning in eager paddle (`torch.fx.wrap`, `torch.jit.script`,
  `torch.compile`, ...): as a decorator or a whole statement they are removed (the engine removes
  decorators, see `Rewriter.leave_Decorator`); `marker(f)` elsewhere is `f` itself.
- `negate`: `torch.jit.is_scripting()` is `not paddle.in_dynamic_mode()` (True only under
  paddle.jit.to_static), the row's target negated.
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import Unsupported, rule


@rule("assert_statement")
def assert_statement(row, call: cst.Call, ctx):
    args = [a for a in call.args if not a.star]
    if not ctx.is_statement(ctx.current_call) or not 1 <= len(args) <= 2 or len(args) != len(call.args):
        return Unsupported("only `torch._assert(cond[, msg])` as a whole statement converts (to `assert`)")
    test = _one_logical_line(args[0].value)
    msg = _one_logical_line(args[1].value) if len(args) == 2 else None
    if isinstance(msg, cst.Lambda):          # torch._check(cond, lambda: "...") builds the message lazily
        msg = cst.Call(func=msg.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]))
    return ctx.replace_statement(call, cst.Assert(test=test, msg=msg))


def _one_logical_line(expr: cst.BaseExpression) -> cst.BaseExpression:
    """An argument spread over several lines was held together by the call's parentheses; outside them
    (an `assert` statement) it needs its own."""
    if "\n" in cst.Module([]).code_for_node(expr) and not getattr(expr, "lpar", None):
        return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return expr


@rule("negate")
def negate(row, call: cst.Call, ctx):
    if call.args:
        return Unsupported("takes no arguments")
    return cst.UnaryOperation(operator=cst.Not(), expression=cst.Call(func=ctx.emit(row.paddle)))


@rule("buffer")
def buffer(row, call: cst.Call, ctx):
    """`torch.nn.Buffer(t, persistent=P)` (a tensor marked as a module buffer when assigned):
    - persistent=False: the plain tensor; paddle registers a tensor attribute of a Layer as a
      non-persistable buffer by itself;
    - persistent (the default): `self.name = nn.Buffer(t)` becomes `self.register_buffer("name", t)`,
      which keeps it in the state_dict as torch does. Anywhere else it stays unconverted."""
    args = [a for a in call.args if not a.star]
    if len(args) != len(call.args) or not args or (args[0].keyword is not None and args[0].keyword.value != "data"):
        return Unsupported("only nn.Buffer(data[, persistent=...]) converts")
    data = args[0].value
    persistent = next((a.value for a in args[1:] if a.keyword is not None and a.keyword.value == "persistent"), None)
    if persistent is not None and isinstance(persistent, cst.Name) and persistent.value == "False":
        return data
    if persistent is not None and not (isinstance(persistent, cst.Name) and persistent.value == "True"):
        return Unsupported("persistent= that is not a literal True/False")
    target = ctx.assign_target(ctx.current_call)
    if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)):
        return Unsupported("a persistent buffer converts only as `self.name = nn.Buffer(...)`")
    register = cst.Call(func=cst.Attribute(value=target.value, attr=cst.Name("register_buffer")),
                        args=[cst.Arg(cst.SimpleString(repr(target.attr.value)), comma=cst.Comma(
                            whitespace_after=cst.SimpleWhitespace(" "))), cst.Arg(data)])
    return ctx.replace_statement(call, cst.Expr(register))


@rule("marker")
def marker(row, call: cst.Call, ctx):
    if ctx.is_statement(ctx.current_call):
        return ctx.replace_statement(call, cst.RemoveFromParent())
    args = [a for a in call.args if a.keyword is None and not a.star]   # keywords (mode=, backend=) go too
    if len(args) == 1 and not any(a.star for a in call.args) and not isinstance(args[0].value, cst.SimpleString):
        return args[0].value.with_changes(lpar=[], rpar=[]) if hasattr(args[0].value, "lpar") else args[0].value
    return Unsupported("converts as a decorator, a whole statement, or `marker(fn)` (which is fn itself in eager paddle)")


@rule("annotate_value")
def annotate_value(row, call: cst.Call, ctx):
    """`torch.jit.annotate(List[Tensor], [])`: a type hint for TorchScript; the value itself."""
    args = [a for a in call.args if not a.star]
    if len(args) != 2 or len(args) != len(call.args) or any(a.keyword is not None and a.keyword.value not in ("the_type", "the_value") for a in args):
        return Unsupported("only torch.jit.annotate(type, value) converts")
    value = next((a.value for a in args if a.keyword is not None and a.keyword.value == "the_value"), args[1].value)
    return value


@rule("default_dtype")
def default_dtype(row, call: cst.Call, ctx):
    """`torch.get_default_dtype()` is a dtype object (`.is_floating_point`, `finfo(...)`, comparisons);
    paddle's get_default_dtype() is its name: `getattr(paddle, paddle.get_default_dtype())`."""
    if call.args:
        return Unsupported("takes no arguments")
    return cst.Call(func=cst.Name("getattr"), args=[
        cst.Arg(ctx.emit("paddle"), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
        cst.Arg(cst.Call(func=ctx.emit(row.paddle)))])
