"""ref_cnn: a from-scratch NumPy CNN that mirrors three articles equation by equation."""

from ref_cnn import functional, nn
from ref_cnn.kernels import get_kernels, set_kernels
from ref_cnn.nn.convert import from_torch, to_torch
from ref_cnn.randomness import shared_randomness
from ref_cnn.threads import get_num_threads, set_num_threads

__all__ = [
    "functional",
    "nn",
    "from_torch",
    "to_torch",
    "shared_randomness",
    "get_num_threads",
    "set_num_threads",
    "get_kernels",
    "set_kernels",
]
__version__ = "0.1.0"
