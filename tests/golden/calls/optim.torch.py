import torch
from torch import optim
from torch.optim import SGD


def fit(model, data):
    opt = optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-6)
    sgd = SGD(model.parameters(), 0.1, momentum=0.9, nesterov=True)
    plain = torch.optim.SGD(params=model.parameters(), lr=0.01)
    for x, y in data:
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return model(x)
