"""BatchNorm, residual and inception blocks, and whole torchvision ResNet-18 / GoogLeNet
twins: logits, input gradient, every parameter gradient and the running statistics.

[MB-16, MB-17, MB-18]
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t
from twins import check_twin

import ref_cnn
from ref_cnn.nn import BatchNorm2d, Concat, Conv2d, ReLU, Residual, Sigmoid

torch = optional("torch")
tnn = optional("torch.nn")
torchvision = optional("torchvision")

eq = pytest.mark.equation
pytestmark = pytest.mark.torch
tv_resnet = optional("torchvision.models.resnet")
tv_googlenet = optional("torchvision.models.googlenet")
DEEP_RTOL = {np.float64: 1e-10, np.float32: 1e-4}  # float32 through ~20 layers of BatchNorm


def _randomise_bn(module, seed=0):
    """Non-trivial γ, β and running statistics, so eval mode is not the identity."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, tnn.BatchNorm2d):
            with torch.no_grad():
                if m.affine:
                    m.weight.uniform_(0.5, 1.5, generator=g)
                    m.bias.uniform_(-0.5, 0.5, generator=g)
                if m.track_running_stats:
                    m.running_mean.uniform_(-0.3, 0.3, generator=g)
                    m.running_var.uniform_(0.5, 2.0, generator=g)
    return module


# ---------------------------------------------------------------- BatchNorm2d


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize(
    "kw",
    [
        pytest.param({}, id="affine"),
        pytest.param({"affine": False}, id="no-affine"),
        pytest.param({"momentum": None}, id="cumulative-average"),
        pytest.param({"momentum": 0.3, "eps": 1e-3}, id="momentum-0.3-eps-1e-3"),
        pytest.param({"track_running_stats": False}, id="no-running-stats"),
    ],
)
@eq("MB-17")
def test_batchnorm_matches_torch(kw, mode, dtype, parity):
    bn_layer = _randomise_bn(tnn.BatchNorm2d(4, **kw))
    check_twin(bn_layer, (3, 4, 5, 6), dtype, parity, mode)


def test_batchnorm_running_statistics_over_several_steps(parity):
    """Three training batches: running mean/var (unbiased), num_batches_tracked as torch."""
    module = tnn.BatchNorm2d(3).double()
    twin = ref_cnn.from_torch(module)
    rng = np.random.default_rng(5)
    for _ in range(3):
        x = rng.standard_normal((4, 3, 5, 5)) * 3 + 1
        module(t(x))
        twin.forward(x)
    for name, b in module.named_buffers():
        parity(name, twin.buffers()[name].astype(np.float64), n(b).astype(np.float64))


# ---------------------------------------------------------------- residual blocks (MB-16, MB-17)


def _zero_block(activation, batchnorm: bool, beta: float = 0.0):
    """a = ψ(z + x) with every weight and bias of z zero (MB-16's w = 0, b = 0)."""
    conv = Conv2d(3, 3, 3, padding=1)
    for p in conv.params().values():
        p[...] = 0
    body = [("conv1", conv)]
    if batchnorm:
        bn_layer = BatchNorm2d(3)
        bn_layer.params()["bias"][...] = beta
        body.append(("bn1", bn_layer))
    return Residual(body, activation=activation)


@pytest.mark.parametrize(
    ("activation", "batchnorm", "beta", "input_sign", "passes"),
    [
        pytest.param(ReLU(), False, 0.0, "nonnegative", True, id="relu-input-nonnegative-holds"),
        pytest.param(ReLU(), False, 0.0, "signed", False, id="relu-signed-input-fails"),
        pytest.param(Sigmoid(), False, 0.0, "nonnegative", False, id="sigmoid-fails"),
        pytest.param(ReLU(), True, 0.0, "nonnegative", True, id="relu-batchnorm-beta0-holds"),
        pytest.param(
            ReLU(), True, 0.5, "nonnegative", False, id="relu-batchnorm-beta-nonzero-fails"
        ),
    ],
)
@eq("MB-16")
def test_residual_identity_claim(activation, batchnorm, beta, input_sign, passes):
    """MB-16: with w = 0, b = 0 the block outputs ψ(x) (+ β with BatchNorm in training mode,
    where the batch statistics of an all-zero z are 0): it is x exactly when ψ(x + β) = x,
    i.e. ReLU, β = 0 and x ≥ 0 (x is a ReLU output)."""
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5))
    if input_sign == "nonnegative":
        x = np.maximum(x, 0)
    y = _zero_block(activation, batchnorm, beta).forward(x)
    assert np.array_equal(y, x) == passes


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize(
    ("build", "shape"),
    [
        pytest.param(
            lambda: tv_resnet.BasicBlock(8, 8), (2, 8, 6, 6), id="MB-16-basicblock-identity"
        ),
        pytest.param(
            lambda: tv_resnet.BasicBlock(
                4,
                8,
                stride=2,
                downsample=tnn.Sequential(
                    tnn.Conv2d(4, 8, 1, stride=2, bias=False), tnn.BatchNorm2d(8)
                ),
            ),
            (2, 4, 7, 7),
            id="MB-17-basicblock-projection-s2",
        ),
        pytest.param(
            lambda: tv_resnet.Bottleneck(
                8,
                4,
                stride=2,
                downsample=tnn.Sequential(
                    tnn.Conv2d(8, 16, 1, stride=2, bias=False), tnn.BatchNorm2d(16)
                ),
            ),
            (2, 8, 6, 6),
            id="MB-17-bottleneck-projection",
        ),
        pytest.param(
            lambda: tv_resnet.Bottleneck(16, 4), (2, 16, 5, 5), id="MB-16-bottleneck-identity"
        ),
    ],
)
@eq("MB-16", "MB-17")
@pytest.mark.torchvision
def test_torchvision_residual_blocks(build, shape, mode, dtype, parity):
    torch.manual_seed(0)
    check_twin(_randomise_bn(build()), shape, dtype, parity, mode, rtol=DEEP_RTOL[dtype])


# ---------------------------------------------------------------- inception (MB-18)


class ArticleInception(tnn.Module):
    """MB-18 as the article draws it: 1×1, 3×3, 5×5 'same' convolutions and a pooling branch."""

    def __init__(self, c_in):
        super().__init__()
        self.branch1 = tnn.Sequential(tnn.Conv2d(c_in, 4, 1), tnn.ReLU())
        self.branch2 = tnn.Sequential(tnn.Conv2d(c_in, 5, 3, padding="same"), tnn.ReLU())
        self.branch3 = tnn.Sequential(tnn.Conv2d(c_in, 3, 5, padding="same"), tnn.ReLU())
        self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, 1, 1), tnn.Conv2d(c_in, 2, 1), tnn.ReLU())

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


def _article_twin(module, dtype):
    return Concat(
        [
            (f"branch{i}", ref_cnn.from_torch(getattr(module, f"branch{i}"), dtype))
            for i in range(1, 5)
        ]
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@eq("MB-18")
def test_article_inception_module(dtype, parity):
    torch.manual_seed(0)
    module = ArticleInception(3).double()
    y = _article_twin(module, np.float64).forward(np.zeros((2, 3, 9, 8)))
    assert y.shape == (2, 4 + 5 + 3 + 2, 9, 8)  # 'same' everywhere: H, W kept; channels joined
    check_twin(module, (2, 3, 9, 8), dtype, parity, "eval", convert=_article_twin)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize(
    ("build", "shape"),
    [
        pytest.param(
            lambda: tv_googlenet.BasicConv2d(3, 6, kernel_size=3, padding=1),
            (2, 3, 6, 6),
            id="basicconv2d",
        ),
        pytest.param(
            lambda: tv_googlenet.Inception(8, 4, 3, 6, 2, 5, 3),
            (2, 8, 7, 7),
            id="MB-18-torchvision-inception",
        ),
    ],
)
@eq("MB-18")
@pytest.mark.torchvision
def test_torchvision_inception_parts(build, shape, mode, dtype, parity):
    torch.manual_seed(0)
    check_twin(_randomise_bn(build()), shape, dtype, parity, mode, rtol=DEEP_RTOL[dtype])


# ---------------------------------------------------------------- whole models


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("mode", ["train", "eval"])
@eq("MB-16", "MB-17")
@pytest.mark.torchvision
def test_resnet18(mode, dtype, parity):
    torch.manual_seed(0)
    check_twin(
        _randomise_bn(torchvision.models.resnet18()),
        (2, 3, 64, 64),
        dtype,
        parity,
        mode,
        rtol=DEEP_RTOL[dtype],
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("mode", ["train", "eval"])
@eq("MB-18")
@pytest.mark.torchvision
def test_googlenet(mode, dtype, parity):
    """Train mode with dropout p = 0: torch's dropout mask cannot be reproduced (ref_cnn's
    Dropout draws its own seeded mask; its train/eval behaviour is tested separately).
    torch's default initialisation (init_weights=False): GoogLeNet's own N(0, 0.01²) start
    makes the eval-mode input gradient ~1e-12, where float32 keeps no digits in either library."""
    torch.manual_seed(0)
    module = _randomise_bn(torchvision.models.googlenet(aux_logits=False, init_weights=False))
    module.dropout.p = 0.0
    check_twin(module, (2, 3, 64, 64), dtype, parity, mode, rtol=DEEP_RTOL[dtype])
