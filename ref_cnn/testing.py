"""pytest-friendly checks against the reference: drop one line into your own test suite.

    import numpy as np
    from ref_cnn.testing import assert_conforms
    import mypkg

    def test_my_conv_matches_the_reference():
        assert_conforms(mypkg.conv2d, "conv2d", dtype=np.float32, layout="nhwc")

`fn` is what `python -m ref_cnn check` takes (see `ref_cnn.conformance`): a NumPy forward
or backward function with `ref_cnn.functional`'s signature, or a torch or JAX forward
function whose gradients come from autograd / `jax.vjp`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ref_cnn._metric import compare, float32_bound
from ref_cnn.conformance import Results, check, first_failure, format_results, passed

__all__ = ["assert_conforms", "compare", "float32_bound"]


def assert_conforms(
    fn: Callable,
    op: str,
    dtype=np.float64,
    layout: str = "nchw",
    framework: str = "auto",
    rtol: float | None = None,
) -> Results:
    """Run every case of `op` against `fn`; raise AssertionError showing the first failing case.

    Args:
        fn: the function under test. op: "conv2d", "conv2d_backward", "max_pool2d", … (the
        kit's op names). dtype: np.float64 (bound 1e-10 relative to torch float64) or
        np.float32 (ten times torch float32's own error on the same case). layout: "nchw"
        or "nhwc" (conv weights then (kH, kW, C_in/groups, C_out)). framework: "auto",
        "numpy", "torch" or "jax". rtol: a fixed bound instead.

    Returns the case results when every case that ran passed (cases the target declines
    with NotImplementedError are skipped; at least one must run).
    """
    name = getattr(fn, "__qualname__", None) or repr(fn)
    results = check(fn, op, dtype=dtype, layout=layout, framework=framework, rtol=rtol)
    if not passed(results):
        failed = results.failed
        if failed:
            head = f"{name} does not conform on {len(failed)}/{len(results)} cases of {op}"
            raise AssertionError(
                f"{head}\n{first_failure(results)}\n\n{format_results(op, name, results)}"
            )
        raise AssertionError(
            f"{name}: no case of {op} ran (every one raised NotImplementedError)\n"
            f"{format_results(op, name, results)}"
        )
    return results
