# Tensor methods: torch keywords become paddle's, positionals stay where the orders agree.
import torch


def head(x, mask, idx, g):
    h = x.view(x.size(0), -1).flatten(start_dim=1)
    s = h.sum(1, True) + h.sum(dim=-1, keepdim=True)
    m = h.mean(dim=0).std(False) + h.var(1, correction=0).sum()
    h = h.masked_fill(mask, 0.0).flip(0, 1).unsqueeze(dim=1).squeeze(1)
    p = h.softmax(dim=-1).index_select(1, idx).gather(1, idx[None].expand(h.size(0), -1))
    n = h.numel() + h.new_tensor([1.0, 2.0]).sum()
    r = h.mul(2).sub(1).pow(0.5).div(h.norm(dim=1, keepdim=True)).gt(0.5)
    g.mul_(0.9).add_(h.mean(0), alpha=0.1)
    return x.relu().topk(3, dim=-1), s, m, p, n, r, g.cuda(non_blocking=True)
