"""Patterns from real model packages (timm, torchvision): each must convert so the module imports on
paddle alone and the layers build."""
import math
from functools import partial
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint
from torchvision.ops.misc import FrozenBatchNorm2d

try:
    from torch import _assert
except ImportError:
    def _assert(condition: bool, message: str):
        assert condition, message

_NORMS = dict(batchnorm=nn.BatchNorm2d, frozen=FrozenBatchNorm2d)


@torch.jit.script_if_tracing
def pad_to(x, size: int):
    return F.pad(x, (0, size - x.shape[-1]))


torch.fx.wrap("pad_to")


class GroupNorm1(nn.GroupNorm):
    def __init__(self, num_channels, **kwargs):
        super().__init__(1, num_channels, **kwargs)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


class Mlp(nn.Module):
    fused: torch.jit.Final[bool]

    def __init__(self, dim, hidden, bias=True, use_conv=False, device=None, dtype=None):
        super().__init__()
        dd = {"device": device, "dtype": dtype}
        linear_layer = partial(nn.Conv2d, kernel_size=1) if use_conv else nn.Linear
        self.fc1 = linear_layer(dim, hidden, bias=bias, **dd)
        self.norm = nn.LayerNorm(hidden, eps=1e-6, **dd)
        self.fused = False

    @torch.compiler.disable
    def forward(self, x):
        _assert(x.shape[-1] == self.fc1.in_features, "width")
        if self.training and not torch.jit.is_scripting():
            return checkpoint(self.fc1, x)
        return self.norm(self.fc1(x))


def init_weights(tensor, mean, std):
    with torch.no_grad():
        tensor.normal_()
        tensor.mul_(std)
        tensor.add_(mean)
    return tensor


def create_head(num_features, num_classes, device=None, dtype=None):
    return nn.Linear(num_features, num_classes, bias=True, device=device, dtype=dtype)


def init_modules(model):
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            m.running_mean.zero_()
    tokens = torch.jit.annotate(List[torch.Tensor], [])
    return tokens
