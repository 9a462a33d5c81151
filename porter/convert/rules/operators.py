"""Binary arithmetic and comparisons: `torch.add(x, y)`, `torch.mul(x, 0.5)`, `torch.gt(x, 0)`, `torch.pow(x, 2.5)`.

Paddle's functions (paddle.add, subtract, multiply, divide, greater_than, ... in 3.3.1) take a tensor
second argument and raise on a Python number ("argument 'y' must be Tensor"), which torch code passes
all the time (`torch.mul(attn, self.scale)`); `paddle.pow(int_tensor, 2.5)` and
`paddle.remainder(int_tensor, 2.5)` even run and silently stay int64 where torch gives float32. Paddle's
operators take tensors and numbers alike and promote like torch (int tensor + 2.5 → float32, int tensor
/ 2 → float32, float16 * 2.0 → float16; measured), with the same kernels for two tensors. So the call
becomes the operator expression, in parentheses because the rule cannot see the context (`(x + y)`).
`alpha` folds in (`x + alpha * y`). `div` keeps its rounding mode: 'floor' is `//` (floor division in
both); 'trunc' stays `paddle.divide(x, y, rounding_mode='trunc')` for a tensor divisor, and with a number
literal becomes `paddle.trunc(x / 2.5)` (float literal) or `paddle.divide(x, paddle.full_like(x, 2), ...)`
(int literal: keeps an int tensor int, as torch does).

A reference without a call (`op = torch.add`) is the row's paddle function, which takes tensors only.
Not fixable here: two tensors of different dtypes (int64 with float32, float32 with float64) raise in
paddle where torch promotes (REFERENCE.md §3); cast one of them.
"""
from __future__ import annotations

import libcst as cst

from porter.convert.rules import Unsupported, generic, rule
from porter.convert.rules._callargs import atom, bind, code, is_simple, number, strip_parens

OPERATORS = {
    "add": "+", "sub": "-", "subtract": "-", "mul": "*", "multiply": "*", "div": "/", "divide": "/",
    "true_divide": "/", "floor_divide": "//", "remainder": "%", "pow": "**",
    "eq": "==", "ne": "!=", "not_equal": "!=", "gt": ">", "greater": ">", "lt": "<", "less": "<",
    "ge": ">=", "greater_equal": ">=", "le": "<=", "less_equal": "<=",
}
_NUMBER_NAMES = {"math.pi", "math.e", "math.inf", "math.tau", "np.pi", "np.e", "np.inf", "numpy.pi", "numpy.e",
                 "numpy.inf"}


def is_python_number(expr: cst.BaseExpression) -> bool:
    expr = strip_parens(expr)
    if number(expr) is not None:
        return True
    if isinstance(expr, cst.Attribute) and code(expr) in _NUMBER_NAMES:
        return True
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        return is_python_number(expr.expression)
    return isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value in ("float", "int")


_generic = generic      # the row's generic transform (porter.convert.rules.generic)


@rule("operator")
def operator(row, call: cst.Call, ctx):
    name = row.torch.rsplit(".", 1)[1]
    op = OPERATORS[name]
    sig = [a for a in row.args if a != "*"]
    positional = row.args.index("*") if "*" in row.args else len(sig)
    b = bind(call.args, sig[:positional], kwonly=tuple(sig[positional:]))
    if isinstance(b, str) or len(sig) < 2 or sig[0] not in b.named or sig[1] not in b.named:
        return _generic(row, call)                  # let the generic transform report the problem
    lhs, rhs = b.named[sig[0]], b.named[sig[1]]
    literal = is_python_number(lhs) or is_python_number(rhs)
    extra = set(b.named) - {sig[0], sig[1]}
    if extra - {"alpha", "rounding_mode"}:
        return _generic(row, call)
    if "alpha" in b.named:
        rhs = cst.parse_expression(f"{atom(b.named['alpha'])} * {atom(rhs)}")
    mode = b.named.get("rounding_mode")
    if mode is not None and not (isinstance(mode, cst.Name) and mode.value == "None"):
        value = strip_parens(mode).evaluated_value if isinstance(strip_parens(mode), cst.SimpleString) else None
        if value == "floor":
            op = "//"
        elif value == "trunc" and literal:
            return _trunc(lhs, rhs, ctx)
        elif not literal:
            return _generic(row, call)              # paddle.divide(x, y, rounding_mode=...): y a tensor
        else:
            return Unsupported("rounding_mode that is not a literal 'floor' or 'trunc', with a Python number")
    return cst.parse_expression(f"({atom(lhs)} {op} {atom(rhs)})")


def _trunc(lhs, rhs, ctx):
    v = number(rhs)
    if isinstance(v, float):
        return cst.parse_expression(f"{code(ctx.emit('paddle.trunc'))}({atom(lhs)} / {atom(rhs)})")
    if isinstance(v, int) and is_simple(lhs):
        divide, full_like = code(ctx.emit("paddle.divide")), code(ctx.emit("paddle.full_like"))
        return cst.parse_expression(f"{divide}({code(lhs)}, {full_like}({code(lhs)}, {code(rhs)}), rounding_mode='trunc')")
    return Unsupported("rounding_mode='trunc' with a Python number here: paddle.divide needs a tensor divisor; "
                       "write paddle.divide(x, paddle.full_like(x, n), rounding_mode='trunc')")
