"""Patterns from real model packages (timm, torchvision): each must convert so the module imports on
paddle alone and the layers build."""
import math
from functools import partial
from typing import List

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

def _porter_unsupported(name):
    """porter: a torch API with no paddle counterpart; the module imports, a call raises."""
    class Unsupported:
        def __init__(self, *args, **kwargs):
            raise NotImplementedError(f"{name} has no paddle counterpart (porter left its uses unconverted)")
    Unsupported.__name__ = Unsupported.__qualname__ = name.rsplit(".", 1)[-1]
    return Unsupported


checkpoint = _porter_unsupported('torch.utils.checkpoint.checkpoint')
from paddle.nn import BatchNorm2D

try:
    raise ImportError('porter: no paddle counterpart for torch._assert')
except ImportError:
    def _assert(condition: bool, message: str):
        assert condition, message

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
    'torch.nn.Conv2d': (('in_channels', 'out_channels', 'kernel_size', 'stride', 'padding', 'dilation', 'groups', 'bias', 'padding_mode', 'device', 'dtype'), 7, {'rename': {'bias': 'bias_attr'}, 'drop': ('device',), 'refuse': (), 'unsupported': ('dtype',), 'guard_same': True}),
    'torch.nn.Linear': (('in_features', 'out_features', 'bias', 'device', 'dtype'), 2, {'rename': {'bias': 'bias_attr'}, 'drop': ('device',), 'refuse': (), 'unsupported': ('dtype',)}),
}


_NORMS = dict(batchnorm=_porter_layer(nn.BatchNorm2D, 'torch.nn.BatchNorm2d'), frozen=BatchNorm2D)


def pad_to(x, size: int):
    return F.pad(x, (0, size - x.shape[-1]), pad_from_left_axis=False)


class GroupNorm1(nn.GroupNorm):
    def __init__(self, num_channels, **kwargs):
        super().__init__(1, num_channels, **_porter_kwargs(kwargs, {'eps': 'epsilon'}, ('device',), (), ('dtype',), flags={'affine': {'weight_attr': False, 'bias_attr': False}, 'bias': {'bias_attr': False}}))

    def forward(self, x):
        return F.group_norm(x, self._num_groups, weight=self.weight, bias=self.bias, epsilon=self._epsilon)


class Mlp(nn.Layer):
    fused: 'torch.jit.Final[bool]'

    def __init__(self, dim, hidden, bias=True, use_conv=False, device=None, dtype=None):
        super().__init__()
        dd = {"device": device, "dtype": dtype}
        linear_layer = partial(_porter_layer(nn.Conv2D, 'torch.nn.Conv2d'), kernel_size=1) if use_conv else _porter_layer(nn.Linear, 'torch.nn.Linear')
        self.fc1 = linear_layer(dim, hidden, bias_attr=bias, **_porter_kwargs(dd, {'bias': 'bias_attr'}, ('device',), (), ('dtype',), guard_same=True))
        self.norm = nn.LayerNorm(hidden, epsilon=1e-6, **_porter_kwargs(dd, {'eps': 'epsilon'}, ('device',), (), ('dtype',)))
        self.fused = False

    def forward(self, x):
        assert x.shape[-1] == self.fc1.in_features, "width"
        if self.training and paddle.in_dynamic_mode():
            # porter: unsupported torch.utils.checkpoint.checkpoint (no mapping)
            return checkpoint(self.fc1, x)
        return self.norm(self.fc1(x))


def init_weights(tensor, mean, std):
    with paddle.no_grad():
        tensor.normal_()
        (paddle.Tensor.mul_(tensor, std) if isinstance(std, paddle.Tensor) else tensor.scale_(std))
        (paddle.Tensor.add_(tensor, mean) if isinstance(mean, paddle.Tensor) else tensor.scale_(bias=mean))
    return tensor


def create_head(num_features, num_classes, device=None, dtype=None):
    return nn.Linear(num_features, num_classes, bias_attr=True, **_porter_kwargs({'dtype': dtype}, {'bias': 'bias_attr'}, ('device',), (), ('dtype',)))


def init_modules(model):
    for m in model.modules():
        if isinstance(m, nn.Conv2D):
            fan_out = m._kernel_size[0] * m._kernel_size[1] * m._out_channels // m._groups
            nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
        elif isinstance(m, (nn.BatchNorm2D, nn.BatchNorm1D)):
            m._mean.zero_()
    tokens = []
    return tokens
