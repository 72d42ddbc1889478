"""`from_torch`: a NumPy twin of a torch module tree with the weights copied, and
`to_torch`: the way back (write a twin's weights into a torch module).

Every copied array is checked against the shape the twin expects (as nanoGPT's
`from_pretrained` does), and an unsupported module raises a `TypeError` naming it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ref_cnn._extras import require
from ref_cnn.nn import graph_build
from ref_cnn.nn.module import Module

# torch type → builder(torch_module, convert_child) → ref_cnn Module; the built-in ones are
# loaded on the first `from_torch`, so that importing ref_cnn does not import torch.
_BUILDERS: dict[type, Callable] = {}
_BUILT_INS_LOADED = False


def register_converter(torch_type: type):
    """Decorator: teach `from_torch` a new torch module type (or replace the built-in
    converter of one). Works before or after the first `from_torch`."""

    def wrap(fn):
        _BUILDERS[torch_type] = fn
        return fn

    return wrap


def _builders() -> dict[type, Callable]:
    global _BUILT_INS_LOADED
    if not _BUILT_INS_LOADED:  # not `if not _BUILDERS`: a user may have registered one first
        require("torch", "from_torch")
        users = dict(_BUILDERS)  # registered before the built-ins loaded: they stay
        from ref_cnn.nn import (  # noqa: F401  (registers them)
            graph_glue,
            torch_builders,
        )

        _BUILDERS.update(users)
        _BUILT_INS_LOADED = True
    return _BUILDERS


def _to_numpy(tensor, dtype) -> np.ndarray:
    """A copy; floating tensors are cast to `dtype`, integer ones keep their type."""
    value = tensor.detach().cpu().numpy()
    return value.astype(dtype if tensor.is_floating_point() else value.dtype, copy=True)


def copy_params(twin: Module, torch_module, dtype) -> None:
    """Copy every direct parameter (and buffer the twin declares) with a shape check."""
    theirs = dict(torch_module.named_parameters(recurse=False))
    theirs.update(dict(torch_module.named_buffers(recurse=False)))
    for name, ours in list(twin._params.items()) + list(twin._buffers.items()):
        if name not in theirs or theirs[name] is None:
            raise TypeError(f"{type(torch_module).__name__} has no tensor {name!r} to copy")
        value = _to_numpy(theirs[name], dtype)
        if value.shape != ours.shape:
            raise ValueError(
                f"{type(torch_module).__name__}.{name}: shape {value.shape} != {ours.shape}"
            )
        ours[...] = value


def from_torch(module, dtype=np.float64, _path: str = "model") -> Module:
    """A NumPy twin of `module` with its weights copied (float64 by default).

    Supported: Conv2d (any padding_mode), ConvTranspose2d, Linear, MaxPool2d, AvgPool2d,
    AdaptiveAvgPool2d, AdaptiveMaxPool2d, MaxUnpool2d, BatchNorm2d, ReLU, Sigmoid, Tanh,
    LeakyReLU, Softmax, Flatten and Unflatten (any dims), Dropout, Dropout2d, Identity,
    Sequential; LayerNorm, RMSNorm, GroupNorm, InstanceNorm2d, LocalResponseNorm; ReLU6,
    Hardswish, Hardsigmoid, SiLU, GELU (both forms), ELU, SELU, CELU, Hardtanh, Softplus,
    Mish, PReLU, LogSigmoid, Softsign, GLU, LogSoftmax, Softmax2d; ZeroPad2d, ConstantPad2d,
    ReflectionPad2d, ReplicationPad2d, CircularPad2d; LPPool2d, PixelShuffle,
    PixelUnshuffle, ChannelShuffle, Upsample (interpolate's modes); torchvision's
    SqueezeExcitation, Conv2dNormActivation, StochasticDepth and Permute; and any type given
    a converter by `register_converter`. Any other module (a model: torchvision's ResNet,
    DenseNet, …, or your own) becomes a `graph.GraphTwin`: its torch.fx graph with those
    modules as leaves and the glue functions of `graph.register_glue` between them.
    The twin starts in the same train/eval mode as `module`.

    Raises:
        TypeError: naming the first unsupported module (and its path in the tree), or the
            graph node of an unsupported function (its op, target and line of model code).
    """
    builders = _builders()
    builder = builders.get(type(module))
    if builder is None and not graph_build.is_leaf(module, builders):  # a model: its traced graph

        def leaf(sub, path):
            return from_torch(sub, dtype, f"{_path}.{path}")

        return graph_build.build(module, dtype, builders, leaf)
    if builder is None:
        raise TypeError(
            f"from_torch: unsupported module {_path} of type {type(module).__module__}."
            f"{type(module).__name__}; supported: {sorted(t.__name__ for t in builders)}"
        )

    def child(sub, name):
        return from_torch(sub, dtype, f"{_path}.{name}")

    twin = builder(module, child, dtype)
    twin.torch_name = _path.partition(".")[2]  # its name in named_modules(): shared_randomness
    copy_params(twin, module, dtype)
    twin.train(module.training)
    return twin


def to_torch(twin: Module, module) -> None:
    """Write the twin's parameters (and BatchNorm running statistics) into `module`.

    The two must hold the same tensors: a name on one side only raises ValueError naming
    it (a torch parameter the twin lacks would otherwise keep its old value silently).
    """
    torch = require("torch", "to_torch")

    ours = twin.params()
    ours.update(twin.buffers())
    theirs = dict(module.named_parameters())
    theirs.update(dict(module.named_buffers()))
    missing = sorted(set(ours) - set(theirs))
    if missing:
        raise ValueError(f"the torch module has no tensors named {missing}")
    extra = sorted(set(theirs) - set(ours))
    if extra:
        raise ValueError(
            f"the twin has no tensors named {extra}: the torch module is not the twin's "
            "architecture (build the twin with from_torch(module) to copy every tensor)"
        )
    with torch.no_grad():
        for name, value in ours.items():
            target = theirs[name]
            if tuple(target.shape) != value.shape:
                raise ValueError(f"{name}: shape {value.shape} != torch's {tuple(target.shape)}")
            target.copy_(torch.from_numpy(np.asarray(value)).to(target.dtype))
