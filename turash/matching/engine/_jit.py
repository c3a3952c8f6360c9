"""Compile the kernels with numba when it is installed; otherwise run them as plain Python.

The kernels are written in the subset of Python that numba compiles (loops over numpy arrays, scalars,
tuples), so without numba they give the same results, only much slower: fine for tests and small regions,
not for the 1M-flow target (`HAVE_NUMBA` tells which one runs).

Compile time matters (tests and the CLI start on a cold cache): there are few jitted functions, none is
inlined at the numba IR level (LLVM inlines the small ones), and none uses numba's `parallel=True` (parfors
are slow to compile). Parallel work runs instead as `nogil` kernels on a small pool of Python threads
(`parallel_map`), each thread on its own part of the data.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

numba: Any
try:  # pragma: no cover - depends on the environment
    if os.environ.get("TURASH_NO_NUMBA"):
        raise ImportError
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    numba = None
    HAVE_NUMBA = False


def _cache_dir() -> Path:
    """Where compiled kernels are kept: a folder per version of the engine's sources.

    Numba checks a cached kernel only against its own file's time stamp, not against the kernels it calls from
    other files, so after a change to `scorers.py` a cached caller in `candidates.py` would still run the old
    scorer. Keying the folder by a digest of every engine source file makes any change start from a clean cache."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(str(getattr(numba, "__version__", "")).encode())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "turash" / "numba"
    return base / digest.hexdigest()[:16]


if numba is not None and not os.environ.get("NUMBA_CACHE_DIR"):  # pragma: no branch
    numba.config.CACHE_DIR = str(_cache_dir())


def n_threads() -> int:
    """Threads the parallel kernels use: numba's setting (NUMBA_NUM_THREADS, default the CPU count); 1
    without numba (the pure-Python kernels would only contend for the GIL)."""
    if numba is None:
        return 1
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


def jit(fn: F) -> F:
    """`numba.njit(cache=True, nogil=True)` or the function itself."""
    if numba is None:
        return fn
    return cast(F, numba.njit(cache=True, nogil=True, error_model="numpy")(fn))


def _prefetch_py(table: Any, row: int) -> None:
    """Hint the CPU to load `table[row, 0]`'s cache line (a no-op without numba)."""


prefetch: Callable[[Any, int], None] = _prefetch_py
if numba is not None:  # pragma: no branch
    from llvmlite import ir
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def _prefetch(typingctx: Any, table: Any, row: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            aryty = signature.args[0]
            ary = context.make_array(aryty)(context, builder, args[0])
            zero = context.get_constant(numba.types.intp, 0)
            row = context.cast(builder, args[1], signature.args[1], numba.types.intp)
            idx = [row] + [zero] * (aryty.ndim - 1)
            ptr = cgutils.get_item_pointer(context, builder, aryty, ary, idx, wraparound=False)  # type: ignore[no-untyped-call]
            i8p = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")  # type: ignore[no-untyped-call]
            # read, high locality, data cache
            builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
            return context.get_dummy_value()

        return numba.types.void(table, row), codegen

    prefetch = _prefetch  # type: ignore[assignment]


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()


def _pool(size: int) -> ThreadPoolExecutor:
    with _POOL_LOCK:
        pool = _POOLS.get(size)
        if pool is None:
            pool = _POOLS[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="turash-match")
        return pool


def parallel_map(fn: Callable[..., T], tasks: Sequence[tuple[Any, ...]], threads: int | None = None) -> list[T]:
    """`[fn(*t) for t in tasks]`, the tasks spread over `threads` threads (default `n_threads()`), in order.

    The kernels release the GIL, so the threads run in parallel; tasks are taken as threads free up (more
    tasks than threads balance uneven parts)."""
    t = n_threads() if threads is None else max(1, threads)
    if t <= 1 or len(tasks) <= 1 or numba is None:
        return [fn(*a) for a in tasks]
    pool = _pool(t)
    return list(pool.map(lambda a: fn(*a), tasks))


def _alloc_bytes_py(n: int) -> Any:
    return np.empty(n, np.uint8)


_alloc_bytes = jit(_alloc_bytes_py)


def empty(shape: int | tuple[int, ...], dtype: Any) -> Any:
    """`np.empty(shape, dtype)`, for the large per-call arrays (bounded lists, result columns).

    Allocated by numba's runtime rather than numpy: numpy asks the kernel for transparent huge pages on
    arrays of 4 MB and more (madvise), and where the kernel then compacts memory on the first touch, that
    stalls for longer than the kernel work it saves (measured: up to 2× slower assembly at 1M flows).
    """
    dt = np.dtype(dtype)
    shp = (shape,) if isinstance(shape, int) else tuple(shape)
    count = 1
    for s in shp:
        count *= int(s)
    if numba is None or count * dt.itemsize < (1 << 22):
        return np.empty(shp, dt)
    raw = _alloc_bytes(count * dt.itemsize + 64)
    off = (-raw.ctypes.data) % 64  # cache-line aligned
    return raw[off : off + count * dt.itemsize].view(dt).reshape(shp)
