"""Layers and models over `ref_cnn.functional`, with torch's parameter names."""

from ref_cnn.nn.activations_modern import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU6,
    SiLU,
    Softmax2d,
    Softplus,
    Softsign,
)
from ref_cnn.nn.blocks import BatchNorm2d, Chain, Concat, Residual
from ref_cnn.nn.conv_transpose import ConvTranspose2d
from ref_cnn.nn.convert import from_torch, to_torch
from ref_cnn.nn.dropout import Dropout, Dropout2d, StochasticDepth
from ref_cnn.nn.initialise import initialise
from ref_cnn.nn.layers import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    Conv2d,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Standardize,
    Tanh,
)
from ref_cnn.nn.max_indices import AdaptiveMaxPool2d, MaxUnpool2d
from ref_cnn.nn.module import Module
from ref_cnn.nn.norms import GroupNorm, InstanceNorm2d, LayerNorm, LocalResponseNorm, RMSNorm
from ref_cnn.nn.padding import (
    CircularPad2d,
    ConstantPad2d,
    ReflectionPad2d,
    ReplicationPad2d,
    ZeroPad2d,
)
from ref_cnn.nn.reshape import Permute, Unflatten
from ref_cnn.nn.spatial import ChannelShuffle, LPPool2d, PixelShuffle, PixelUnshuffle, Upsample
from ref_cnn.nn.squeeze_excitation import SqueezeExcitation
