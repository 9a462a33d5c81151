import torch.nn as nn


def make(c):
    return nn.Sequential(
        nn.Conv2d(c, 2 * c, 3, 1, 1, bias=False),  # positional head kept
        nn.BatchNorm2d(2 * c, 1e-3, 0.01),          # eps positional -> keyword; momentum 1 - m
        nn.BatchNorm1d(c, momentum=0.1, affine=False, track_running_stats=False),
        nn.ConvTranspose2d(c, c, 3, 2, 1, 1, 2),    # groups is 7th in torch, dilation in paddle
        nn.AvgPool2d(2),                            # torch counts padding: exclusive=False
        nn.LeakyReLU(0.2, inplace=True),
        nn.Flatten(start_dim=1),
        nn.Softmax(dim=-1),
        nn.LSTM(8, 16, 2, batch_first=True, bidirectional=True),
    )
