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


# ------------------------------------------------------------------ arithmetic and joins
def _add(input, other, alpha=1):
    return T.add(input, other, alpha)


def _add_backward(dy, input, other, alpha=1):
    return T.add_backward(dy, input, other, alpha)


def _mul(input, other):
    return T.mul(input, other)


def _mul_backward(dy, input, other):
    return T.mul_backward(dy, input, other)


# a + b and a * b: tensor_ops' own parameter names are operator's (a, b)
for fn in (operator.add, operator.iadd):
    register_glue(fn, T.add, T.add_backward, ("a", "b"))
for fn in (operator.mul, operator.imul):
    register_glue(fn, T.mul, T.mul_backward, ("a", "b"))
register_glue(torch.add, _add, _add_backward, ("input", "other"))
register_glue(Tensor.add, _add, _add_backward, ("input", "other"))
register_glue(torch.mul, _mul, _mul_backward, ("input", "other"))
register_glue(Tensor.mul, _mul, _mul_backward, ("input", "other"))
register_glue(torch.cat, T.cat, T.cat_backward, ("tensors",))
register_glue(operator.getitem, T.getitem, T.getitem_backward, ("x",))


# ------------------------------------------------------------------ shapes and axes
def _flatten(input, start_dim=0, end_dim=-1):
    return T.flatten(input, start_dim, end_dim)


def _flatten_backward(dy, input, start_dim=0, end_dim=-1):
    return T.flatten_backward(dy, input, start_dim, end_dim)


def _view(input, *shape):
    return T.reshape(input, *shape)


def _view_backward(dy, input, *shape):
    return T.reshape_backward(dy, input, *shape)


def _reshape(input, shape):
    return T.reshape(input, shape)


def _reshape_backward(dy, input, shape):
    return T.reshape_backward(dy, input, shape)


def _permute(input, *dims):
    return T.permute(input, *dims)


def _permute_backward(dy, input, *dims):
    return T.permute_backward(dy, input, *dims)


def _transpose(input, dim0, dim1):
    return T.transpose(input, dim0, dim1)


def _transpose_backward(dy, input, dim0, dim1):
    return T.transpose_backward(dy, input, dim0, dim1)


def _contiguous(input, memory_format=None):
    return T.contiguous(input)


def _contiguous_backward(dy, input, memory_format=None):
    return T.contiguous_backward(dy, input)


def _chunk(input, chunks, dim=0):
    return T.chunk(input, chunks, dim)


def _chunk_backward(dy, input, chunks, dim=0):
    return T.chunk_backward(dy, input, chunks, dim)


def _unsqueeze(input, dim):
    return T.unsqueeze(input, dim)


def _unsqueeze_backward(dy, input, dim):
    return T.unsqueeze_backward(dy, input, dim)


def _mean(input, dim=None, keepdim=False, dtype=None):
    return T.mean(input, dim, keepdim)


def _mean_backward(dy, input, dim=None, keepdim=False, dtype=None):
    return T.mean_backward(dy, input, dim, keepdim)


def _size(input, dim=None):
    return tuple(input.shape) if dim is None else input.shape[dim]


for fn in (torch.flatten, Tensor.flatten):
    register_glue(fn, _flatten, _flatten_backward)
for fn in (Tensor.view, Tensor.reshape):
    register_glue(fn, _view, _view_backward)
register_glue(torch.reshape, _reshape, _reshape_backward)
register_glue(Tensor.permute, _permute, _permute_backward)
for fn in (torch.transpose, Tensor.transpose):
    register_glue(fn, _transpose, _transpose_backward)
register_glue(Tensor.contiguous, _contiguous, _contiguous_backward)
for fn in (torch.chunk, Tensor.chunk):
    register_glue(fn, _chunk, _chunk_backward)
for fn in (torch.unsqueeze, Tensor.unsqueeze):
    register_glue(fn, _unsqueeze, _unsqueeze_backward)
for fn in (torch.mean, Tensor.mean):
    register_glue(fn, _mean, _mean_backward)
register_glue(Tensor.size, _size, None)


def _permute_dims(input, dims):
    return T.permute(input, dims)


def _permute_dims_backward(dy, input, dims):
    return T.permute_backward(dy, input, dims)


register_glue(torch.permute, _permute_dims, _permute_dims_backward)


# ------------------------------------------------------------------ activations and pooling
def _relu(input, inplace=False):
    return F.relu(input)


def _relu_backward(dy, input, inplace=False):
    return F.relu_backward(dy, input)


def _adaptive_avg_pool2d(input, output_size):
    return F.adaptive_avg_pool2d(input, output_size)


def _adaptive_avg_pool2d_backward(dy, input, output_size):
    return F.adaptive_avg_pool2d_backward(dy, input, output_size)


def _max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    return F.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _max_pool2d_backward(
    dy,
    input,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode=False,
    return_indices=False,
):
    if isinstance(dy, tuple):  # (y, indices): the gradient of y
        dy = dy[0]
    return F.max_pool2d_backward(dy, input, kernel_size, stride, padding, dilation, ceil_mode)


def _avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    return F.avg_pool2d(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def _avg_pool2d_backward(
    dy,
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    return F.avg_pool2d_backward(
        dy, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


for fn in (tF.relu, torch.relu, Tensor.relu):
    register_glue(fn, _relu, _relu_backward)
register_glue(tF.adaptive_avg_pool2d, _adaptive_avg_pool2d, _adaptive_avg_pool2d_backward)
register_glue(tF.max_pool2d, _max_pool2d, _max_pool2d_backward, name="max_pool2d")
register_glue(tF.avg_pool2d, _avg_pool2d, _avg_pool2d_backward)


def _sigmoid(input):
    return F.sigmoid(input)


def _sigmoid_backward(dy, input):
    return F.sigmoid_backward(dy, F.sigmoid(input))


for fn in (torch.sigmoid, Tensor.sigmoid, tF.sigmoid):
    register_glue(fn, _sigmoid, _sigmoid_backward)


# ------------------------------------------------------------------ the ops issue's functions
def _layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def _layer_norm_backward(dy, input, normalized_shape, weight=None, bias=None, eps=1e-5):
    return F.layer_norm_backward(dy, input, normalized_shape, weight, bias, eps)


if hasattr(F, "layer_norm_backward"):
    register_glue(tF.layer_norm, _layer_norm, _layer_norm_backward, ("input", "weight", "bias"))


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
