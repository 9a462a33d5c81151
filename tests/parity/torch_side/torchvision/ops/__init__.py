from .misc import FrozenBatchNorm2d  # noqa: F401
