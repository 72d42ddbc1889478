"""The tensor glue between a network's layers, as forward/backward pairs with torch's names
and argument order: broadcasting add and multiply, concatenation and its inverse (chunk),
reshapes, axis permutations, indexing and the mean over axes.

Each `<op>_backward(dy, <the forward's arguments>)` returns the gradient of every array
argument in order (dx alone when x is the only array; None for an argument that is not an
array, a Python number). The graph twin (`ref_cnn.nn.graph`) walks a traced torch model
with these; each backward is the adjoint of its forward's linear map:

    y = a + b          ∂E/∂a = Σ_broadcast ∂E/∂y,      ∂E/∂b likewise
    y = a ⊙ b          ∂E/∂a = Σ_broadcast ∂E/∂y ⊙ b,  ∂E/∂b = Σ_broadcast ∂E/∂y ⊙ a
    y = [x₁, …, x_k]   ∂E/∂x_i = the slice of ∂E/∂y that x_i filled
    y = P x            ∂E/∂x = Pᵀ ∂E/∂y   (reshape, permute, transpose, flatten, index)
    y = mean_axes(x)   ∂E/∂x = ∂E/∂y / m, broadcast over the m averaged values
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _is_array(v) -> bool:
    return isinstance(v, np.ndarray)


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Σ of g over the axes that broadcasting added or stretched, back to `shape`."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    stretched = tuple(i for i, (n, m) in enumerate(zip(shape, g.shape, strict=True)) if n != m)
    return g.sum(axis=stretched, keepdims=True) if stretched else g


def add(a, b, alpha=1):
    """a + alpha·b with NumPy (= torch) broadcasting; either may be a Python number."""
    return a + (b if alpha == 1 else alpha * b)


def add_backward(dy, a, b, alpha=1):
    """(∂E/∂a, ∂E/∂b): dy summed over each operand's broadcast axes."""
    da = unbroadcast(dy, a.shape) if _is_array(a) else None
    db = unbroadcast(dy if alpha == 1 else alpha * dy, b.shape) if _is_array(b) else None
    return da, db


def mul(a, b):
    """a ⊙ b with broadcasting (a squeeze-excitation scale, a layer scale)."""
    return a * b


def mul_backward(dy, a, b):
    """(∂E/∂a, ∂E/∂b) = (Σ dy ⊙ b, Σ dy ⊙ a) over each operand's broadcast axes."""
    da = unbroadcast(dy * b, a.shape) if _is_array(a) else None
    db = unbroadcast(dy * a, b.shape) if _is_array(b) else None
    return da, db


def cat(tensors: Sequence[np.ndarray], dim: int = 0) -> np.ndarray:
    """The arrays joined along `dim` (torch.cat; a dense or inception concatenation)."""
    return np.concatenate(list(tensors), axis=dim)


def cat_backward(dy, tensors, dim: int = 0) -> list[np.ndarray]:
    """[∂E/∂x_i]: dy cut back into the pieces each input filled."""
    edges = np.cumsum([t.shape[dim] for t in tensors])[:-1]
    return [np.ascontiguousarray(p) for p in np.split(dy, edges, axis=dim)]


def chunk(x, chunks: int, dim: int = 0) -> tuple[np.ndarray, ...]:
    """torch.chunk: pieces of ⌈n/chunks⌉ along `dim` (the last may be smaller)."""
    size = -(-x.shape[dim] // chunks)
    return tuple(np.split(x, range(size, x.shape[dim], size), axis=dim))


def chunk_backward(dy: Sequence[np.ndarray | None], x, chunks: int, dim: int = 0):
    """∂E/∂x: the pieces' gradients joined (zeros for a piece that reached no loss)."""
    pieces = chunk(x, chunks, dim)
    return np.concatenate(
        [np.zeros_like(p) if g is None else g for g, p in zip(dy, pieces, strict=True)],
        axis=dim,
    )


def _shape(x, shape) -> tuple[int, ...]:
    """torch's `view(*shape)` / `view(shape)` argument, -1 resolved by NumPy."""
    if len(shape) == 1 and not isinstance(shape[0], int | np.integer):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(x, *shape) -> np.ndarray:
    """x with a new shape, the elements in the same (C) order: torch's view and reshape."""
    return np.reshape(x, _shape(x, shape))


def reshape_backward(dy, x, *shape) -> np.ndarray:
    """∂E/∂x = dy in x's shape."""
    return np.reshape(dy, x.shape)


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> np.ndarray:
    """torch.flatten: axes start_dim … end_dim merged into one."""
    start, end = start_dim % x.ndim, end_dim % x.ndim
    return np.reshape(x, x.shape[:start] + (-1,) + x.shape[end + 1 :])


def flatten_backward(dy, x, start_dim: int = 0, end_dim: int = -1) -> np.ndarray:
    """∂E/∂x = dy in x's shape."""
    return np.reshape(dy, x.shape)


def permute(x, *dims) -> np.ndarray:
    """The axes of x in the order `dims` (torch.permute; NCHW ↔ NHWC in ConvNeXt)."""
    return np.transpose(x, _shape(x, dims))


def permute_backward(dy, x, *dims) -> np.ndarray:
    """∂E/∂x = dy with the inverse permutation."""
    return np.transpose(dy, np.argsort(_shape(x, dims)))


def transpose(x, dim0: int, dim1: int) -> np.ndarray:
    """Axes dim0 and dim1 swapped (torch.transpose; ShuffleNet's channel shuffle)."""
    return np.swapaxes(x, dim0, dim1)


def transpose_backward(dy, x, dim0: int, dim1: int) -> np.ndarray:
    """∂E/∂x = dy with the same two axes swapped back."""
    return np.swapaxes(dy, dim0, dim1)


def contiguous(x) -> np.ndarray:
    """x in C order (torch's `.contiguous()`); the values are unchanged."""
    return np.ascontiguousarray(x)


def contiguous_backward(dy, x) -> np.ndarray:
    """∂E/∂x = dy."""
    return dy


def unsqueeze(x, dim: int) -> np.ndarray:
    """x with a new axis of length 1 at `dim`."""
    return np.expand_dims(x, dim if dim >= 0 else dim + x.ndim + 1)


def unsqueeze_backward(dy, x, dim: int) -> np.ndarray:
    """∂E/∂x = dy without that axis."""
    return np.reshape(dy, x.shape)


def getitem(x, index):
    """x[index] for an array (NumPy indexing, as torch's basic indexing), or an element of a
    tuple (the piece of a chunk, a size)."""
    return x[index]


def getitem_backward(dy, x, index):
    """∂E/∂x: dy scattered back to the indexed positions (zeros elsewhere); for a tuple,
    dy in its position and None for the other elements."""
    if _is_array(x):
        dx = np.zeros_like(x)
        np.add.at(dx, index, dy)
        return dx
    return tuple(dy if i == index % len(x) else None for i in range(len(x)))


def _axes(x, dim) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(x.ndim))
    return tuple(sorted(d % x.ndim for d in (dim if isinstance(dim, Sequence) else [dim])))


def mean(x, dim=None, keepdim: bool = False) -> np.ndarray:
    """The mean over the axes `dim` (all when None): torch's `x.mean(dim, keepdim)`."""
    return np.mean(x, axis=_axes(x, dim), keepdims=keepdim)


def mean_backward(dy, x, dim=None, keepdim: bool = False) -> np.ndarray:
    """∂E/∂x = dy/m broadcast over the m values each mean took."""
    axes = _axes(x, dim)
    m = int(np.prod([x.shape[a] for a in axes]))
    g = dy if keepdim else np.expand_dims(dy, axes)
    return np.broadcast_to(g / m, x.shape).copy()
