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
from ref_cnn.conformance import Results, check, format_results, passed

__all__ = ["assert_conforms", "compare", "float32_bound"]


def assert_conforms(
    fn: Callable,
    op: str,
    dtype=np.float64,
    layout: str = "nchw",
    framework: str = "auto",
    rtol: float | None = None,
    device: str = "cpu",
    tf32: bool = False,
    cases: str | list[dict] | None = None,
    save=None,
) -> Results:
    """Run every case of `op` against `fn`; raise AssertionError with the failing cases' table
    and the first failing case in full (about 20 lines, none of them the kit's source).

    Args:
        fn: the function under test. op: "conv2d", "conv2d_backward", "max_pool2d", … (the
        kit's op names). dtype: float64 (bound 1e-10 relative to torch float64), float32,
        float16, bfloat16 or tf32 (ten times a reference's error at that precision on the same
        case; see docs/kit.md). layout: "nchw" or "nhwc" (conv weights then (kH, kW,
        C_in/groups, C_out)). framework: "auto", "numpy", "torch" or "jax". rtol: a fixed bound
        instead. device: where torch and JAX targets get their inputs ("cuda", …). tf32: TF32
        on in a float32 check. cases: a pattern selecting cases by name, or case dicts.
        save: a folder for the failing cases' arrays and reproducer scripts.

    Returns the case results when every case that ran passed (cases the target declines
    with NotImplementedError are skipped; at least one must run).
    """
    __tracebackhide__ = True  # pytest shows the message, not this function's source
    name = getattr(fn, "__qualname__", None) or repr(fn)
    results = check(
        fn, op, dtype, layout, framework, rtol, device=device, tf32=tf32, cases=cases, save=save
    )
    if passed(results):
        return results
    failed = results.failed
    if failed:
        head = f"{name} does not conform on {len(failed)}/{len(results)} cases of {op}"
        table = format_results(op, name, results, only_failed=8)
        raise AssertionError(f"{head}\n{table}") from None
    raise AssertionError(
        f"{name}: no case of {op} ran (every one raised NotImplementedError)\n"
        f"{format_results(op, name, results)}"
    ) from None
