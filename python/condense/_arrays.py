"""Arrays in: numpy arrays, torch tensors (any device, dtype, layout) and anything numpy reads."""

import numpy as np


def is_tensor(value):
    """Whether `value` is a torch tensor, without importing torch when it is not loaded."""
    torch = _loaded_torch()
    return torch is not None and isinstance(value, torch.Tensor)


def _loaded_torch():
    import sys

    return sys.modules.get("torch")


def to_numpy(value, name="array"):
    """`value` as a numpy array of floats on the host: a torch tensor is detached and moved to the
    CPU (a copy only when it lives elsewhere or is not float32/float64); a numpy array is returned
    as it is when its dtype is float32 or float64. Raises ValueError naming `name` otherwise."""
    if is_tensor(value):
        tensor = value.detach()
        if tensor.device.type != "cpu":
            tensor = tensor.to("cpu")
        torch = _loaded_torch()
        if tensor.is_complex():
            raise ValueError(f"{name}: a {tensor.dtype} tensor; condense reads real numbers")
        if tensor.dtype not in (torch.float32, torch.float64):
            tensor = tensor.to(torch.float64)  # float16, bfloat16, integers: exactly
        value = tensor.numpy()
    array = np.asarray(value)
    if array.dtype.kind == "c":
        raise ValueError(f"{name}: complex values; condense reads real numbers")
    if array.dtype.kind not in "fiub":
        raise ValueError(f"{name}: dtype {array.dtype}; condense reads numbers")
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float64)
    return array


def float_array(value, name="array"):
    """`value` as a float64 numpy array (converted from float32 exactly)."""
    return np.asarray(to_numpy(value, name), dtype=np.float64)
