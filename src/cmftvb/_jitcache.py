"""Keep numba's on-disk caches honest across modules.

Numba keys a cached function (``@njit(cache=True)``) on its own source file only. A function that
compiles in kernels from *other* modules (the engine loop inlines the local models; the
node-curve relaxation calls the cerebellar kernels) would otherwise reload stale machine code
after those modules change, for instance one that reads a packed-parameter layout that no longer
exists. :func:`guard` records a digest of every source the function depends on in a stamp file
beside its cache and flushes the cache when the digest changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType


def sources_digest(files: Iterable[str | os.PathLike]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(Path(f).read_bytes())
    return h.hexdigest()


def guard(dispatcher, depends_on: Iterable[ModuleType | str | os.PathLike]) -> None:
    """Flush ``dispatcher``'s on-disk cache if any of ``depends_on`` changed since it was filled.

    ``depends_on`` lists modules (or source files) whose code the function compiles in, besides
    its own file. Safe when several processes start at once: the stamp is replaced atomically
    and a flush only forces a recompilation. A read-only cache location is left alone (numba
    does not cache there either).
    """
    cache = getattr(dispatcher, "_cache", None)
    path = getattr(cache, "_cache_path", None)
    if cache is None or path is None:
        return
    files = [dispatcher.py_func.__code__.co_filename]
    files += [m.__file__ if isinstance(m, ModuleType) else m for m in depends_on]
    digest = sources_digest(files)
    stamp = Path(path) / f"{dispatcher.py_func.__module__}.{dispatcher.__name__}.deps"
    try:
        if stamp.exists() and stamp.read_text() == digest:
            return
        cache.flush()
        tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
        tmp.write_text(digest)
        os.replace(tmp, stamp)
    except OSError:
        with contextlib.suppress(OSError):
            cache.flush()
