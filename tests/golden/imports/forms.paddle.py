"""Every import form resolves; aliases are kept."""
import os
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle import nn as tnn
from paddle.nn import functional as Fn
from paddle.nn import Linear, BatchNorm2D as BN, Layer
from paddle.io import DataLoader, Dataset


class Block(Layer):
    def __init__(self):
        super().__init__()
        self.a = Linear(4, 4)
        self.b = nn.BatchNorm2D(4, epsilon=1e-3)
        self.c = BN(4)
        self.d = tnn.Conv2D(4, 4, 3, bias_attr=False)
        self.e = paddle.nn.ReLU()

    def forward(self, x):
        return F.relu(x) + Fn.relu(x) + paddle.flatten(x, 1)


def loader(ds: Dataset) -> DataLoader:
    return DataLoader(ds, batch_size=4)


print(os.sep)
