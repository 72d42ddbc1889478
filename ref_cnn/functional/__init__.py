"""Pure NumPy forward/backward pairs, NCHW, with torch's names and argument order.

See `docs/API.md` for the public contract; every function cites the IDs of the equations
it implements: the articles' (`ref_cnn.equations.articles`, listed with their tests in
`docs/equations.md`) and the modern ops' (ACT-n, NRM-n, SPA-n: `ref_cnn.equations.ops`).
"""

from ref_cnn.functional.activations import (
    leaky_relu,
    leaky_relu_backward,
    log_softmax,
    log_softmax_backward,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    softmax,
    softmax_backward,
    tanh,
    tanh_backward,
)
from ref_cnn.functional.activations_elu import (
    celu,
    celu_backward,
    elu,
    elu_backward,
    selu,
    selu_backward,
)
from ref_cnn.functional.activations_hard import (
    hardsigmoid,
    hardsigmoid_backward,
    hardswish,
    hardswish_backward,
    hardtanh,
    hardtanh_backward,
    relu6,
    relu6_backward,
)
from ref_cnn.functional.activations_smooth import (
    gelu,
    gelu_backward,
    logsigmoid,
    logsigmoid_backward,
    mish,
    mish_backward,
    silu,
    silu_backward,
    softplus,
    softplus_backward,
    softsign,
    softsign_backward,
)
from ref_cnn.functional.adaptive import (
    adaptive_avg_pool2d,
    adaptive_avg_pool2d_backward,
    adaptive_max_pool2d,
    adaptive_max_pool2d_backward,
)
from ref_cnn.functional.batchnorm import batch_norm, batch_norm_backward
from ref_cnn.functional.conv import (
    conv2d,
    conv2d_backward,
    conv2d_backward_readable,
    conv2d_readable,
    conv2d_untied,
    conv2d_untied_backward,
)
from ref_cnn.functional.conv_transpose import conv_transpose2d, conv_transpose2d_backward
from ref_cnn.functional.correlate import convolve2d, correlate2d
from ref_cnn.functional.dropout import (
    default_generator,
    dropout,
    dropout2d,
    dropout2d_backward,
    dropout2d_mask,
    dropout_backward,
    dropout_mask,
    manual_seed,
    stochastic_depth,
    stochastic_depth_backward,
    stochastic_depth_mask,
)
from ref_cnn.functional.glu import glu, glu_backward
from ref_cnn.functional.group_norm import (
    group_norm,
    group_norm_backward,
    instance_norm,
    instance_norm_backward,
    instance_norm_running,
)
from ref_cnn.functional.im2col import im2col
from ref_cnn.functional.init import HEF, VEF, conv_param_count, he_normal, uniform01
from ref_cnn.functional.interpolate import interpolate, interpolate_backward
from ref_cnn.functional.layer_norm import (
    layer_norm,
    layer_norm_backward,
    rms_norm,
    rms_norm_backward,
)
from ref_cnn.functional.linear import linear, linear_backward
from ref_cnn.functional.local_response_norm import (
    local_response_norm,
    local_response_norm_backward,
)
from ref_cnn.functional.losses import (
    binary_cross_entropy,
    binary_cross_entropy_backward,
    cross_entropy,
    cross_entropy_backward,
    half_squared_error,
    half_squared_error_backward,
    mse_loss,
    mse_loss_backward,
)
from ref_cnn.functional.lp_pool import lp_pool2d, lp_pool2d_backward
from ref_cnn.functional.normalize import normalize, normalize_backward
from ref_cnn.functional.padding import pad, pad_backward
from ref_cnn.functional.pool import (
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool2d_backward_readable,
    avg_pool2d_readable,
    max_pool2d,
    max_pool2d_backward,
    max_pool2d_backward_readable,
    max_pool2d_readable,
)
from ref_cnn.functional.prelu import prelu, prelu_backward
from ref_cnn.functional.reshape import flatten
from ref_cnn.functional.shapes import (
    conv_output_size,
    full_output_size,
    pool_output_size,
    same_padding,
    valid_output_size,
)
from ref_cnn.functional.shuffle import (
    channel_shuffle,
    channel_shuffle_backward,
    pixel_shuffle,
    pixel_shuffle_backward,
    pixel_unshuffle,
    pixel_unshuffle_backward,
)
from ref_cnn.functional.standardize import standardize, standardize_backward
from ref_cnn.functional.unpool import max_unpool2d, max_unpool2d_backward

__all__ = [name for name in dir() if not name.startswith("_")]
