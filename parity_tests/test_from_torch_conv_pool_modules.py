"""`from_torch` twins of the conv and pool modules beyond LeNet's: ConvTranspose2d, convs with
a padding_mode, AvgPool2d with a divisor_override, AdaptiveMaxPool2d and MaxUnpool2d: forward,
input gradient and every parameter gradient against torch, float64.
[IC-3, IC-7, IC-8, IC-11, MB-3, MB-8]
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import n, optional, t

import ref_cnn

torch = optional("torch")
tnn = optional("torch.nn")

eq = pytest.mark.equation

STACKS = [
    pytest.param(
        lambda: tnn.Sequential(
            tnn.Conv2d(2, 4, 3, padding=1, padding_mode="reflect"),
            tnn.Tanh(),
            tnn.Conv2d(4, 4, (3, 2), padding=(2, 1), padding_mode="replicate", groups=2),
            tnn.Tanh(),
            tnn.Conv2d(4, 3, 3, padding="same", dilation=2, padding_mode="circular"),
        ),
        (2, 2, 7, 6),
        id="MB-3-padding-modes",
        marks=eq("MB-3", "IC-4", "IC-7"),
    ),
    pytest.param(
        lambda: tnn.Sequential(
            tnn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
            tnn.Tanh(),
            tnn.ConvTranspose2d(4, 2, (2, 3), stride=(1, 2), groups=2, bias=False, dilation=2),
        ),
        (2, 3, 4, 5),
        id="IC-7-conv-transpose-stack",
        marks=eq("IC-3", "IC-5", "IC-6", "IC-7", "IC-11"),
    ),
    pytest.param(
        lambda: tnn.Sequential(
            tnn.Conv2d(3, 4, 3),
            tnn.AdaptiveMaxPool2d((3, None)),
            tnn.AvgPool2d(2, stride=1, divisor_override=3),
            tnn.Flatten(),
            tnn.Linear(4 * 2 * 5, 2),
        ),
        (2, 3, 9, 8),
        id="IC-8-adaptive-max-divisor-override",
        marks=eq("IC-8", "IC-9", "MB-8"),
    ),
]


@pytest.mark.torch
@pytest.mark.parametrize(("build", "shape"), STACKS)
def test_twin_matches_torch_forward_and_every_gradient(build, shape, parity):
    torch.manual_seed(0)
    module = build().double().eval()
    twin = ref_cnn.from_torch(module)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    xt = t(x, True)
    yt = module(xt)
    y = twin.forward(x)
    parity("y", y, n(yt))
    dy = rng.standard_normal(y.shape)
    yt.backward(t(dy))
    parity("dx", twin.backward(dy), n(xt.grad))
    grads, named = twin.grads(), dict(module.named_parameters())
    assert sorted(grads) == sorted(named)  # torch's names
    for name, p in named.items():
        parity(f"d{name}", grads[name], n(p.grad))


# (pool with return_indices=True, the MaxUnpool2d that inverts it, input shape), built lazily
# so that collecting the tests needs no torch
POOL_UNPOOL = {
    "adaptive-max-pool": (
        lambda: tnn.AdaptiveMaxPool2d((2, 3), return_indices=True),
        lambda: tnn.MaxUnpool2d(3, stride=(3, 2), padding=(0, 1)),
        (2, 3, 6, 6),
    ),
    "max-pool-3x3-s2-p1": (
        lambda: tnn.MaxPool2d(3, stride=2, padding=1, return_indices=True),
        lambda: tnn.MaxUnpool2d(3, stride=2, padding=1),
        (2, 3, 7, 6),
    ),
}


@pytest.mark.torch
@pytest.mark.parametrize("case", POOL_UNPOOL.values(), ids=POOL_UNPOOL.keys())
@eq("IC-8", "MB-8")
def test_pool_with_indices_then_unpool_twins(case, parity):
    """A pool with return_indices=True → MaxUnpool2d, as torch's modules are used."""
    make_pool, make_unpool, shape = case
    pool, unpool = make_pool(), make_unpool()
    twin_pool, twin_unpool = ref_cnn.from_torch(pool), ref_cnn.from_torch(unpool)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    xt = t(x, True)
    yt, it = pool(xt)
    zt = unpool(yt, it, output_size=shape[-2:])
    y, i = twin_pool.forward(x)
    np.testing.assert_array_equal(i, it.numpy())
    z = twin_unpool.forward(y, i, output_size=shape[-2:])
    parity("y", y, n(yt))
    parity("z", z, n(zt))
    dz = rng.standard_normal(z.shape)
    zt.backward(t(dz))
    parity("dx", twin_pool.backward(twin_unpool.backward(dz)), n(xt.grad))


@pytest.mark.torch
def test_conv_transpose_twin_round_trips_to_torch():
    module = tnn.ConvTranspose2d(2, 4, 3, stride=2, groups=2).double()
    twin = ref_cnn.from_torch(module)
    for p in twin.params().values():
        p += 1.0
    ref_cnn.to_torch(twin, module)
    for name, p in module.named_parameters():
        np.testing.assert_array_equal(n(p), twin.params()[name])
