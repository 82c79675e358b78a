"""Steady states of one isolated cerebellar node under constant mossy input (``node-curve``).

The node of MODEL.md §2 gets a constant mossy rate on its GrC and GoC mossy channels, no
parallel-fibre input and no noise. Its rates are integrated (explicit Euler, step 0.1 ms; the
fixed points of the Euler map are exactly the zeros of the vector field) until they stop
changing, then polished with ``scipy.optimize.root`` on the zeros of the vector field. This is
the check of MODEL.md §2.6; inputs and outputs of the public functions are in Hz. The first
order starts from a silent node (``INITIAL_KHZ``); the second order starts from the first-order
steady state with zero covariances.

``cmftvb node-curve --preset P --order {1,2} [--set KEY=VALUE ...] --mossy HZ [HZ ...]`` prints
a tab-separated table ``mossy_hz grc_hz goc_hz mli_hz pc_hz`` on stdout.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping

import numpy as np
from numba import njit
from scipy import optimize

from cmftvb import CmftvbError, _jitcache
from cmftvb import _vmath as vmath
from cmftvb.models import crbl
from cmftvb.models.presets import apply_overrides, load_preset

#: ms, Euler step of the relaxation.
RELAX_DT = 0.1
#: ms, longest simulated relaxation before giving up.
RELAX_MAX_MS = 60_000.0
#: kHz/ms, convergence threshold on max |d nu / dt| (first order).
RELAX_TOL = 1e-13
#: kHz/ms and kHz^2/ms, the same for the second order, whose finite-difference Hessians leave a
#: noise floor of about 5e-11 (crbl.derivatives); 1e-9 puts the state within about 1e-5 Hz of
#: the fixed point (relaxation time about 5 ms).
RELAX_TOL2 = 1e-9
#: kHz, initial rates (GrC, GoC, MLI, PC) of the relaxation: a quiet network.
INITIAL_KHZ = (0.0, 0.0, 0.0, 0.0)


@njit(cache=True, error_model="numpy")
def _relax1(x, mf, p, dt, nsteps, tol):
    """Euler-integrate the first-order node in place; return the number of steps taken."""
    for step in range(nsteps):
        d0, d1, d2, d3 = crbl.dfun(x[0], x[1], x[2], x[3], mf, 0.0, p)
        x[0] = max(x[0] + dt * d0, 0.0)
        x[1] = max(x[1] + dt * d1, 0.0)
        x[2] = max(x[2] + dt * d2, 0.0)
        x[3] = max(x[3] + dt * d3, 0.0)
        if max(max(abs(d0), abs(d1)), max(abs(d2), abs(d3))) < tol:
            return step + 1
    return -1


@njit(cache=True, error_model="numpy")
def _relax2(x, mf, p, dt, nsteps, tol, hold_cov_zero):
    """Euler-integrate the second-order node (14 states) in place; steps taken or -1."""
    dx = np.empty(crbl.NSTATE2)
    for step in range(nsteps):
        crbl.dfun2(x, mf, 0.0, p, dx)
        worst = 0.0
        for k in range(crbl.NSTATE2):
            if hold_cov_zero and k >= 4:
                continue
            x[k] = x[k] + dt * dx[k]
            worst = max(worst, abs(dx[k]))
        for k in range(4):
            x[k] = max(x[k], 0.0)
        if not math.isfinite(worst):
            return -1
        if worst < tol:
            return step + 1
    return -1


# Both relaxations compile in the cerebellar kernels of crbl.py: refresh their caches with it.
_jitcache.guard(_relax1, [crbl, vmath])
_jitcache.guard(_relax2, [crbl, vmath])


def _residual(x, mf, p, order, hold_cov_zero):
    if order == 1:
        return np.array(crbl.dfun(x[0], x[1], x[2], x[3], mf, 0.0, p))
    full = np.zeros(crbl.NSTATE2)
    if hold_cov_zero:
        full[:4] = x
        return crbl.dfun2_nodes(full[None, :], mf, 0.0, p)[0, :4]
    return crbl.dfun2_nodes(np.asarray(x)[None, :], mf, 0.0, p)[0]


def steady_state(
    mossy_hz: float,
    preset: Mapping,
    order: int | None = None,
    *,
    hold_cov_zero: bool = False,
    full_state: bool = False,
) -> np.ndarray:
    """Steady-state rates (GrC, GoC, MLI, PC) in Hz of an isolated node, constant mossy input.

    ``mossy_hz``: mossy rate (Hz) on the GrC and GoC mossy channels; parallel fibres 0.
    ``order``: 1 (MODEL.md §2.1) or 2 (§2.2; default ``preset["crbl"]["order"]``).
    ``hold_cov_zero`` (order 2): covariances held at 0, which must reproduce order 1.
    ``full_state`` (order 2): return the 14 second-order states (rates Hz, covariances Hz^2).
    Raises :class:`CmftvbError` if the node does not settle (e.g. it oscillates).
    """
    if not (isinstance(mossy_hz, int | float) and math.isfinite(mossy_hz)) or mossy_hz < 0:
        raise CmftvbError(f"--mossy: rates must be finite and >= 0 Hz, got {mossy_hz!r}")
    order = int(preset["crbl"]["order"] if order is None else order)
    if order not in (1, 2):
        raise CmftvbError(f"--order: must be 1 or 2, got {order}")
    p = crbl.pack(preset)
    mf = float(mossy_hz) * 1e-3  # Hz -> kHz
    nsteps = int(RELAX_MAX_MS / RELAX_DT)
    if order == 1:
        x = np.array(INITIAL_KHZ, dtype=np.float64)
        steps = _relax1(x, mf, p, RELAX_DT, nsteps, RELAX_TOL)
    else:
        x = np.zeros(crbl.NSTATE2)
        if hold_cov_zero:
            x[:4] = INITIAL_KHZ
        else:
            # continuation from the first-order fixed point with zero covariances: from a
            # silent start some rates sit at 0, where dF/dnu diverges (sigma_V ~ sqrt(nu)),
            # and the covariance equations blow up before the rates have risen.
            x[:4] = steady_state(mossy_hz, preset, 1) * 1e-3
        tol = RELAX_TOL if hold_cov_zero else RELAX_TOL2
        steps = _relax2(x, mf, p, RELAX_DT, nsteps, tol, hold_cov_zero)
        if hold_cov_zero:
            x = x[:4].copy()
    if steps < 0:
        raise CmftvbError(
            f"node-curve: no steady state at mossy {mossy_hz:g} Hz within "
            f"{RELAX_MAX_MS / 1000:g} s (the node oscillates or diverges)"
        )
    # polish: zeros of the vector field near the relaxed state
    sol = optimize.root(
        _residual, x, args=(mf, p, order, hold_cov_zero), method="hybr", options={"xtol": 1e-14}
    )
    if (
        sol.success
        and np.all(np.isfinite(sol.x))
        and np.all(sol.x[:4] >= 0)
        and np.max(np.abs(sol.x[:4] - x[:4])) < 1e-6
        and np.max(np.abs(_residual(sol.x, mf, p, order, hold_cov_zero)))
        <= np.max(np.abs(_residual(x, mf, p, order, hold_cov_zero)))
    ):
        x = sol.x
    if order == 2 and not hold_cov_zero and full_state:
        out = np.array(x, dtype=np.float64)
        out[:4] *= 1e3
        out[4:] *= 1e6
        return out
    return np.array(x[:4], dtype=np.float64) * 1e3


def node_curve(mossy_hz, preset: Mapping, order: int | None = None) -> np.ndarray:
    """Steady states for several mossy rates: array (n, 5) of mossy, GrC, GoC, MLI, PC (Hz)."""
    rows = [[m, *steady_state(m, preset, order)] for m in mossy_hz]
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def run_node_curve(args) -> int:
    """``cmftvb node-curve``: print the steady-state table (TSV, Hz) on stdout."""
    preset = apply_overrides(load_preset(args.preset), args.set or [])
    order = args.order if args.order is not None else preset["crbl"]["order"]
    table = node_curve(args.mossy, preset, order)
    out = ["mossy_hz\tgrc_hz\tgoc_hz\tmli_hz\tpc_hz"]
    for row in table:
        out.append(f"{row[0]:g}\t" + "\t".join(f"{v:.6f}" for v in row[1:]))
    sys.stdout.write("\n".join(out) + "\n")
    return 0
