import torch
from torch import nn
import torch.nn.functional as F


class ConvBNAct(nn.Module):
    """Conv -> BatchNorm -> ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super(ConvBNAct, self).__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.03)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Head(nn.Module):
    def __init__(self, cin: int, classes: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = torch.flatten(self.pool(x), 1)
        return F.log_softmax(self.fc(x), dim=1)
