"""Make today's exporter output readable by X2Paddle 1.6.0's ONNX decoder, on a COPY of the model.

X2Paddle maps ONNX opsets 7-15. torch 2.13's default exporter (dynamo) writes opset 18+, where
- the reductions (ReduceMean, ReduceMax, ...) take `axes` as an input instead of an attribute, and
  X2Paddle reads only the attribute;
- MaxPool always carries `dilations` (all 1), which X2Paddle refuses ("only dilations = 0 is supported"),
  as AveragePool does from opset 19.
The copy is first moved to opset 15 with onnx's own version converter (which rewrites the reductions);
where that converter has no adapter, the reductions are rewritten here. Then attributes that only
repeat the default are dropped. Each change is listed so the report can say what was touched.
"""
from __future__ import annotations

X2PADDLE_MAX_OPSET = 15
_REDUCE_ATTR_AXES = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                     "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}


class OnnxFixError(ValueError):
    pass


def _opset(model) -> int:
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return imp.version
    return 0


def _constants(graph) -> dict:
    from onnx import numpy_helper
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.attribute:
            a = n.attribute[0]
            if a.name == "value":
                values[n.output[0]] = numpy_helper.to_array(a.t)
            elif a.name == "value_ints":
                values[n.output[0]] = list(a.ints)
    return values


def _reduce_axes_to_attributes(graph, changes: list[str]) -> None:
    from onnx import helper
    consts = _constants(graph)
    for n in graph.node:
        if n.op_type in _REDUCE_ATTR_AXES and len(n.input) > 1 and n.input[1]:
            if n.input[1] not in consts:
                raise OnnxFixError(f"{n.op_type} {n.name!r}: axes computed at run time; X2Paddle needs constant axes")
            axes = [int(a) for a in list(consts[n.input[1]])] if hasattr(consts[n.input[1]], "__len__") else [int(consts[n.input[1]])]
            del n.input[1]
            n.attribute.append(helper.make_attribute("axes", axes))
            changes.append(f"{n.op_type} {n.name}: axes input -> attribute {axes}")


def _drop_default_attributes(graph, changes: list[str]) -> None:
    for n in graph.node:
        keep = []
        for a in n.attribute:
            if n.op_type in ("MaxPool", "AveragePool") and a.name == "dilations" and all(d == 1 for d in a.ints):
                changes.append(f"{n.op_type} {n.name}: dropped dilations (all 1)")
                continue
            if n.op_type in _REDUCE_ATTR_AXES and a.name == "noop_with_empty_axes" and a.i == 0:
                continue
            keep.append(a)
        if len(keep) != len(n.attribute):
            del n.attribute[:]
            n.attribute.extend(keep)
        for a in n.attribute:      # subgraphs (If, Loop)
            if a.g is not None and a.g.node:
                _drop_default_attributes(a.g, changes)


def fix_model(src: str, dst: str) -> list[str]:
    """Write the fixed copy of `src` to `dst`; return the changes made. Raises OnnxFixError (unusable
    file) with a one-line reason."""
    import onnx
    try:
        model = onnx.load(src)
    except Exception as e:  # DecodeError, OSError, ...
        raise OnnxFixError(f"{src}: not a readable ONNX model ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    if not model.graph.node:
        raise OnnxFixError(f"{src}: not an ONNX model (empty graph)")
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        raise OnnxFixError(f"{src}: invalid ONNX model: {str(e).strip().splitlines()[0]}") from None
    changes: list[str] = []
    version = _opset(model)
    if version > X2PADDLE_MAX_OPSET:
        try:
            from onnx import version_converter
            model = version_converter.convert_version(model, X2PADDLE_MAX_OPSET)
            changes.append(f"opset {version} -> {X2PADDLE_MAX_OPSET} (onnx.version_converter)")
        except Exception as e:
            changes.append(f"opset {version} kept (onnx.version_converter: {str(e).strip().splitlines()[0][:120]});"
                           f" reductions rewritten by porter")
            _reduce_axes_to_attributes(model.graph, changes)
    _drop_default_attributes(model.graph, changes)
    onnx.save(model, dst)
    return changes
