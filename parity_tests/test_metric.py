"""The one error metric (ref_cnn._metric) of the suite, the report and the kit: NumPy only."""

from __future__ import annotations

import numpy as np
import pytest

from ref_cnn._metric import EPS32, FLOAT32_FACTOR, compare, float32_bound

nan, inf = np.nan, np.inf


def test_norm_wise_relative_error_and_where_it_sits():
    expected = np.array([[1.0, -4.0], [2.0, 0.0]])
    got = expected + np.array([[0.0, 0.0], [0.0, 1e-3]])
    c = compare(got, expected)
    assert c.abs_err == pytest.approx(1e-3)
    assert c.rel_err == pytest.approx(1e-3 / 4)  # relative to max |expected|, not to the 0
    assert c.where == (1, 1) and c.got_at == pytest.approx(1e-3) and c.expected_at == 0.0
    assert c.ok(3e-4) and not c.ok(2e-4)
    assert "at index (1, 1)" in c.describe("dw", "torch")


@pytest.mark.parametrize(
    ("got", "expected", "message"),
    [
        pytest.param(
            [1.0, nan, 3.0], [1.0, 2.0, 3.0], "NaN at index (1,)", id="nan-where-a-number"
        ),
        pytest.param(
            [1.0, 2.0, 3.0], [1.0, nan, 3.0], "where the witness has NaN", id="number-where-nan"
        ),
        pytest.param([1.0, inf], [1.0, 5.0], "+inf placement", id="inf-where-a-number"),
        pytest.param([1.0, inf], [1.0, -inf], "+inf placement", id="inf-sign"),
        pytest.param([1.0, 2.0], [1.0, -inf], "-inf placement", id="number-where-minus-inf"),
        pytest.param([[1.0, 2.0]], [1.0, 2.0], "shape (1, 2), expected (2,)", id="shape"),
    ],
)
def test_non_finite_placement_fails_whatever_the_tolerance(got, expected, message):
    c = compare(np.array(got), np.array(expected))
    assert not c.ok(1e300)
    assert message in c.problem and message in c.describe("y")


def test_all_nan_output_fails_naming_the_first_position():
    c = compare(np.full((2, 3), nan), np.ones((2, 3)))
    assert not c.ok(1.0)
    assert c.problem.startswith("NaN at index (0, 0)") and "6 such positions" in c.problem


def test_matching_nan_and_inf_are_agreement_and_the_rest_is_measured():
    expected = np.array([nan, inf, -inf, 2.0, -1.0])
    got = np.array([nan, inf, -inf, 2.0 + 2e-12, -1.0])
    c = compare(got, expected)
    assert not c.problem
    assert c.rel_err == pytest.approx(1e-12, rel=1e-3)  # scale: the finite positions only
    assert c.ok(1e-10)


def test_float32_results_are_measured_in_float64():
    expected = np.float32([1.0, 3.0])
    got = np.nextafter(expected, np.float32(inf))  # one ulp up everywhere
    assert compare(got, expected).rel_err == pytest.approx(2 * EPS32 / 3)


def test_empty_and_exact():
    assert compare(np.zeros((0, 3)), np.zeros((0, 3))).ok(0.0)
    assert compare(np.arange(4.0), np.arange(4.0)).ok(0.0)


def test_float32_bound_follows_the_witness_error_with_a_floor():
    assert float32_bound(0.0) == FLOAT32_FACTOR * EPS32
    assert float32_bound(1e-5) == pytest.approx(FLOAT32_FACTOR * 1e-5)
    assert float32_bound(1e-7, floor=2e-5) == 2e-5  # the model twins' floor
    assert float32_bound(1e-5, floor=2e-5) == pytest.approx(1e-4)
