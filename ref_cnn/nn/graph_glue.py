"""The built-in glue table of the graph twin: the torch functions and tensor methods that
sit between modules in torchvision's classification models, each a forward/backward pair
from `ref_cnn.functional` with the torch callable's argument names (`register_glue`)."""

from __future__ import annotations

import importlib
import operator

import torch
import torch.nn.functional as tF

from ref_cnn import functional as F
from ref_cnn.functional import tensor_ops as T
from ref_cnn.nn.graph import register_glue

Tensor = torch.Tensor


X = {"input": "x"}  # torch's first argument is `input`, ref_cnn's `x`

# ------------------------------------------------------------------ arithmetic and joins
# a + b and a * b: tensor_ops' own parameter names are operator's (a, b)
for fn in (operator.add, operator.iadd):
    register_glue(fn, T.add, T.add_backward, ("a", "b"))
for fn in (operator.mul, operator.imul):
    register_glue(fn, T.mul, T.mul_backward, ("a", "b"))
TWO = {"input": "a", "other": "b"}
for fn in (torch.add, Tensor.add):
    register_glue(fn, T.add, T.add_backward, ("a", "b"), renames=TWO)
for fn in (torch.mul, Tensor.mul):
    register_glue(fn, T.mul, T.mul_backward, ("a", "b"), renames=TWO)
register_glue(torch.cat, T.cat, T.cat_backward, ("tensors",))
register_glue(operator.getitem, T.getitem, T.getitem_backward, ("x",))


# ------------------------------------------------------------------ shapes and axes
def _reshape(input, shape):  # torch.reshape takes the shape as one tuple
    return T.reshape(input, shape)


def _reshape_backward(dy, input, shape):
    return T.reshape_backward(dy, input, shape)


def _permute_dims(input, dims):  # torch.permute takes the dims as one tuple
    return T.permute(input, dims)


def _permute_dims_backward(dy, input, dims):
    return T.permute_backward(dy, input, dims)


def _size(input, dim=None):
    return tuple(input.shape) if dim is None else input.shape[dim]


for fn in (torch.flatten, Tensor.flatten):
    register_glue(fn, T.flatten, T.flatten_backward, renames=X)
for fn in (Tensor.view, Tensor.reshape):
    register_glue(fn, T.reshape, T.reshape_backward, renames=X)
register_glue(torch.reshape, _reshape, _reshape_backward)
register_glue(Tensor.permute, T.permute, T.permute_backward, renames=X)
register_glue(torch.permute, _permute_dims, _permute_dims_backward)
for fn in (torch.transpose, Tensor.transpose):
    register_glue(fn, T.transpose, T.transpose_backward, renames=X)
register_glue(
    Tensor.contiguous, T.contiguous, T.contiguous_backward, renames=X | {"memory_format": None}
)
for fn in (torch.chunk, Tensor.chunk):
    register_glue(fn, T.chunk, T.chunk_backward, renames=X)
for fn in (torch.unsqueeze, Tensor.unsqueeze):
    register_glue(fn, T.unsqueeze, T.unsqueeze_backward, renames=X)
for fn in (torch.mean, Tensor.mean):
    register_glue(fn, T.mean, T.mean_backward, renames=X | {"dtype": None})
register_glue(Tensor.size, _size, None)


# ------------------------------------------------------------------ activations and pooling
def _max_pool2d_backward(
    dy,
    x,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    return_indices=False,
):
    if isinstance(dy, tuple):  # (y, indices): the gradient of y
        dy = dy[0]
    return F.max_pool2d_backward(dy, x, kernel_size, stride, padding, dilation, ceil_mode)


for fn in (tF.relu, torch.relu, Tensor.relu):
    register_glue(fn, F.relu, F.relu_backward, renames=X | {"inplace": None})
register_glue(
    tF.adaptive_avg_pool2d, F.adaptive_avg_pool2d, F.adaptive_avg_pool2d_backward, renames=X
)
register_glue(tF.max_pool2d, F.max_pool2d, _max_pool2d_backward, renames=X, name="max_pool2d")
register_glue(tF.avg_pool2d, F.avg_pool2d, F.avg_pool2d_backward, renames=X)


def _sigmoid_backward(dy, x):  # F.sigmoid_backward is written on the output σ(x)
    return F.sigmoid_backward(dy, F.sigmoid(x))


for fn in (torch.sigmoid, Tensor.sigmoid, tF.sigmoid):
    register_glue(fn, F.sigmoid, _sigmoid_backward, renames=X)


# ------------------------------------------------------------------ normalisation, stochastic depth
register_glue(
    tF.layer_norm, F.layer_norm, F.layer_norm_backward, ("x", "weight", "bias"), renames=X
)


def _stochastic_depth(input, p, mode, training=True):
    if not training or p == 0.0:
        return input
    return F.stochastic_depth(input, p, mode, training)


def _stochastic_depth_backward(dy, input, p, mode, training=True):
    if not training or p == 0.0:
        return dy
    return F.stochastic_depth_backward(dy, input, p, mode, training)


try:  # the function torchvision's models call (torch.fx.wrap'ed: one node in the graph)
    _tv_ops = importlib.import_module("torchvision.ops")
except Exception:  # no torchvision, or one built for another torch
    _tv_ops = None
if _tv_ops is not None:
    register_glue(_tv_ops.stochastic_depth, _stochastic_depth, _stochastic_depth_backward)
