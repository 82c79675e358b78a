"""Steady states of one isolated cerebellar node under constant mossy input (``node-curve``).

The node of MODEL.md §2 gets a constant mossy rate on its GrC and GoC mossy channels, no
parallel-fibre input and no noise. Its rates are integrated (explicit Euler, step 0.1 ms; the
fixed points of the Euler map are exactly the zeros of the vector field) until they stop
changing, then polished with ``scipy.optimize.root`` on the zeros of the vector field. This is
the check of docs/MODEL.md ("Checks of one node"); inputs and outputs of the public functions are
in Hz. The first order starts from a silent node (``INITIAL_KHZ``) unless initial rates are
given; the second order starts from the first-order steady state with zero covariances.

A node can have more than one stable state: the ``published`` node at 4 Hz mossy input settles
at GrC 44.4, GoC 0.020, MLI 172.2, PC 132.6 Hz from silence, but at 8.69, 0.070, 30.71,
120.7 Hz from the authors' initial rates (10, 10, 15, 30 Hz). :func:`scan_fixed_points` finds
every fixed point reachable from a grid of starts (by relaxation, which finds stable states, and
by root finding, which also finds unstable ones) and classifies each by the eigenvalues of the
Jacobian of the first-order vector field.

``cmftvb node-curve --preset P --order {1,2} [--set KEY=VALUE ...] [--initial NAME=HZ ...]
--mossy HZ [HZ ...]`` prints a tab-separated table ``mossy_hz grc_hz goc_hz mli_hz pc_hz`` on
stdout; with ``--scan`` one row per fixed point, with ``stable`` and ``max_re_eig_per_ms``.
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
from cmftvb.connectome.validate import finite_number
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
#: the four populations, in the order of the state vector and of every table.
POPULATIONS = ("GrC", "GoC", "MLI", "PC")
#: Hz, the per-population start values of :func:`scan_fixed_points` (every combination).
SCAN_GRID_HZ = (0.0, 3.0, 30.0, 300.0)
#: Two fixed points are the same if every rate agrees within this many Hz.
SAME_POINT_HZ = 1e-3


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
    initial_hz: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Steady-state rates (GrC, GoC, MLI, PC) in Hz of an isolated node, constant mossy input.

    ``mossy_hz``: mossy rate (Hz) on the GrC and GoC mossy channels; parallel fibres 0.
    ``order``: 1 (first order) or 2 (second order; default ``preset["crbl"]["order"]``).
    ``hold_cov_zero`` (order 2): covariances held at 0, which must reproduce order 1.
    ``full_state`` (order 2): return the 14 second-order states (rates Hz, covariances Hz^2).
    ``initial_hz``: initial rates (Hz) by population name (``GrC``, ``GoC``, ``MLI``, ``PC``);
    populations not named start at 0 Hz. Order 2 continues from the first-order state reached
    from these rates. Where the node is multistable, the state reached depends on them.
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
    start_khz = initial_khz(initial_hz)
    if order == 1:
        x = start_khz.copy()
        steps = _relax1(x, mf, p, RELAX_DT, nsteps, RELAX_TOL)
    else:
        x = np.zeros(crbl.NSTATE2)
        if hold_cov_zero:
            x[:4] = start_khz
        else:
            # continuation from the first-order fixed point with zero covariances: from a
            # silent start some rates sit at 0, where dF/dnu diverges (sigma_V ~ sqrt(nu)),
            # and the covariance equations blow up before the rates have risen.
            x[:4] = steady_state(mossy_hz, preset, 1, initial_hz=initial_hz) * 1e-3
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


def initial_khz(initial_hz: Mapping[str, float] | None) -> np.ndarray:
    """Initial rates (kHz, order GrC, GoC, MLI, PC) from ``{name: Hz}``; unnamed ones 0.

    Raises :class:`CmftvbError` naming ``--initial`` for an unknown name or a rate that is not
    finite and >= 0.
    """
    x = np.array(INITIAL_KHZ, dtype=np.float64)
    for name, value in (initial_hz or {}).items():
        if name not in POPULATIONS:
            raise CmftvbError(
                f"--initial {name}: unknown population (expected one of {', '.join(POPULATIONS)})"
            )
        hz = finite_number(value, f"--initial {name}", "the rate (Hz)")
        if hz < 0:
            raise CmftvbError(f"--initial {name}={value}: rates must be finite and >= 0 Hz")
        x[POPULATIONS.index(name)] = hz * 1e-3
    return x


def jacobian(rates_hz, mossy_hz: float, preset: Mapping) -> np.ndarray:
    """Jacobian (1/ms) of the first-order vector field at ``rates_hz`` (GrC, GoC, MLI, PC, Hz).

    ``J[l, m] = d(d nu_l/dt)/d nu_m`` by central differences of :func:`crbl.dfun` with a step
    of 1e-6 relative (at least 1e-9 kHz); one-sided (second-order accurate) where a central
    stencil would reach a negative rate. The fixed point is stable when every eigenvalue has a
    negative real part.
    """
    p = crbl.pack(preset)
    mf = float(mossy_hz) * 1e-3
    x0 = np.asarray(rates_hz, dtype=np.float64) * 1e-3

    def f(x):
        return np.array(crbl.dfun(x[0], x[1], x[2], x[3], mf, 0.0, p))

    jac = np.empty((4, 4))
    for m in range(4):
        h = max(1e-6 * abs(x0[m]), 1e-9)
        e = np.zeros(4)
        e[m] = h
        if x0[m] - h >= 0:
            jac[:, m] = (f(x0 + e) - f(x0 - e)) / (2 * h)
        else:  # forward, second order: (-3 f0 + 4 f1 - f2) / 2h
            jac[:, m] = (-3 * f(x0) + 4 * f(x0 + e) - f(x0 + 2 * e)) / (2 * h)
    return jac


def scan_fixed_points(mossy_hz: float, preset: Mapping, grid_hz=SCAN_GRID_HZ) -> list[dict]:
    """Every distinct first-order fixed point found from a grid of starts, with its stability.

    From each combination of ``grid_hz`` (Hz) for the four populations, the node is relaxed
    (which reaches stable states) and the zeros of the vector field are sought directly with
    ``scipy.optimize.root`` (which also reaches unstable ones); solutions with a negative rate
    or a residual above 1e-12 kHz/ms are dropped, and points within ``SAME_POINT_HZ`` of each
    other are merged. Returns dicts ``{"rates_hz": array(4), "eigenvalues": array(4) (1/ms),
    "stable": bool}``, stable states first, each group sorted by GrC rate. The figure code uses
    ``len([q for q in scan_fixed_points(m, pr) if q["stable"]]) > 1`` to mark multistable
    inputs.
    """
    if not (isinstance(mossy_hz, int | float) and math.isfinite(mossy_hz)) or mossy_hz < 0:
        raise CmftvbError(f"--mossy: rates must be finite and >= 0 Hz, got {mossy_hz!r}")
    p = crbl.pack(preset)
    mf = float(mossy_hz) * 1e-3
    candidates: list[np.ndarray] = []
    grid = [float(g) for g in grid_hz]
    for starts in np.array(np.meshgrid(grid, grid, grid, grid, indexing="ij")).reshape(4, -1).T:
        init = dict(zip(POPULATIONS, starts, strict=True))
        try:
            candidates.append(steady_state(mossy_hz, preset, 1, initial_hz=init) * 1e-3)
        except CmftvbError:
            pass  # no settling from here (oscillation): root finding may still find a point
        sol = optimize.root(
            _residual,
            starts * 1e-3,
            args=(mf, p, 1, False),
            method="hybr",
            options={"xtol": 1e-14},
        )
        if sol.success and np.all(np.isfinite(sol.x)) and np.all(sol.x >= 0):
            candidates.append(np.asarray(sol.x, dtype=np.float64))
    points: list[np.ndarray] = []
    for x in candidates:
        if np.max(np.abs(_residual(x, mf, p, 1, False))) > 1e-12:
            continue
        if not any(np.max(np.abs(x - q)) * 1e3 < SAME_POINT_HZ for q in points):
            points.append(x)
    out = []
    for x in points:
        eig = np.linalg.eigvals(jacobian(x * 1e3, mossy_hz, preset))
        out.append({"rates_hz": x * 1e3, "eigenvalues": eig, "stable": bool(eig.real.max() < 0)})
    out.sort(key=lambda q: (not q["stable"], q["rates_hz"][0]))
    return out


def node_curve(mossy_hz, preset: Mapping, order: int | None = None, initial_hz=None) -> np.ndarray:
    """Steady states for several mossy rates: array (n, 5) of mossy, GrC, GoC, MLI, PC (Hz).

    ``initial_hz``: initial rates by population name, as in :func:`steady_state`.
    """
    rows = [[m, *steady_state(m, preset, order, initial_hz=initial_hz)] for m in mossy_hz]
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


#: s, first compilation of the relaxation (measured about 23 s on a 2-core VM).
COMPILE_ESTIMATE_S = 25


def _needs_compiling(dispatcher) -> bool:
    """Whether numba's cache for ``dispatcher`` is empty (its next call compiles)."""
    try:
        return not dispatcher._cache._cache_file._load_index()
    except Exception:  # numba internals moved: just do not announce
        return False


def run_node_curve(args) -> int:
    """``cmftvb node-curve``: print the steady-state table (TSV, Hz) on stdout."""
    preset = apply_overrides(load_preset(args.preset), args.set or [])
    order = args.order if args.order is not None else preset["crbl"]["order"]
    initial: dict[str, float] = {}
    for name, value in getattr(args, "initial", None) or []:
        if name in initial:
            raise CmftvbError(f"--initial {name}: given twice")
        initial[name] = value
    initial_khz(initial)  # refuse bad names and values before any work
    if _needs_compiling(_relax2 if int(order) == 2 else _relax1):
        print(
            "cmftvb node-curve: compiling the node model (once per installation, about "
            f"{COMPILE_ESTIMATE_S} s)",
            file=sys.stderr,
            flush=True,
        )
    if getattr(args, "scan", False):
        if int(order) != 1:
            raise CmftvbError("--scan: first order only (use --order 1)")
        if initial:
            raise CmftvbError("--scan starts from a grid of rates: drop --initial")
        out = ["mossy_hz\tgrc_hz\tgoc_hz\tmli_hz\tpc_hz\tstable\tmax_re_eig_per_ms"]
        for m in args.mossy:
            for q in scan_fixed_points(m, preset):
                r = q["rates_hz"]
                out.append(
                    f"{m:g}\t"
                    + "\t".join(f"{v:.6f}" for v in r)
                    + f"\t{'yes' if q['stable'] else 'no'}\t{q['eigenvalues'].real.max():.4g}"
                )
        sys.stdout.write("\n".join(out) + "\n")
        return 0
    table = node_curve(args.mossy, preset, order, initial_hz=initial or None)
    out = ["mossy_hz\tgrc_hz\tgoc_hz\tmli_hz\tpc_hz"]
    for row in table:
        out.append(f"{row[0]:g}\t" + "\t".join(f"{v:.6f}" for v in row[1:]))
    sys.stdout.write("\n".join(out) + "\n")
    return 0
