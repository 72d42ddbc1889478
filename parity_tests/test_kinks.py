"""The float32-through-kinks rule (kinks.py) on cases built to sit on a kink: float32 rounding
flips one ReLU mask element and one max-pool argmax. A plain float32-vs-float64 comparison
of the gradient fails there on any machine; the rule compares rounding only, and its guard
still catches a decision that differs far from the kink."""

from __future__ import annotations

import kinks
import numpy as np
import pytest

from ref_cnn.nn import Linear, MaxPool2d, ReLU, Sequential

TINY = 2.0**-30  # representable in float64 next to 1, lost when 1 + TINY is rounded to float32


def relu_net(dtype):
    net = Sequential(Linear(2, 2, bias=False, dtype=dtype), ReLU())
    net.params()["0.weight"][...] = [[1.0, 1.0], [1.0, -1.0]]
    return net


def run_both(build, x, dy):
    """(float64 twin, float32 twin, dx64 at its own decisions) after both forwards."""
    twin64, twin32 = build(np.float64), build(np.float32)
    twin64.forward(x)
    twin32.forward(x.astype(np.float32))
    return twin64, twin32


def rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def test_a_relu_mask_flipped_by_rounding_is_followed():
    x = np.array([[1.0 + TINY, -1.0], [0.5, 0.25]])  # z[0, 0] = TINY in float64, 0 in float32
    dy = np.ones((2, 2))
    twin64, twin32 = run_both(relu_net, x, dy)
    dx32 = twin32.backward(dy.astype(np.float32))
    plain = twin64.backward(dy)
    assert rel(dx32, plain) > 0.3  # one flipped mask element: no float32 bound can hold
    twin64.forward(x)
    with kinks.follow_decisions(twin64, twin32) as found:
        kinks.check(found, 1e-6)
        followed = twin64.backward(dy)
    assert [(k.kind, k.flipped) for k in found] == [("relu", 1)]
    assert rel(dx32, followed) < 1e-7
    np.testing.assert_array_equal(twin64.backward(dy), plain)  # the rule is undone on exit


def test_a_max_pool_argmax_flipped_by_rounding_is_followed():
    x = np.array([[[[1.0, 1.0 + TINY, -3.0, 2.0]]]])  # a tie in float32: first maximum wins
    dy = np.array([[[[1.0, 2.0]]]])
    twin64, twin32 = run_both(lambda dtype: Sequential(MaxPool2d((1, 2))), x, dy)
    dx32 = twin32.backward(dy.astype(np.float32))
    plain = twin64.backward(dy)
    np.testing.assert_array_equal(plain, [[[[0, 1, 0, 2]]]])
    np.testing.assert_array_equal(dx32, [[[[1, 0, 0, 2]]]])
    twin64.forward(x)
    with kinks.follow_decisions(twin64, twin32) as found:
        kinks.check(found, 1e-6)
        np.testing.assert_array_equal(twin64.backward(dy), dx32)
    assert [(k.kind, k.flipped) for k in found] == [("max_pool2d", 2)]  # two positions moved


def test_the_guard_rejects_a_decision_that_differs_far_from_the_kink():
    x = np.array([[1.0 + TINY, -1.0], [0.5, 0.25]])
    twin64, twin32 = run_both(relu_net, x, np.ones((2, 2)))
    twin32[1]._x[1, 0] *= -1  # a float32 ReLU input 0.75 away from float64's: a bug, not rounding
    with (
        kinks.follow_decisions(twin64, twin32) as found,
        pytest.raises(AssertionError, match="beyond"),
    ):
        kinks.check(found, 1e-4)
