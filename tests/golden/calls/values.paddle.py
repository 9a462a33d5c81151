"""Torch callables passed around as values keep their argument conversion."""
import functools
from functools import partial
from typing import Callable, Optional

import paddle
import paddle.nn as nn


class Block(nn.Layer):
    def __init__(self, c: int, norm_layer: Optional[Callable[..., nn.Layer]] = None, act_layer=nn.ReLU):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2D
        self.bn = norm_layer(c, epsilon=1e-3, momentum=0.99)      # BatchNorm's conversion applies
        self.act = act_layer()
        self.other = helper(c, eps=1e-3)                        # not a torch callable: unchanged


def make(c):
    norm = functools.partial(nn.BatchNorm2D, epsilon=1e-3, momentum=0.97)
    ln = partial(nn.LayerNorm, epsilon=1e-6)
    return nn.Sequential(norm(c), ln(c), Block(c, norm_layer=nn.BatchNorm2D))


def check(grid_sizes, strides):
    assert len(grid_sizes) == len(strides), ("Anchors should be Tuple[Tuple[int]] because each feature "
        "map could potentially have different sizes.")
