"""Torch callables passed around as values keep their argument conversion."""
import functools
from functools import partial
from typing import Callable, Optional

import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, c: int, norm_layer: Optional[Callable[..., nn.Module]] = None, act_layer=nn.ReLU):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self.bn = norm_layer(c, eps=1e-3, momentum=0.01)      # BatchNorm's conversion applies
        self.act = act_layer(inplace=True)
        self.other = helper(c, eps=1e-3)                        # not a torch callable: unchanged


def make(c):
    norm = functools.partial(nn.BatchNorm2d, eps=1e-3, momentum=0.03)
    ln = partial(nn.LayerNorm, eps=1e-6)
    return nn.Sequential(norm(c), ln(c), Block(c, norm_layer=nn.BatchNorm2d))


def check(grid_sizes, strides):
    torch._assert(
        len(grid_sizes) == len(strides),
        "Anchors should be Tuple[Tuple[int]] because each feature "
        "map could potentially have different sizes.",
    )
