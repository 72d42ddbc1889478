"""Output-size formulas [AV-2, MB-6, MB-7, MB-8, IC-1, IC-3, IC-10, IC-11].

All sizes are per spatial dimension; NCHW arrays apply them to H and W separately.
"""

from __future__ import annotations

import math


def valid_output_size(n: int, f: int) -> int:
    """Valid correlation output size [AV-2, IC-1]: n − f + 1."""
    return n - f + 1


def full_output_size(n: int, f: int) -> int:
    """Full correlation/convolution output size [IC-3]: n + f − 1."""
    return n + f - 1


def conv_output_size(n: int, f: int, padding: int = 0, stride: int = 1, dilation: int = 1) -> int:
    """Convolution output size [MB-6, IC-10, IC-11].

    ⌊(n + 2p − d·(f − 1) − 1)/s⌋ + 1, which for d = 1 is the article's ⌊(n + 2p − f)/s⌋ + 1
    and for s = 1, p = 0 is AV-2's n − f + 1.

    Notes:
        MB writes a second case, n + 2p − f "for s = 0". A stride of 0 is not a
        convolution (the window never moves), and the s = 1 size is n + 2p − f + 1:
        an erratum, see `ref_cnn.articles.errata`.
    """
    # MB-6: ⌊(n + 2p − f)/s⌋ + 1 with the dilated kernel extent d·(f − 1) + 1 in place of f
    return (n + 2 * padding - dilation * (f - 1) - 1) // stride + 1


def pool_output_size(
    n: int, f: int, padding: int = 0, stride: int = 1, dilation: int = 1, ceil_mode: bool = False
) -> int:
    """Pooling output size [MB-8, IC-10], torch's rule including `ceil_mode`.

    floor (or ceil) of (n + 2p − d·(f − 1) − 1)/s, plus 1; with ceil_mode the last window
    is dropped when it would start inside the right padding, (out − 1)·s ≥ n + p.
    """
    span = n + 2 * padding - dilation * (f - 1) - 1
    out = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= n + padding:
        out -= 1  # the last window would start in the padding
    return out


def same_padding(f: int, dilation: int = 1) -> tuple[int, int]:
    """Padding (before, after) that keeps the size at stride 1 [MB-7], as torch's 'same'.

    Total d·(f − 1), the odd extra element going after (right/bottom), so for odd f this is
    the article's p = (f − 1)/2 on both sides.
    """
    total = dilation * (f - 1)
    return total // 2, total - total // 2
