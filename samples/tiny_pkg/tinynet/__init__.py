"""A small package: relative imports, a data file, a CNN built from blocks."""
from .model import TinyNet, build

__all__ = ["TinyNet", "build"]
