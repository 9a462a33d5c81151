# Calls that reach the torch.Tensor method rows but are not tensor methods: left exactly as written.
import logging
import math
import re

import numpy as np
import paddle


class Counter(Base):
    def step(self, x):
        return self.sub(x) + self.norm(x)


def stats(a, df, seen, pattern, text, log: logging.Logger):
    seen.add(a.shape)
    total = np.sum(a, 0) + np.mean(a, axis=0) + a.sum(axis=0, keepdims=True) + np.linalg.norm(a, 2)
    total += a.std(ddof=1) + a.round(2) + np.clip(a, 0, 1) + np.flip(a, 0) + a.transpose(1, 0, 2)
    total += math.pow(2, 3) + math.exp(1.0) + df.mul(2, axis=0) + df.clip(lower=0)
    log.log(logging.INFO, "total %s", total)
    return re.sub("a", "b", text), pattern.sub("b", text), a.argsort(kind="stable"), total
