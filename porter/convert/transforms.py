"""Value transforms named by mapping rows (`transform = {momentum = "one_minus"}`).

Each takes the argument's expression and returns the paddle expression. Literals are folded so the
output reads like hand-written paddle (`momentum=0.1` becomes `momentum=0.9`, not `1 - 0.1`).
"""
from __future__ import annotations

from typing import Callable

import libcst as cst


def _number(expr: cst.BaseExpression) -> float | int | None:
    if isinstance(expr, (cst.Integer, cst.Float)):
        return expr.evaluated_value
    return None


def _literal(value: float | int) -> cst.BaseExpression:
    if isinstance(value, float):
        value = round(value, 12)
        return cst.Float(repr(value))
    return cst.Integer(str(value))


class TransformError(ValueError):
    """The value cannot be expressed in paddle; the call is left unconverted with this reason."""


def one_minus(expr: cst.BaseExpression) -> cst.BaseExpression:
    """BatchNorm momentum: paddle's running average keeps m of the old value, torch keeps 1 - m."""
    if isinstance(expr, cst.Name) and expr.value == "None":
        raise TransformError("momentum=None (cumulative average) has no paddle equivalent")
    v = _number(expr)
    if v is not None:
        return _literal(1 - v)
    return cst.parse_expression(f"1 - ({cst.Module([]).code_for_node(expr)})")


def logical_not(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`batch_first=B` becomes `time_major=not B`."""
    if isinstance(expr, cst.Name) and expr.value in ("True", "False"):
        return cst.Name("False" if expr.value == "True" else "True")
    return cst.parse_expression(f"not ({cst.Module([]).code_for_node(expr)})")


def rnn_direction(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`bidirectional=B` becomes `direction='bidirect'` or `'forward'`."""
    if isinstance(expr, cst.Name) and expr.value in ("True", "False"):
        return cst.SimpleString("'bidirect'" if expr.value == "True" else "'forward'")
    return cst.parse_expression(f"'bidirect' if ({cst.Module([]).code_for_node(expr)}) else 'forward'")


def split_betas(expr: cst.BaseExpression) -> dict[str, cst.BaseExpression]:
    """Adam `betas=(b1, b2)` becomes `beta1=b1, beta2=b2` (one argument in, two out)."""
    if isinstance(expr, (cst.Tuple, cst.List)) and len(expr.elements) == 2 and not any(
            isinstance(e, cst.StarredElement) for e in expr.elements):
        return {"beta1": expr.elements[0].value, "beta2": expr.elements[1].value}
    src = cst.Module([]).code_for_node(expr)
    return {"beta1": cst.parse_expression(f"{src}[0]"), "beta2": cst.parse_expression(f"{src}[1]")}


def affine(expr: cst.BaseExpression) -> dict[str, cst.BaseExpression]:
    """Norm layers' `affine=A` becomes `weight_attr=False, bias_attr=False` when A is false."""
    if isinstance(expr, cst.Name) and expr.value == "True":
        return {}
    if isinstance(expr, cst.Name) and expr.value == "False":
        return {"weight_attr": cst.Name("False"), "bias_attr": cst.Name("False")}
    src = cst.Module([]).code_for_node(expr)
    v = cst.parse_expression(f"None if ({src}) else False")
    return {"weight_attr": v, "bias_attr": v}


def track_running_stats(expr: cst.BaseExpression) -> dict[str, cst.BaseExpression]:
    """BatchNorm `track_running_stats=False` becomes `use_global_stats=False` (batch statistics always)."""
    if isinstance(expr, cst.Name) and expr.value == "True":
        return {}
    if isinstance(expr, cst.Name) and expr.value == "False":
        return {"use_global_stats": cst.Name("False")}
    src = cst.Module([]).code_for_node(expr)
    return {"use_global_stats": cst.parse_expression(f"None if ({src}) else False")}


def transpose(expr: cst.BaseExpression) -> cst.BaseExpression:
    """A weight in torch's [out, in] layout passed to paddle's F.linear, which wants [in, out]."""
    src = cst.Module([]).code_for_node(expr)
    return cst.parse_expression(f"{src}.T" if isinstance(expr, (cst.Name, cst.Attribute)) else f"({src}).T")


def require_true(expr: cst.BaseExpression) -> dict[str, cst.BaseExpression]:
    """An option paddle only has one way (e.g. batch-first transformer layers): True converts, else not."""
    if isinstance(expr, cst.Name) and expr.value == "True":
        return {}
    raise TransformError("paddle supports only the True setting (batch-first)")


def require_false(expr: cst.BaseExpression) -> dict[str, cst.BaseExpression]:
    """An option paddle does not have, whose False setting is paddle's only behaviour: False is dropped."""
    if isinstance(expr, cst.Name) and expr.value == "False":
        return {}
    raise TransformError(f"only False converts, got {cst.Module([]).code_for_node(expr)}")


def require_one(expr: cst.BaseExpression) -> dict[str, cst.BaseExpression]:
    """An option paddle does not have whose value 1 is paddle's only behaviour (pooling `dilation=1`, as an
    int or a tuple of ones): dropped; anything else cannot convert."""
    items = [e.value for e in expr.elements] if isinstance(expr, (cst.Tuple, cst.List)) else [expr]
    if items and all(_number(e) == 1 and isinstance(e, cst.Integer) for e in items):
        return {}
    raise TransformError(f"only 1 converts, got {cst.Module([]).code_for_node(expr)}")


def none_is_false(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`align_corners=None` (torch's default, meaning False) becomes False; paddle rejects None. Other values
    are kept as written."""
    if isinstance(expr, cst.Name) and expr.value == "None":
        return cst.Name("False")
    return expr


def bias_row(expr: cst.BaseExpression) -> cst.BaseExpression:
    """F.bilinear's bias: torch takes shape [out], paddle wants a row vector [1, out]."""
    if isinstance(expr, cst.Name) and expr.value == "None":
        return expr
    src = cst.Module([]).code_for_node(expr)
    return cst.parse_expression(f"{src}.reshape([1, -1])" if isinstance(expr, (cst.Name, cst.Attribute))
                                else f"({src}).reshape([1, -1])")


def astype_int32(expr: cst.BaseExpression) -> cst.BaseExpression:
    """Labels paddle only takes as int32 (F.ctc_loss), where torch takes int64."""
    src = cst.Module([]).code_for_node(expr)
    return cst.parse_expression(f"{src}.astype('int32')" if isinstance(expr, (cst.Name, cst.Attribute))
                                else f"({src}).astype('int32')")


def correction_to_unbiased(expr: cst.BaseExpression) -> dict[str, cst.BaseExpression]:
    """`std(correction=0|1)` becomes `unbiased=False|True` (paddle's std has no `correction`); other
    corrections cannot convert."""
    v = _number(expr)
    if isinstance(expr, cst.Integer) and v in (0, 1):
        return {"unbiased": cst.Name("True" if v == 1 else "False")}
    raise TransformError(f"only correction 0 or 1 converts (paddle's unbiased), got {cst.Module([]).code_for_node(expr)}")


def drop_none(expr: cst.BaseExpression) -> dict[str, cst.BaseExpression]:
    """A deprecated torch argument paddle lacks (losses' `size_average`, `reduce`): None, its default, is
    dropped; any other value cannot convert."""
    if isinstance(expr, cst.Name) and expr.value == "None":
        return {}
    raise TransformError(f"only None converts, got {cst.Module([]).code_for_node(expr)}")


def bias_flag(expr: cst.BaseExpression) -> dict[str, cst.BaseExpression]:
    """Norm layers' keyword-only `bias=B` (torch >= 2.1): False becomes `bias_attr=False`, True the default."""
    if isinstance(expr, cst.Name) and expr.value == "True":
        return {}
    if isinstance(expr, cst.Name) and expr.value == "False":
        return {"bias_attr": cst.Name("False")}
    return {"bias_attr": cst.parse_expression(f"None if ({cst.Module([]).code_for_node(expr)}) else False")}


def drop_if_none(expr: cst.BaseExpression) -> cst.BaseExpression | dict[str, cst.BaseExpression]:
    """An argument whose None means "paddle's default" (DataLoader `prefetch_factor=None`; paddle rejects
    None): a written None is dropped, other values are kept."""
    if isinstance(expr, cst.Name) and expr.value == "None":
        return {}
    return expr


# A transform returns the new value (the argument keeps its renamed name) or {paddle_arg: value, ...}.
TRANSFORMS: dict[str, Callable[[cst.BaseExpression], cst.BaseExpression | dict]] = {
    "split_betas": split_betas,
    "affine": affine,
    "track_running_stats": track_running_stats,
    "transpose": transpose,
    "require_true": require_true,
    "require_false": require_false,
    "require_one": require_one,
    "drop_none": drop_none,
    "bias_flag": bias_flag,
    "drop_if_none": drop_if_none,
    "one_minus": one_minus,
    "logical_not": logical_not,
    "rnn_direction": rnn_direction,
    "none_is_false": none_is_false,
    "bias_row": bias_row,
    "astype_int32": astype_int32,
    "correction_to_unbiased": correction_to_unbiased,
}


def literal_expr(value: object) -> cst.BaseExpression:
    """A TOML default value as a Python expression."""
    return cst.parse_expression(repr(value))
