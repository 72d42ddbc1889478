"""Layers and models over `ref_cnn.functional`, with torch's parameter names.

One module per concern: conv (Conv2d, ConvTranspose2d), pooling, activations, linear,
norms, dropout, padding, reshape, upsample, containers (Sequential, Residual, Concat,
Identity), squeeze_excitation; from_torch/to_torch in convert, the graph twin in graph*.
"""

from ref_cnn.nn.activations import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmax2d,
    Softplus,
    Softsign,
    Tanh,
)
from ref_cnn.nn.containers import Concat, Identity, Residual, Sequential
from ref_cnn.nn.conv import Conv2d, ConvTranspose2d
from ref_cnn.nn.convert import from_torch, to_torch
from ref_cnn.nn.dropout import Dropout, Dropout2d, StochasticDepth
from ref_cnn.nn.initialise import initialise
from ref_cnn.nn.linear import Linear
from ref_cnn.nn.module import Module
from ref_cnn.nn.norms import (
    BatchNorm2d,
    GroupNorm,
    InstanceNorm2d,
    LayerNorm,
    LocalResponseNorm,
    RMSNorm,
    Standardize,
)
from ref_cnn.nn.padding import (
    CircularPad2d,
    ConstantPad2d,
    ReflectionPad2d,
    ReplicationPad2d,
    ZeroPad2d,
)
from ref_cnn.nn.pooling import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    LPPool2d,
    MaxPool2d,
    MaxUnpool2d,
)
from ref_cnn.nn.reshape import (
    ChannelShuffle,
    Flatten,
    Permute,
    PixelShuffle,
    PixelUnshuffle,
    Unflatten,
)
from ref_cnn.nn.squeeze_excitation import SqueezeExcitation
from ref_cnn.nn.upsample import Upsample
