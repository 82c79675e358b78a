"""Wong-Wang derivatives of nodes with their own inhibitory weight J_i (nA), for the bridge.

The rate equations are written once, in :func:`cmftvb.models.wongwang.rates_gj` (J_i an
argument; ``rates_g`` calls it with the preset's J_i). Feedback inhibition control (Deco et al.
2014, J Neurosci 34:7886) gives every node its own J_i. Equations: MODEL.md §3.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cmftvb import _jitcache
from cmftvb import _vmath as vmath
from cmftvb.models import wongwang as ww


@njit(cache=True, error_model="numpy")
def _dfun_loop(S_E, S_I, c, J_i, p, out_e, out_i):
    G = p[ww.G_IDX]
    for k in range(S_E.size):
        h_e, h_i = ww.rates_gj(S_E[k], S_I[k], c[k], G, J_i[k], p)
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
