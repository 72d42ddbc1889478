"""ref_cnn: a from-scratch NumPy CNN that mirrors three articles equation by equation."""

from ref_cnn import functional, nn
from ref_cnn._fast.backend import get_kernels, set_kernels
from ref_cnn._fast.threads import get_num_threads, set_num_threads
from ref_cnn.nn.convert import from_torch, to_torch
from ref_cnn.nn.randomness import shared_randomness

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
