"""A batch of volumes to a batch of vectors, between the last convolution and the first dense
layer [AV-4, MB-11]. (torch.flatten's any-axes form, for the graph twin, is
`tensor_ops.flatten`.)"""

from __future__ import annotations

import numpy as np


def flatten(x) -> np.ndarray:
    """Flatten every sample to one vector [AV-4, MB-11]: (N, C, H, W) → (N, C·H·W).

    The order is torch's (channel, then row, then column); for AV's 3 maps of 24×24 this
    gives (28 − 5 + 1)²·3 = 1728 features.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"x must be a numpy.ndarray, got {type(x).__name__}: convert it with np.asarray(x)"
        )
    if x.ndim < 2:
        raise ValueError(
            f"x must have a batch dimension and at least one more, got {x.shape}: for one "
            "sample add the batch axis with x[None]"
        )
    return x.reshape(x.shape[0], -1)  # AV-4: (N, C·H·W), C·H·W = (n − f + 1)²·num_filters
