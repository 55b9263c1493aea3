"""The theory's prediction for the first layer of a PyTorch module (the tracker's data=): the
module's first Conv2d (or, without one, its first Linear) is read as the first layer of the
two-layer network of docs/science.md §2, the optimizer's settings give the time scales in steps,
and the initial weights' sizes give epsilon. When the module is that two-layer network the
prediction is the theory's; otherwise it is the two-layer prediction for its first layer, which
the run directory labels as such (prediction.json's "scope")."""

import math

from . import theory
from ._arrays import float_array

# The keywords of condense.predict that theory= may set; the others come from the module.
_THEORY_KEYWORDS = ("target", "positive_classes", "outputs", "batch_size", "description", "lr",
                    "optimizer", "momentum", "weight_decay", "init_std", "readout_std")


def _torch():
    import torch

    return torch


def _square(value, what, layer):
    """An int from a PyTorch size that is an int or a tuple of equal ints."""
    if isinstance(value, tuple):
        if len(set(value)) != 1:
            raise ValueError(f"data=: {layer} has {what} {value}; the theory's model has square "
                             "kernels, strides and paddings")
        value = value[0]
    return int(value)


def _conv_geometry(name, conv):
    """(kernels, kernel, stride, padding, bias) of a Conv2d the theory can read as its first layer,
    or ValueError naming what it cannot."""
    if conv.groups != 1 or _square(conv.dilation, "dilation", name) != 1:
        raise ValueError(f"data=: {name} has groups={conv.groups}, dilation={conv.dilation}; the "
                         "theory's first layer is a plain convolution (groups 1, dilation 1)")
    if conv.padding_mode != "zeros":
        raise ValueError(f"data=: {name} pads with {conv.padding_mode!r}; the theory's first "
                         "layer pads with zeros")
    kernel = _square(conv.kernel_size, "kernel_size", name)
    stride = _square(conv.stride, "stride", name)
    padding = conv.padding
    if padding == "valid":
        padding = 0
    elif padding == "same":
        if kernel % 2 == 0:
            raise ValueError(f"data=: {name} pads 'same' with an even kernel {kernel}, unevenly; "
                             "the theory's padding is the same on every side")
        padding = kernel // 2
    padding = _square(padding, "padding", name)
    return conv.out_channels, kernel, stride, padding, conv.bias is not None


def _optimizer_settings(optimizer, parameter):
    """condense.predict's optimizer keywords for a torch optimizer: SGD (momentum, dampening and
    weight decay: the step's gradient-flow time is lr (1 - dampening) / (1 - momentum)) and Adam
    (whose steps are not gradient-flow time); any other optimizer gives the time scales in
    gradient-flow time only. The settings are those of the parameter group holding `parameter`."""
    if optimizer is None:
        return {}
    torch = _torch()
    groups = getattr(optimizer, "param_groups", [])
    group = next((g for g in groups if any(p is parameter for p in g["params"])),
                 groups[0] if groups else None)
    if group is None:
        return {}
    lr = float(group["lr"])
    if isinstance(optimizer, torch.optim.SGD):
        return {"optimizer": "sgd", "lr": lr * (1.0 - float(group.get("dampening", 0.0))),
                "momentum": float(group.get("momentum", 0.0)),
                "weight_decay": float(group.get("weight_decay", 0.0))}
    if type(optimizer) is torch.optim.Adam:  # AdamW's decay is not added to the gradient
        return {"optimizer": "adam", "lr": lr,
                "weight_decay": float(group.get("weight_decay", 0.0))}
    if isinstance(optimizer, torch.optim.Adam) or type(optimizer).__name__ == "AdamW":
        return {"optimizer": "adam", "lr": lr}
    return {}


def _rms(tensor):
    """The root mean square of a tensor's values: the std of a zero-mean normal init."""
    values = float_array(tensor.detach(), "weight")
    return math.sqrt(float((values * values).mean())) if values.size else 0.0


def _two_layer(module, tracked, untracked, first, readout, positions):
    """Whether `module` is exactly the theory's two-layer network: its only parameters are those of
    `first` and of `readout`, a Linear reading the flattened maps of `first` (M · positions
    inputs, or M for an FC net)."""
    torch = _torch()
    if untracked or readout is None or not isinstance(readout[1], torch.nn.Linear):
        return False
    layers = {name.rsplit(".", 1)[0] for name, _ in tracked}
    return layers == {first[0], readout[0]} and \
        readout[1].in_features == _width(first[1]) * positions


def _width(layer):
    torch = _torch()
    return layer.out_channels if isinstance(layer, torch.nn.Conv2d) else layer.out_features


def module_prediction(module, tracked, untracked, data, *, activation, loss, optimizer,
                      description, theory_options):
    """(Prediction, first layer's name, network description or None for the theory's own
    network, readout layer's name or None) for the module's first layer on `data` = (x, y)."""
    torch = _torch()
    if activation is None or loss is None:
        raise ValueError('data= needs activation= (the first layer\'s activation: "tanh", ...) '
                         'and loss= ("mse" or "cross-entropy"): the prediction depends on both, '
                         "and the tracker cannot see them in the module")
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError("data= takes the training data as a pair (inputs, targets)")
    options = dict(theory_options or {})
    unknown = sorted(set(options) - set(_THEORY_KEYWORDS))
    if unknown:
        raise ValueError(f"theory=: {', '.join(unknown)} cannot be set (the module gives it); "
                         f"theory= takes {', '.join(_THEORY_KEYWORDS)}")
    x, y = data
    layers = [(name, sub) for name, sub in module.named_modules()
              if isinstance(sub, (torch.nn.Conv2d, torch.nn.Linear))]
    convs = [(name, sub) for name, sub in layers if isinstance(sub, torch.nn.Conv2d)]
    first = convs[0] if convs else layers[0]
    index = [name for name, _ in layers].index(first[0])
    readout = layers[index + 1] if index + 1 < len(layers) else None
    keywords = {"activation": activation, "loss": loss}
    if isinstance(first[1], torch.nn.Conv2d):
        kernels, kernel, stride, padding, bias = _conv_geometry(first[0], first[1])
        keywords.update(kernels=kernels, kernel=kernel, stride=stride, padding=padding)
        shape = tuple(x.shape)
        if len(shape) != 4:
            raise ValueError(f"data=: the inputs have shape {shape}; {first[0]} is a Conv2d, "
                             "which reads (N, C, H, W)")
        if shape[1] != first[1].in_channels:
            raise ValueError(f"data=: the inputs have {shape[1]} channels; {first[0]} reads "
                             f"{first[1].in_channels}")
        out_h = (shape[2] + 2 * padding - kernel) // stride + 1
        out_w = (shape[3] + 2 * padding - kernel) // stride + 1
        positions = out_h * out_w
        family = theory.predict
    else:
        features = math.prod(tuple(x.shape)[1:])
        if features != first[1].in_features:
            raise ValueError(f"data=: the inputs have {features} features per sample "
                             f"{tuple(x.shape)[1:]}; {first[0]} reads {first[1].in_features}")
        bias = first[1].bias is not None
        keywords["width"] = first[1].out_features
        positions = 1
        family = theory.predict_fc
    keywords["bias"] = bias
    # The output layer's bias absorbs the mean target (docs/theory.md §1): the readout of the
    # two-layer network, the last Linear of a deeper one.
    output = layers[-1][1] if isinstance(layers[-1][1], torch.nn.Linear) else None
    keywords["readout_bias"] = output is not None and output.bias is not None
    two_layer = _two_layer(module, tracked, untracked, first, readout, positions)
    if two_layer and readout[1].out_features > 1 and options.get("target") not in ("binary",
                                                                                    "regression"):
        options.setdefault("outputs", readout[1].out_features)
    keywords["init_std"] = _rms(first[1].weight)
    if readout is not None:
        keywords["readout_std"] = _rms(readout[1].weight)
    keywords.update(_optimizer_settings(optimizer, first[1].weight))
    if description is not None:
        keywords["description"] = description
    keywords.update(options)
    prediction = family(x, y, **keywords)
    if two_layer:
        return prediction, first[0], None, readout[0]
    network = f"{type(module).__name__}, {len(layers)} conv and linear layers"
    return prediction, first[0], network, None
