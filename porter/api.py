"""The public functions (DESIGN.md contracts). Conversion imports neither torch nor paddle."""
from __future__ import annotations

from typing import Any

from porter.convert.engine import Conversion
from porter.convert.engine import convert_source as _convert_source
from porter.convert.paths import ConversionReport
from porter.convert.paths import convert_path as _convert_path


def convert_source(code: str) -> Conversion:
    """Convert torch source text; returns the code, the unconverted uses and the counts."""
    return _convert_source(code)


def convert_path(src, out, **kwargs) -> ConversionReport:
    """Convert a .py file or a package directory into `out` (SRC is never modified)."""
    return _convert_path(src, out, **kwargs)


def transfer_weights(source: Any, paddle_layer: Any, *, strict: bool = True):
    """Load torch weights (module, state_dict or checkpoint path) into a paddle layer, strictly."""
    from porter.weights import transfer_weights as _transfer
    return _transfer(source, paddle_layer, strict=strict)


def check_parity(torch_module: Any, paddle_layer: Any, inputs, **kwargs):
    """Run both models on identical inputs; returns a ParityReport (.passed, .to_markdown(), .to_json())."""
    from porter.parity import check_parity as _check
    return _check(torch_module, paddle_layer, inputs, **kwargs)
