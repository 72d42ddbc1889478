"""Loop-for-loop transcriptions of the equations: slow, obvious, and the witnesses the
vectorised ops of `ref_cnn.functional` are tested equal to.

- `conv`: the articles' convolution and correlation sums and their gradients (AV, MB, IC);
- `pool`: max and average pooling (IC-8, IC-9);
- `normalization`: local response normalisation's window sums (NRM-4);
- `spatial`: LP pooling and nearest / bilinear upsampling (SPA-4, SPA-8, SPA-9).
"""

from ref_cnn.literal.conv import (
    av14_filter_gradient,
    av_pass_per_patch,
    conv2d,
    conv2d_backward,
    conv_transpose2d,
    correlate2d,
    ic5_kernel_gradient,
    ic7_input_gradient,
)
from ref_cnn.literal.normalization import local_response_norm, local_response_norm_backward
from ref_cnn.literal.pool import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from ref_cnn.literal.spatial import (
    lp_pool2d,
    lp_pool2d_backward,
    upsample_bilinear2d,
    upsample_bilinear2d_backward,
    upsample_nearest2d,
    upsample_nearest2d_backward,
)

__all__ = [name for name in dir() if not name.startswith("_")]
