"""BLAS thread control shared by the stages that call small matrix routines."""

from __future__ import annotations

import contextlib


def one_thread():
    """A context manager that limits BLAS/LAPACK to one thread (threadpoolctl, when
    installed; otherwise it does nothing).

    For the small matrices of this package (FIC Jacobians of a few hundred rows, the N x N
    coherence between nodes per frequency bin) extra BLAS threads only add overhead, and
    threads left spinning between an engine's chunks compete with the engine. Measured on a
    2-core machine: FIC eigenvalues up to 5x slower with the default threads under load;
    ``cmftvb simulate --monitor signals`` (sample subject, cMF, 80 s, 2 seeds) 64 s with the
    default threads, 28 s with one."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
