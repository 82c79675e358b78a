"""Reduced Wong-Wang excitatory-inhibitory mean field (Deco et al. 2014, J Neurosci 34:7886).

The equations are those of tvb-library's ``ReducedWongWangExcInh`` (MODEL.md §3), which is the
reference implementation; tests hold this module equal to it on arbitrary states and inputs::

    x_E   = w_+ J_N S_E - J_i S_I + W_E I_0 + G J_N c + I_ext
    H_E   = (a_E x_E - b_E) / (1 - exp(-d_E (a_E x_E - b_E)))          [Hz]
    dS_E  = -S_E / tau_E + (1 - S_E) gamma_E H_E                          [1/ms]
    x_I   = J_N S_E - S_I + W_I I_0 + lamda G J_N c
    H_I   = (a_I x_I - b_I) / (1 - exp(-d_I (a_I x_I - b_I)))          [Hz]
    dS_I  = -S_I / tau_I + gamma_I H_I                                    [1/ms]

``c`` is the raw delayed coupling sum ``sum_j W[k, j] S_E,j(t - d)`` arriving at the node; the
model scales it by ``G J_N`` itself, as TVB's class does. Like TVB 2.10, ``dfun`` does not clip
the state: the integrator applies the state-variable boundaries (preset ``bounds``).

H has a removable singularity at ``y = a x - b = 0`` (limit ``1/d``). For ``|d y| < 1e-3``
``H`` is evaluated from its series ``(1/d) z/(1 - e^-z) = (1/d)(1 + z/2 + z^2/12 - z^4/720 +
z^6/30240)``, ``z = d y`` (truncation error below 1e-20 relative); elsewhere with TVB's own
expression, so that the two agree to round-off.

Published sign error (MODEL.md §6.5, switch ``ww_sign_error``): ``dS_E = +S_E/tau_E + ...``;
packed as the sign of the decay term, ``p[SIGN_DECAY_E]`` (-1 normally, +1 under the switch).

Packed parameter vector (``pack``), float64, indices:
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numba import njit

from cmftvb import _jitcache
from cmftvb import _vmath as vmath
from cmftvb.models.base import LocalModel

#: This model's declaration (collected by :mod:`cmftvb.models.registry`).
MODEL = LocalModel(
    name="wongwang",
    description="reduced Wong-Wang E-I mean field (Deco et al. 2014; MODEL.md §3)",
    state_vars=("S_E", "S_I"),
    # H_E, H_I of rates(), monitored by the engine under these names
    rate_vars=("r_E", "r_I"),
    # the raw delayed coupling sum c, scaled by G J_N inside the model
    inputs=("I_coupling",),
    # MODEL.md §6 item 8: the first state variable, in both presets
    bold_var="S_E",
    units={"S_E": "1", "S_I": "1", "r_E": "Hz", "r_I": "Hz", "I_coupling": "1"},
)

A_E = 0  #: nC^-1
B_E = 1  #: Hz
D_E = 2  #: s
GAMMA_E = 3  #: per ms
TAU_E = 4  #: ms
W_PLUS = 5
J_N = 6  #: nA
W_E = 7
A_I = 8  #: nC^-1
B_I = 9  #: Hz
D_I = 10  #: s
GAMMA_I = 11  #: per ms
TAU_I = 12  #: ms
J_I = 13  #: nA
W_I = 14
I_0 = 15  #: nA
LAMDA = 16
I_EXT = 17  #: nA
G_IDX = 18  #: global coupling G
SIGN_DECAY_E = 19  #: -1.0 (Deco et al.) or +1.0 (published sign error, MODEL.md §6.5)
INV_TAU_E = 20  #: 1/ms, 1 / tau_E (derived at pack time)
INV_TAU_I = 21  #: 1/ms, 1 / tau_I (derived at pack time)
NP = 22  #: length of the packed vector

#: preset key of each packed entry (in index order, before G and the sign).
_KEYS = (
    "a_E",
    "b_E",
    "d_E",
    "gamma_E",
    "tau_E",
    "w_plus",
    "J_N",
    "W_E",
    "a_I",
    "b_I",
    "d_I",
    "gamma_I",
    "tau_I",
    "J_i",
    "W_I",
    "I_0",
    "lamda",
    "I_ext",
)

__doc__ += "\n".join(f"    {i:2d} {k}" for i, k in enumerate(_KEYS)) + (
    "\n    18 G (coupling.G unless given to pack)\n"
    "    19 sign of the S_E decay term (-1; +1 under switches.ww_sign_error)\n"
    "    20 1 / tau_E, 21 1 / tau_I (derived, so that the kernel multiplies)\n"
)

#: |d y| below which H is evaluated by its series.
SERIES_Z = 1e-3


def pack(preset: Mapping, G: float | None = None) -> np.ndarray:
    """Pack a preset's Wong-Wang parameters into a float64 vector of length ``NP``.

    ``G`` overrides ``preset["coupling"]["G"]`` (e.g. for a G sweep).
    """
    ww = preset["wongwang"]
    p = np.empty(NP, dtype=np.float64)
    for i, key in enumerate(_KEYS):
        p[i] = float(ww[key])
    p[G_IDX] = float(preset["coupling"]["G"] if G is None else G)
    p[SIGN_DECAY_E] = 1.0 if preset["switches"]["ww_sign_error"] else -1.0
    p[INV_TAU_E] = 1.0 / p[TAU_E]
    p[INV_TAU_I] = 1.0 / p[TAU_I]
    return p


@njit(cache=True, error_model="numpy", inline="always")
def h(y, d):
    """``y / (1 - exp(-d y))`` with its removable singularity at ``y = 0`` (value ``1/d``).

    ``y = a x - b`` in Hz, ``d`` in s; returns Hz.
    """
    z = d * y
    if abs(z) < SERIES_Z:
        z2 = z * z
        return (1.0 + 0.5 * z + z2 * (1.0 / 12.0 - z2 * (1.0 / 720.0 - z2 / 30240.0))) / d
    return y / (1.0 - vmath.exp(-z))


@njit(cache=True, error_model="numpy", inline="always")
def rates_gj(S_E, S_I, c, G, J_i, p):
    """Firing rates ``(H_E, H_I)`` in Hz at global coupling ``G`` and inhibitory weight ``J_i``
    (nA); ``p[G_IDX]`` and ``p[J_I]`` are not read.

    The one copy of the rate equations (module docstring). The engine passes each lane's own
    G and, under feedback inhibition control (Deco et al. 2014, J Neurosci 34:7886), each
    node's own J_i, so that lanes and nodes share one ``p``.
    """
    cc = G * p[J_N] * c
    jn_se = p[J_N] * S_E
    x_e = p[W_PLUS] * jn_se - J_i * S_I + p[W_E] * p[I_0] + cc + p[I_EXT]
    x_i = jn_se - S_I + p[W_I] * p[I_0] + p[LAMDA] * cc
    return h(p[A_E] * x_e - p[B_E], p[D_E]), h(p[A_I] * x_i - p[B_I], p[D_I])


@njit(cache=True, error_model="numpy", inline="always")
def rates_g(S_E, S_I, c, G, p):
    """Firing rates ``(H_E, H_I)`` in Hz at global coupling ``G`` (``p[G_IDX]`` is not read):
    :func:`rates_gj` with the preset's ``p[J_I]``.
    """
    return rates_gj(S_E, S_I, c, G, p[J_I], p)


@njit(cache=True, error_model="numpy", inline="always")
def rates(S_E, S_I, c, p):
    """Firing rates ``(H_E, H_I)`` in Hz for gating variables S_E, S_I and coupling ``c``."""
    return rates_g(S_E, S_I, c, p[G_IDX], p)


@njit(cache=True, error_model="numpy", inline="always")
def dfun_rates(S_E, S_I, h_e, h_i, p):
    """Time derivatives (1/ms) from the state and its rates ``h_e, h_i`` (Hz) of :func:`rates`."""
    d_e = p[SIGN_DECAY_E] * (S_E * p[INV_TAU_E]) + (1.0 - S_E) * h_e * p[GAMMA_E]
    d_i = -(S_I * p[INV_TAU_I]) + h_i * p[GAMMA_I]
    return d_e, d_i


@njit(cache=True, error_model="numpy", inline="always")
def dfun(S_E, S_I, c, p):
    """Time derivatives ``(dS_E/dt, dS_I/dt)`` in 1/ms (MODEL.md §3; TVB ReducedWongWangExcInh).

    ``c`` is the raw coupling sum (dimensionless, sum of W times S_E); ``p`` from :func:`pack`.
    """
    h_e, h_i = rates(S_E, S_I, c, p)
    return dfun_rates(S_E, S_I, h_e, h_i, p)


@njit(cache=True, error_model="numpy")
def _dfun_loop(S_E, S_I, c, p, out_e, out_i):
    for k in range(S_E.size):
        out_e[k], out_i[k] = dfun(S_E[k], S_I[k], c[k], p)


@njit(cache=True, error_model="numpy")
def _rates_loop(S_E, S_I, c, p, out_e, out_i):
    for k in range(S_E.size):
        out_e[k], out_i[k] = rates(S_E[k], S_I[k], c[k], p)


def _broadcast(S_E, S_I, c):
    a, b, cc = np.broadcast_arrays(
        np.asarray(S_E, dtype=np.float64),
        np.asarray(S_I, dtype=np.float64),
        np.asarray(c, dtype=np.float64),
    )
    shape = a.shape
    return (
        np.ascontiguousarray(a).ravel(),
        np.ascontiguousarray(b).ravel(),
        np.ascontiguousarray(cc).ravel(),
        shape,
    )


def dfun_nodes(S_E, S_I, c, p) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`dfun` over arrays (broadcast together); returns two arrays."""
    a, b, cc, shape = _broadcast(S_E, S_I, c)
    out_e, out_i = np.empty_like(a), np.empty_like(a)
    _dfun_loop(a, b, cc, np.asarray(p, dtype=np.float64), out_e, out_i)
    return out_e.reshape(shape), out_i.reshape(shape)


def rates_nodes(S_E, S_I, c, p) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`rates` over arrays; returns ``(H_E, H_I)`` in Hz."""
    a, b, cc, shape = _broadcast(S_E, S_I, c)
    out_e, out_i = np.empty_like(a), np.empty_like(a)
    _rates_loop(a, b, cc, np.asarray(p, dtype=np.float64), out_e, out_i)
    return out_e.reshape(shape), out_i.reshape(shape)


# numba's disk cache keys these on this file only; they compile in cmftvb._vmath
for _f in (_dfun_loop, _rates_loop):
    _jitcache.guard(_f, [vmath])
