"""Compile the per-pair kernels with numba when it is installed; otherwise run them as plain Python.

The kernels are written in the subset of Python that numba compiles (loops over numpy arrays, scalars,
tuples), so without numba they give the same results, only much slower: fine for tests and small regions,
not for the 1M-flow target (`HAVE_NUMBA` tells which one runs).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

numba: Any
prange: Any
try:  # pragma: no cover - depends on the environment
    if os.environ.get("TURASH_NO_NUMBA"):
        raise ImportError
    import numba
    from numba import prange

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    numba = None
    prange = range
    HAVE_NUMBA = False


def n_threads() -> int:
    """Threads the parallel kernels use (numba's setting, e.g. NUMBA_NUM_THREADS; 1 without numba)."""
    return int(numba.get_num_threads()) if numba is not None else 1


def jit(fn: F) -> F:
    """`numba.njit(cache=True, nogil=True)` or the function itself."""
    if numba is None:
        return fn
    return cast(F, numba.njit(cache=True, nogil=True, error_model="numpy")(fn))


def jit_inline(fn: F) -> F:
    """Like `jit`, and inlined into the numba callers: the per-pair helpers take many array arguments, and
    an out-of-line call would pay reference counting on each of them for every pair."""
    if numba is None:
        return fn
    return cast(F, numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")(fn))


def jit_parallel(fn: F) -> F:
    """Like `jit`, with `prange` loops spread over threads (`n_threads()`)."""
    if numba is None:
        return fn
    return cast(F, numba.njit(cache=True, nogil=True, error_model="numpy", parallel=True)(fn))
