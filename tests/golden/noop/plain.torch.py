# A file with no torch in it comes out byte for byte the same.
import os
import numpy as np


def split_words(s: str):
    return s.split(",")  # str.split is not torch.split


x = np.zeros(3).sum(axis=0)
