import json
from pathlib import Path

import torch.nn as nn

from .blocks import ConvBNAct, Head

CONFIG = json.loads((Path(__file__).parent / "config.json").read_text())


class TinyNet(nn.Module):
    def __init__(self, widths=None, classes=None):
        super().__init__()
        widths = widths or CONFIG["widths"]
        layers = []
        cin = 3
        for i, w in enumerate(widths):
            layers.append(ConvBNAct(cin, w, stride=2 if i else 1))
            cin = w
        self.features = nn.Sequential(*layers)
        self.head = Head(cin, classes or CONFIG["classes"])

    def forward(self, x):
        return self.head(self.features(x))


def build():
    return TinyNet()
