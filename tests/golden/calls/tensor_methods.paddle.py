# Tensor methods: torch keywords become paddle's, positionals stay where the orders agree.
import paddle


def head(x, mask, idx, g):
    h = x.view(x.size(0), -1).flatten(start_axis=1)
    s = h.sum(1, keepdim=True) + h.sum(axis=-1, keepdim=True)
    m = h.mean(axis=0).std(unbiased=False) + h.var(1, correction=0).sum()
    h = h.masked_fill(mask, 0.0).flip([0, 1]).unsqueeze(axis=1).squeeze(1)
    p = h.softmax(dim=-1).index_select(axis=1, index=idx).gather(1, idx[None].expand(h.size(0), -1))
    n = h.size + paddle.to_tensor([1.0, 2.0], dtype=h.dtype, place=h.place).sum()
    r = (h * 2 - 1) ** 0.5 / h.norm(axis=1, keepdim=True) > 0.5
    g.scale_(0.9).add_(h.mean(0), alpha=0.1)
    return paddle.nn.functional.relu(x).topk(3, axis=-1), s, m, p, n, r, g.cuda(blocking=False)
