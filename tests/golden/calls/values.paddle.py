"""Torch callables passed around as values keep their argument conversion."""
import functools
from functools import partial
from typing import Callable, Optional

import paddle
import paddle.nn as nn

def _porter_kwargs(kwargs, rename, drop, refuse, unsupported, negate=None, one_minus=(), defaults=None,
                   required=None, flags=None, add=None, guard_same=False):
    """porter: torch keyword arguments passed through ** to a paddle call, converted at run time."""
    if guard_same and kwargs.get("padding") == "same" and kwargs.get("dilation", 1) not in (1, (1,), (1, 1), (1, 1, 1)):
        raise TypeError("porter: padding='same' with a dilation: paddle computes it as if the dilation were 1")
    out = {}
    for key, value in kwargs.items():
        if key in drop or (key in unsupported and value is None):
            continue
        if required and key in required:
            if value != required[key]:
                raise TypeError(f"porter: {key}={value!r} has no paddle counterpart here (only {required[key]!r})")
        elif flags and key in flags:
            if value is False:
                out.update(flags[key])
            elif value is not True:
                raise TypeError(f"porter: {key}={value!r} needs converting for paddle; pass True or False")
        elif negate and key in negate:
            out[negate[key]] = not value
        elif key in one_minus:
            out[key] = value if value is None else 1 - value
        elif key in refuse or key in unsupported:
            raise TypeError(f"porter: {key}={value!r} passed through ** needs converting for paddle; pass it explicitly")
        else:
            out[rename.get(key, key)] = value
    for key, (paddle_key, value) in (defaults or {}).items():
        if key not in kwargs:
            out.setdefault(paddle_key, value)
    for key, value in (add or {}).items():
        out.setdefault(key, value)
    return out


def _porter_layer(cls, torch_name):
    """porter: a torch layer class passed as a value (`act_layer=nn.ReLU`): wherever it is called, with
    torch's positional order and keywords (`inplace=True`, `eps=`), paddle's layer is built."""
    cache, key = _porter_layer.__dict__.setdefault("cache", {}), (cls, torch_name)
    if key not in cache:
        args, npos, convert = _PORTER_LAYERS[torch_name]

        class Layer(cls):
            def __init__(self, *a, **kw):
                kw.update(zip(args[npos:], a[npos:]))
                super().__init__(*a[:npos], **_porter_kwargs(kw, **convert))
        Layer.__name__, Layer.__qualname__ = cls.__name__, cls.__qualname__
        cache[key] = Layer      # (two torch layers may share a paddle class: ZeroPad2d, ConstantPad2d)
    return cache[key]


# per torch layer: its signature, the leading positionals paddle shares, and how _porter_kwargs converts
# the rest (renames, drops, momentum 1 - m, flags whose False sets paddle keywords, torch's defaults)
_PORTER_LAYERS = {
    'torch.nn.BatchNorm2d': (('num_features', 'eps', 'momentum', 'affine', 'track_running_stats', 'device', 'dtype', 'bias'), 1, {'rename': {'eps': 'epsilon'}, 'drop': ('device',), 'refuse': (), 'unsupported': ('dtype',), 'one_minus': ('momentum',), 'flags': {'affine': {'weight_attr': False, 'bias_attr': False}, 'track_running_stats': {'use_global_stats': False}, 'bias': {'bias_attr': False}}}),
    'torch.nn.LayerNorm': (('normalized_shape', 'eps', 'elementwise_affine', 'bias', 'device', 'dtype'), 2, {'rename': {'eps': 'epsilon'}, 'drop': ('device',), 'refuse': (), 'unsupported': ('dtype',)}),
    'torch.nn.ReLU': (('inplace',), 0, {'rename': {}, 'drop': ('inplace',), 'refuse': (), 'unsupported': ()}),
}


class Block(nn.Layer):
    def __init__(self, c: int, norm_layer: Optional[Callable[..., nn.Layer]] = None, act_layer=_porter_layer(nn.ReLU, 'torch.nn.ReLU')):
        super().__init__()
        if norm_layer is None:
            norm_layer = _porter_layer(nn.BatchNorm2D, 'torch.nn.BatchNorm2d')
        self.bn = norm_layer(c, eps=1e-3, momentum=0.01)      # BatchNorm's conversion applies
        self.act = act_layer()
        self.other = helper(c, eps=1e-3)                        # not a torch callable: unchanged


def make(c):
    norm = functools.partial(_porter_layer(nn.BatchNorm2D, 'torch.nn.BatchNorm2d'), eps=1e-3, momentum=0.03)
    ln = partial(_porter_layer(nn.LayerNorm, 'torch.nn.LayerNorm'), eps=1e-6)
    return nn.Sequential(norm(c), ln(c), Block(c, norm_layer=_porter_layer(nn.BatchNorm2D, 'torch.nn.BatchNorm2d')))


def check(grid_sizes, strides):
    assert len(grid_sizes) == len(strides), ("Anchors should be Tuple[Tuple[int]] because each feature "
        "map could potentially have different sizes.")
