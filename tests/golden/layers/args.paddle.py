import paddle.nn as nn


def make(c):
    return nn.Sequential(
        nn.Conv2D(c, 2 * c, 3, 1, 1, bias_attr=False),  # positional head kept
        nn.BatchNorm2D(2 * c, epsilon=1e-3, momentum=0.99),          # eps positional -> keyword; momentum 1 - m
        nn.BatchNorm1D(c, momentum=0.9, weight_attr=False, bias_attr=False, use_global_stats=False),
        nn.Conv2DTranspose(c, c, 3, 2, 1, 1, groups=2),    # groups is 7th in torch, dilation in paddle
        nn.AvgPool2D(2, exclusive=False),                            # torch counts padding: exclusive=False
        nn.LeakyReLU(0.2),
        nn.Flatten(start_axis=1),
        nn.Softmax(axis=-1),
        nn.LSTM(8, 16, 2, time_major=False, direction='bidirect'),
    )
