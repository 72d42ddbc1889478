"""What `scripts/bench.py` ran on: CPU model and SIMD flags, library versions, the BLAS
library and the kernel it picked. Works without threadpoolctl (the kernel is then unknown)."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

# Variables that force one BLAS kernel (this project's development machine sets them); the
# benchmarks run without them, on the kernel the library picks for the CPU.
FORCED_KERNEL_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "REF_CNN_NUM_THREADS")


def default_kernel_env(threads: int | None = None) -> dict[str, str]:
    """os.environ without FORCED_KERNEL_VARS; given a thread count, with BLAS's, OpenMP's
    and ref_cnn's thread counts set to it (for a child process)."""
    env = {k: v for k, v in os.environ.items() if k not in FORCED_KERNEL_VARS}
    if threads is not None:
        env.update({var: str(threads) for var in THREAD_VARS})
    return env


SIMD = re.compile(r"^(sse4_2|avx|avx2|fma|f16c|avx512\w*|avx_vnni\w*|amx\w*|sve\w*|asimd\w*|neon)$")


def cpu_model_and_flags() -> tuple[str, list[str]]:
    """From /proc/cpuinfo (Linux); elsewhere platform's processor name and NumPy's list of
    the CPU features it detected."""
    model, flags = "", []
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "Model", "CPU part") and not model:
            model = value.strip()
        if key in ("flags", "Features") and not flags:
            flags = [f for f in value.split() if SIMD.match(f)]
    if not flags:
        try:
            from numpy._core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            features = {}
        flags = sorted(k.lower() for k, on in features.items() if on and SIMD.match(k.lower()))
    return model or platform.processor() or platform.machine(), flags


def blas_description() -> str:
    """The BLAS library NumPy uses, its version, kernel and thread count (threadpoolctl), or
    what NumPy's build configuration says where threadpoolctl is not installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if libs:
            return "; ".join(
                f"{i.get('internal_api')} {i.get('version')}, kernel {i.get('architecture')}, "
                f"{i.get('num_threads')} threads ({Path(i.get('filepath', '')).name})"
                for i in libs
            )
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        name = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # an older NumPy without mode="dicts"
        name = "unknown BLAS"
    return f"{name}, kernel unknown (threadpoolctl is not installed)"


def machine_info() -> dict:
    import numpy as np
    import torch

    model, flags = cpu_model_and_flags()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    forced = {k: os.environ[k] for k in FORCED_KERNEL_VARS if k in os.environ}
    return {
        "cpu": model,
        "flags": flags,
        "cpus": cpus,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_backend": "oneDNN (mkldnn)" if torch.backends.mkldnn.is_available() else "native",
        "blas": blas_description(),
        "forced_kernel": forced,
        "conv_kernels": _conv_kernels(),
    }


def _conv_kernels() -> str:
    """ref_cnn's conv2d kernels in this process (`ref_cnn._fast.backend`: REF_CNN_KERNELS)."""
    from ref_cnn._fast import backend as kernels

    if kernels.get_kernels() != "numba":
        return "NumPy (the default; REF_CNN_KERNELS=numba for the compiled ones)"
    import numba

    return f"compiled, numba {numba.__version__} (REF_CNN_KERNELS=numba)"
