"""Converters for torchvision's ResNet and GoogLeNet parts [MB-16 … MB-18] (BatchNorm2d, a
torch.nn module, is converted in torch_builders: from_torch needs no torchvision for it)."""

from __future__ import annotations

import importlib

from ref_cnn.nn import layers as L
from ref_cnn.nn.blocks import Chain, Concat, Residual
from ref_cnn.nn.convert import register_converter

# the modules, not the same-named model functions that torchvision.models exports
tv_resnet = importlib.import_module("torchvision.models.resnet")
tv_googlenet = importlib.import_module("torchvision.models.googlenet")


def _residual(m, child, stages: int) -> Residual:
    """conv1 → bn1 → ReLU → … → conv_k → bn_k, + x or downsample(x), → ReLU (torchvision's
    order); torch reuses one ReLU module, the twin needs one per use for its caches."""
    body = []
    for i in range(1, stages + 1):
        if i > 1:
            body.append((None, L.ReLU()))
        body += [
            (f"conv{i}", child(getattr(m, f"conv{i}"), f"conv{i}")),
            (f"bn{i}", child(getattr(m, f"bn{i}"), f"bn{i}")),
        ]
    return Residual(body, None if m.downsample is None else child(m.downsample, "downsample"))


@register_converter(tv_resnet.BasicBlock)
def _basic_block(m, child, dtype):
    """Two 3×3 convs with BatchNorm [MB-16, MB-17]."""
    return _residual(m, child, 2)


@register_converter(tv_resnet.Bottleneck)
def _bottleneck(m, child, dtype):
    """1×1 → 3×3 (stride) → 1×1 convs with BatchNorm [MB-16, MB-17]."""
    return _residual(m, child, 3)


@register_converter(tv_resnet.ResNet)
def _resnet(m, child, dtype):
    names = [
        "conv1",
        "bn1",
        None,
        "maxpool",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "avgpool",
        None,
        "fc",
    ]
    path = []
    for name in names:
        if name is None:
            path.append((None, L.ReLU() if not path or path[-1][0] == "bn1" else L.Flatten()))
        else:
            path.append((name, child(getattr(m, name), name)))
    return Chain(path)


@register_converter(tv_googlenet.BasicConv2d)
def _basic_conv(m, child, dtype):
    """conv (no bias) → BatchNorm (ε = 0.001) → ReLU."""
    return Chain([("conv", child(m.conv, "conv")), ("bn", child(m.bn, "bn")), (None, L.ReLU())])


@register_converter(tv_googlenet.Inception)
def _inception(m, child, dtype):
    """Four branches concatenated on channels [MB-18]: 1×1; 1×1 → 3×3; 1×1 → 3×3 (torchvision's
    stand-in for the paper's 5×5); 3×3 max pool → 1×1."""
    return Concat(
        [(f"branch{i}", child(getattr(m, f"branch{i}"), f"branch{i}")) for i in range(1, 5)]
    )


class _TransformInput(L.Identity):
    """GoogLeNet's transform_input: re-normalise ImageNet-normalised RGB to [−1, 1]."""

    SCALE = (0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5)
    SHIFT = ((0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5)

    def forward(self, x):
        import numpy as np

        return x * np.array(self.SCALE, dtype=x.dtype).reshape(1, 3, 1, 1) + np.array(
            self.SHIFT, dtype=x.dtype
        ).reshape(1, 3, 1, 1)

    def backward(self, dy):
        import numpy as np

        return dy * np.array(self.SCALE, dtype=dy.dtype).reshape(1, 3, 1, 1)


@register_converter(tv_googlenet.GoogLeNet)
def _googlenet(m, child, dtype):
    if m.aux_logits:
        raise TypeError(
            "from_torch: GoogLeNet with aux_logits=True is not supported; build it with aux_logits=False"
        )
    names = [
        "conv1",
        "maxpool1",
        "conv2",
        "conv3",
        "maxpool2",
        "inception3a",
        "inception3b",
        "maxpool3",
        "inception4a",
        "inception4b",
        "inception4c",
        "inception4d",
        "inception4e",
        "maxpool4",
        "inception5a",
        "inception5b",
        "avgpool",
    ]
    path = [(None, _TransformInput())] if m.transform_input else []
    path += [(name, child(getattr(m, name), name)) for name in names]
    path += [
        (None, L.Flatten()),
        ("dropout", child(m.dropout, "dropout")),
        ("fc", child(m.fc, "fc")),
    ]
    return Chain(path)
