"""ref_cnn: a from-scratch NumPy CNN that mirrors three articles equation by equation."""

from ref_cnn import functional

__all__ = ["functional"]
__version__ = "0.1.0"
