"""ref_cnn's `from_torch` twins on PyTorch's own ModuleInfo samples.

PyTorch keeps, for each torch.nn module, a catalogue of constructor arguments and inputs
(`torch.testing._internal.common_modules.module_db`). For every module type that
`from_torch` twins and module_db has (the 2-D CNN types: Conv2d, Linear, the pools, the
norms, the activations, the pads, …), in float64, in training and in eval mode:

- the torch module is built from the sample's constructor arguments and twinned;
- the output against torch's (indices exactly where the module returns them);
- with a random upstream gradient, the input gradient and every parameter gradient
  against torch's autograd; every buffer (running statistics) after the step;
- random modules run inside `ref_cnn.shared_randomness`.

All to the float64 bound of `conftest.parity` (1e-10 relative). A sample may be left out
only with its reason in `EXCLUDED`, never because ref_cnn disagrees; it is empty. One bound
is scaled, with its reason (`_tanh_bound`): nn.Tanh's input gradient is written on its
output, dy·(1 − y²) in torch and in ref_cnn, and 1 − y² cancels where |x| is large (module_db
draws x up to 9, where 1 − y² ≈ 6e-8): one rounding of y moves it by up to 2|y|·ulp(y). There
ref_cnn's dx is also checked against sech²(x)·dy in extended precision (long double), both
to that rounding's bound.

The samples are built at collection from module_db's own functions, with torch's generator
seeded (module_db draws the inputs at random), in a fraction of a second once module_db is
imported.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
from helpers import n, optional, to_numpy

import ref_cnn
from ref_cnn._metric import RTOL64

torch = optional("torch")
pytestmark = pytest.mark.torch  # deselected, and counted, where torch does not import

try:  # module_db's import needs torch and expecttest (in ref_cnn[dev])
    from torch.testing._internal.common_modules import module_db
except ImportError as exc:
    if not isinstance(torch, types.ModuleType):  # no torch: every test here is deselected
        module_db = []
    else:
        pytest.skip(
            f'torch\'s ModuleInfo database does not import ({exc}); pip install "ref_cnn[dev]"',
            allow_module_level=True,
        )

# "<type>-<train|eval>-<index>" → why that sample is left out
EXCLUDED: dict[str, str] = {}


def _supported() -> set:
    if not module_db:
        return set()
    from ref_cnn.nn.convert import _builders

    return set(_builders())


def _samples():
    """(id, ModuleInfo, training, sample) for every sample of every twinned type."""
    supported = _supported()
    if supported:
        torch.manual_seed(0)  # module_db draws its inputs from torch's generator
    for info in module_db:
        if info.module_cls not in supported:
            continue
        for training in (True, False):
            inputs = info.module_inputs_func(
                info, device="cpu", dtype=torch.float64, requires_grad=True, training=training
            )
            for i, sample in enumerate(inputs):
                mode = "train" if training else "eval"
                key = f"{info.module_cls.__name__}-{mode}-{i}"
                name = f"{key}-{sample.desc}" if sample.desc else key
                marks = [pytest.mark.skip(reason=EXCLUDED[key])] if key in EXCLUDED else []
                yield pytest.param(info, training, sample, id=name, marks=marks)


SAMPLES = list(_samples())


def _tanh_bound(x, y, dy, dx_torch) -> float:
    """The rtol for nn.Tanh's dx = dy·(1 − y²): the float64 bound, or the effect of one
    rounding of y in each library (2|y|·ulp(y) on 1 − y²) relative to max |dx|."""
    shift = np.abs(dy) * 2 * np.abs(y) * np.spacing(np.abs(y))
    return max(RTOL64, 2 * float(shift.max()) / float(np.abs(dx_torch).max()))


@pytest.mark.parametrize(("info", "training", "sample"), SAMPLES)
def test_module_sample(info, training, sample, parity):
    torch.manual_seed(0)
    c = sample.constructor_input
    module = info.module_cls(*c.args, **c.kwargs).to(torch.float64).train(training)
    twin = ref_cnn.from_torch(module)
    assert twin.training == training
    inputs = list(sample.forward_input.args) + list(sample.forward_input.kwargs.values())
    assert len(inputs) == 1, "one input per forward"
    xt = inputs[0]
    xt = xt.detach().clone().requires_grad_(True)
    x = to_numpy(xt)
    with ref_cnn.shared_randomness(module, twin):
        out_t = module(xt)
        out = twin.forward(x)
    if isinstance(out_t, tuple):  # (y, indices) with return_indices
        np.testing.assert_array_equal(out[1], n(out_t[1]))
        out_t, out = out_t[0], out[0]
    parity("y", out, n(out_t))
    dy = np.random.default_rng(1).standard_normal(out.shape)
    out_t.backward(torch.tensor(dy))
    dx = twin.backward(dy)
    if info.module_cls is torch.nn.Tanh:  # 1 − y² cancels for large |x|: see the docstring
        rtol = _tanh_bound(x, out, dy, n(xt.grad))
        xl = x.astype(np.longdouble)
        exact = (dy.astype(np.longdouble) / np.cosh(xl) ** 2).astype(np.float64)
        parity("dx", dx, exact, rtol=rtol, witness="dy·sech²(x) in long double")
        parity("dx", dx, n(xt.grad), rtol=rtol)
    else:
        parity("dx", dx, n(xt.grad))
    grads, named = twin.grads(), dict(module.named_parameters())
    assert sorted(grads) == sorted(named)  # torch's names
    for name, p in named.items():
        parity(f"d{name}", grads[name], n(p.grad))
    buffers, theirs = twin.buffers(), dict(module.named_buffers())
    assert sorted(buffers) == sorted(theirs)
    for name, b in theirs.items():  # running statistics after the step
        if b.is_floating_point():
            parity(name, buffers[name], n(b))
        else:
            np.testing.assert_array_equal(buffers[name], n(b), err_msg=name)
