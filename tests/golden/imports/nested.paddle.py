def build():
    # imports inside functions are converted too
    import paddle.nn as nn
    return nn.Sequential(nn.Linear(2, 3), nn.ReLU())


try:
    import paddle
except ImportError:  # pragma: no cover
    paddle = None
