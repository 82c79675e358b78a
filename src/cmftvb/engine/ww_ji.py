"""Wong-Wang rates with a per-node inhibitory weight J_i (nA), for the engine and the bridge.

:func:`rates_gj` is :func:`cmftvb.models.wongwang.rates_g` with ``J_i`` an argument instead of
the packed ``p[J_I]``, the same IEEE operations in the same order (so a node whose J_i equals
the preset's gets bitwise the rates of ``rates_g``). It exists because feedback inhibition
control (Deco et al. 2014, J Neurosci 34:7886) gives every node its own J_i; it belongs in
:mod:`cmftvb.models.wongwang` (with ``rates_g`` calling it) and is kept here only until that
module, owned by the model registry, takes it over. Equations: MODEL.md §3.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cmftvb import _jitcache
from cmftvb import _vmath as vmath
from cmftvb.models import wongwang as ww


@njit(cache=True, error_model="numpy", inline="always")
def rates_gj(S_E, S_I, c, G, J_i, p):
    """Firing rates ``(H_E, H_I)`` in Hz at global coupling ``G`` and inhibitory weight ``J_i``
    (nA); ``p`` from :func:`cmftvb.models.wongwang.pack` (its G and J_i entries unread)."""
    cc = G * p[ww.J_N] * c
    jn_se = p[ww.J_N] * S_E
    x_e = p[ww.W_PLUS] * jn_se - J_i * S_I + p[ww.W_E] * p[ww.I_0] + cc + p[ww.I_EXT]
    x_i = jn_se - S_I + p[ww.W_I] * p[ww.I_0] + p[ww.LAMDA] * cc
    return ww.h(p[ww.A_E] * x_e - p[ww.B_E], p[ww.D_E]), ww.h(
        p[ww.A_I] * x_i - p[ww.B_I], p[ww.D_I]
    )


@njit(cache=True, error_model="numpy")
def _dfun_loop(S_E, S_I, c, J_i, p, out_e, out_i):
    G = p[ww.G_IDX]
    for k in range(S_E.size):
        h_e, h_i = rates_gj(S_E[k], S_I[k], c[k], G, J_i[k], p)
        out_e[k], out_i[k] = ww.dfun_rates(S_E[k], S_I[k], h_e, h_i, p)


def dfun_nodes(S_E, S_I, c, J_i, p) -> tuple[np.ndarray, np.ndarray]:
    """Derivatives ``(dS_E/dt, dS_I/dt)`` (1/ms) of nodes with their own ``J_i`` (nA): 1-d
    arrays of one length (``p`` from :func:`cmftvb.models.wongwang.pack`)."""
    a, b, cc, ji = (np.ascontiguousarray(v, dtype=np.float64) for v in (S_E, S_I, c, J_i))
    out_e, out_i = np.empty_like(a), np.empty_like(a)
    _dfun_loop(a, b, cc, ji, np.asarray(p, dtype=np.float64), out_e, out_i)
    return out_e, out_i


# numba's disk cache keys these on this file only; they compile in the Wong-Wang kernels
_jitcache.guard(_dfun_loop, [ww, vmath])
