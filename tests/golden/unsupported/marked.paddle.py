import paddle
import paddle.nn as nn


class Net(nn.Layer):
    def forward(self, x):
        # porter: unsupported torch.frobnicate (no mapping)
        y = torch.frobnicate(x)  # no such API: marked, left as written
        # porter: unsupported torch.special_thing (no mapping)
        if torch.special_thing(y):
            y = y + 1
        # porter: unsupported torch.nn.MaxPool2d (argument 'dilation': only 1 converts, got 2)
        return nn.MaxPool2d(2, dilation=2)(y)
