import paddle
from paddle import optimizer as optim
from paddle.optimizer import SGD


def fit(model, data):
    opt = optim.Adam(parameters=model.parameters(), learning_rate=1e-3, beta1=0.9, beta2=0.98, epsilon=1e-6)
    sgd = optim.Momentum(parameters=model.parameters(), learning_rate=0.1, momentum=0.9, use_nesterov=True)
    plain = optim.SGD(parameters=model.parameters(), learning_rate=0.01)
    for x, y in data:
        opt.clear_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    with paddle.no_grad():
        return model(x)
