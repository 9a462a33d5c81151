import torch
import torch.nn as nn


class Net(nn.Module):
    def forward(self, x):
        y = torch.frobnicate(x)  # no such API: marked, left as written
        if torch.special_thing(y):
            y = y + 1
        return nn.MaxPool2d(2, dilation=2)(y)
