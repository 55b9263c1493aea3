"""The model of a run in PyTorch (float64), its loss and accuracy, and a replay of full-batch
training, written from docs/engine.md and docs/config.md.

The model maps to PyTorch as tests/fixtures/make_fixtures.py does: conv layers (each followed by
its activation and optional 2x2 pooling), then hidden linear layers (with model.residual, every
hidden layer after the first is h + σ(W h + b)), then a linear output layer reading the flattened
features in (channel, row, column) order; parameters are named conv1..., fc1... in that order.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from rederive_data import UnsupportedRun


class _Tanh(torch.autograd.Function):
    """tanh through numpy: in the Debian PyTorch build, float64 tanh and elementwise arithmetic
    with a scalar are 10 to 100 times slower than numpy's."""

    @staticmethod
    def forward(ctx, x):
        y = torch.from_numpy(np.tanh(x.detach().numpy()))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        y = y.numpy()
        return torch.from_numpy(grad.contiguous().numpy() * (1.0 - y * y))


def tanh(x):
    return _Tanh.apply(x)


def activation(name):
    kind, _, parameter = name.partition(":")
    table = {
        "identity": lambda x: x,
        "tanh": tanh,
        "sigmoid": torch.sigmoid,
        "softplus": F.softplus,
        "relu": F.relu,
        "gelu": F.gelu,
        "silu": F.silu,
        "xtanh": lambda x: x * tanh(x),
        "x2tanh": lambda x: x * x * tanh(x),
    }
    if kind == "leaky_relu":
        slope = float(parameter) if parameter else 0.01
        return lambda x: F.leaky_relu(x, slope)
    if kind not in table or parameter:
        raise UnsupportedRun(f"activation {name!r}")
    return table[kind]


class Net(torch.nn.Module):
    def __init__(self, model, input_shape, target_width):
        super().__init__()
        convs, hidden = model["conv"], list(model["hidden"])
        names = model["activation"]
        names = [names] * (len(convs) + len(hidden)) if isinstance(names, str) else list(names)
        if len(names) != len(convs) + len(hidden):
            raise UnsupportedRun("model.activation: one per conv and hidden layer expected")
        self.activations = [activation(n) for n in names]
        self.pools = [c.get("pool", "none") for c in convs]
        self.pools = [model["pool"] if p == "none" else p for p in self.pools]
        self.residual = model["residual"]
        self.conv_count, self.hidden_count = len(convs), len(hidden)
        bias = model["bias"]
        channels, height, width = input_shape
        for i, c in enumerate(convs):
            setattr(self, f"conv{i + 1}", torch.nn.Conv2d(channels, c["channels"], c["kernel"],
                                                          c["stride"], c["padding"], bias=bias))
            channels = c["channels"]
            height = (height + 2 * c["padding"] - c["kernel"]) // c["stride"] + 1
            width = (width + 2 * c["padding"] - c["kernel"]) // c["stride"] + 1
            if self.pools[i] != "none":
                height, width = height // 2, width // 2
        features = channels * height * width
        for j, h in enumerate(hidden):
            setattr(self, f"fc{j + 1}", torch.nn.Linear(features, h, bias=bias))
            features = h
        outputs = model["outputs"] or target_width
        setattr(self, f"fc{len(hidden) + 1}", torch.nn.Linear(features, outputs, bias=bias))

    def forward(self, x):
        for i in range(self.conv_count):
            x = self.activations[i](getattr(self, f"conv{i + 1}")(x))
            if self.pools[i] == "avg2":
                x = F.avg_pool2d(x, 2, 2)
            elif self.pools[i] == "max2":
                x = F.max_pool2d(x, 2, 2)
            elif self.pools[i] != "none":
                raise UnsupportedRun(f"pooling {self.pools[i]!r}")
        x = x.flatten(1)
        for j in range(self.hidden_count):
            z = self.activations[self.conv_count + j](getattr(self, f"fc{j + 1}")(x))
            x = x + z if self.residual and j > 0 else z
        return getattr(self, f"fc{self.hidden_count + 1}")(x)


def build_model(config, data):
    torch.set_default_dtype(torch.float64)
    targets = data["train"]["targets"]
    width = data["classes"] if targets.ndim == 1 else targets.shape[1]
    return Net(config["model"], data["train"]["inputs"].shape[1:], width)


def loss_of(kind, f, y):
    if kind == "mse":
        # R = (1/2n) Σ_i |f(x_i) − y_i|², summed over the outputs.
        return 0.5 * ((f - y) ** 2).sum() / f.shape[0]
    if kind == "cross-entropy":
        return F.cross_entropy(f, y)
    raise UnsupportedRun(f"train.loss = {kind!r}")


def count_correct(f, y):
    if y.dim() == 1:
        return int((f.argmax(dim=1) == y).sum())
    if y.shape[1] == 1:
        return int(((f[:, 0] >= 0) == (y[:, 0] >= 0)).sum())
    return int((f.argmax(dim=1) == y.argmax(dim=1)).sum())


def as_tensors(split):
    return torch.from_numpy(split["inputs"]), torch.from_numpy(split["targets"])


def load_weights(net, weights):
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.from_numpy(weights[name]))


def evaluate(net, kind, split):
    """(loss, correct count) of the current weights over a whole split."""
    x, y = as_tensors(split)
    with torch.no_grad():
        f = net(x)
        return float(loss_of(kind, f, y)), count_correct(f, y)


def learning_rate(train, step, total):
    lr = train["lr"]
    if train["schedule"] == "constant":
        return lr
    if train["schedule"] == "step":
        return lr * train["step_factor"] ** (step // train["step_size"])
    if train["schedule"] == "cosine":
        span = max(1, total)
        t = min(step, span) / span
        return train["min_lr"] + (lr - train["min_lr"]) * (1 + math.cos(math.pi * t)) / 2
    raise UnsupportedRun(f"train.schedule = {train['schedule']!r}")


def replay(net, train, split, total, initial, on_step):
    """Full-batch training from `initial` with PyTorch's optimizer semantics (the update rules
    written out), calling on_step(k, weights) with the weights after k steps, k = 0..total."""
    load_weights(net, initial)
    x, y = as_tensors(split)
    params = list(net.named_parameters())
    state = {name: {} for name, _ in params}
    kind, wd = train["optimizer"], train["weight_decay"]
    for step in range(total + 1):
        on_step(step, {name: p.detach().numpy().copy() for name, p in params})
        if step == total:
            break
        net.zero_grad()
        loss_of(train["loss"], net(x), y).backward()
        lr, t = learning_rate(train, step, total), step + 1
        with torch.no_grad():
            for name, p in params:
                d = p.grad + wd * p
                s = state[name]
                if kind == "gd" or (kind == "sgd" and train["momentum"] == 0):
                    p -= lr * d
                elif kind == "sgd":
                    mu = train["momentum"]
                    s["buf"] = d.clone() if t == 1 else mu * s["buf"] + (1 - train["dampening"]) * d
                    p -= lr * (d + mu * s["buf"] if train["nesterov"] else s["buf"])
                elif kind == "adam":
                    b1, b2 = train["betas"]
                    s["m"] = (1 - b1) * d if t == 1 else b1 * s["m"] + (1 - b1) * d
                    s["v"] = (1 - b2) * d * d if t == 1 else b2 * s["v"] + (1 - b2) * d * d
                    m_hat = s["m"] / (1 - b1 ** t)
                    v_hat = s["v"] / (1 - b2 ** t)
                    p -= lr * m_hat / (v_hat.sqrt() + train["eps"])
                else:
                    raise UnsupportedRun(f"train.optimizer = {kind!r}")
