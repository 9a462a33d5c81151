def build():
    # imports inside functions are converted too
    import torch.nn as nn
    return nn.Sequential(nn.Linear(2, 3), nn.ReLU())


try:
    import torch
except ImportError:  # pragma: no cover
    torch = None
