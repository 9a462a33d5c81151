"""Every import form resolves; aliases are kept."""
import os
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import nn as tnn
from torch.nn import functional as Fn
from torch.nn import Linear, BatchNorm2d as BN, Module
from torch.utils.data import DataLoader, Dataset


class Block(Module):
    def __init__(self):
        super().__init__()
        self.a = Linear(4, 4)
        self.b = nn.BatchNorm2d(4, eps=1e-3)
        self.c = BN(4)
        self.d = tnn.Conv2d(4, 4, 3, bias=False)
        self.e = torch.nn.ReLU(inplace=True)

    def forward(self, x):
        return F.relu(x) + Fn.relu(x) + torch.flatten(x, 1)


def loader(ds: Dataset) -> DataLoader:
    return DataLoader(ds, batch_size=4, pin_memory=True)


print(os.sep)
