"""Feedback inhibition control (FIC) and the critical coupling G* (MODEL.md §3, issue 10).

Deco et al. 2014 (J Neurosci 34:7886) give every Wong-Wang node its own local inhibitory
weight ``J_i`` (nA) such that its excitatory pool fires at a resting rate; their criterion
``I_E - b_E/a_E = -0.026 ± 0.005`` nA gives ``r_E = H_E(a_E I_E - b_E) = 3.0631 Hz``, the default
target (preset key ``wongwang.fic_target_hz``; switch ``wongwang.fic``). This module computes
that ``J_i`` per node for a given network (homogeneous or cMF) and global coupling ``G``, and the
coupling ``G*`` above which the FIC state stops being stable.

Algorithm of :func:`tune` (deterministic, closed form except for two small root solves):

1. ``x_E*`` (nA): the root of ``H_E(a_E x - b_E) = r_target`` (monotone, Brent's method).
2. ``S_E*``: with ``r_E = r_target`` in every Wong-Wang node, ``dS_E/dt = 0`` gives
   ``S_E* = gamma_E tau_E r / (1 + gamma_E tau_E r)`` (dimensionless), the same in every node.
3. ``S_I*``: the root of ``dS_I/dt = -S_I/tau_I + gamma_I H_I(J_N S_E* - S_I + W_I I_0 +
   lamda I_coupling) = 0``; the left side decreases strictly in ``S_I``, so the root is unique
   (vectorised bisection to round-off). With ``lamda = 0`` (the presets) it is the same in every
   node and is solved before the coupling is known.
4. Cerebellar steady state (cMF networks only): the cerebellar-cortex nodes are driven by the
   network's projections (:func:`cmftvb.network.expand_edges`: typically mossy input from the
   Wong-Wang nodes at ``S_E*`` and parallel fibres among themselves) plus the mean of the
   background mossy drive (``crbl.background``: 0 for ``ou`` and ``none``, ``mean`` for
   ``constant``). Their rates solve ``F(nu, mf(nu), pf(nu)) = nu`` (first-order equations,
   MODEL.md §2.1): a damped fixed-point iteration ``nu <- nu + 0.3 (F - nu)`` (forward Euler of
   the cerebellar dynamics with step 0.3 T, which follows the attracting state) from
   ``(GrC, GoC, MLI, PC) = (1, 5, 15, 30) Hz``, then Powell's hybrid method
   (``scipy.optimize.root``) polishes it. The cerebellar subnetwork does not depend on ``J_i``;
   with the shipped tables it does not depend on ``G`` either (no projection into a cerebellar
   input is scaled by G).
5. Coupling input: ``I_coupling,k = G J_N c_k`` (nA) with ``c_k`` the sum over the edges of the
   projection table reaching node ``k``'s ``I_coupling`` of ``W[k, j] scale sign x_j`` (``x_j``
   = ``S_E*``, ``S_I*`` or a cerebellar rate in kHz, whatever the projection's source variable):
   the routing, scales and signs (e.g. the DCN's -1 from the cerebellar cortex) come from the
   network's projection table, not from node roles.
6. ``J_i,k = (w_+ J_N S_E* + W_E I_0 + I_coupling,k + I_ext - x_E*) / S_I*,k`` (nA).

Every ``J_i`` must be finite and positive, and the assembled network's time derivatives at the
resulting state must vanish (residual below :data:`RESIDUAL_TOL` per ms); otherwise
:class:`cmftvb.CmftvbError` is raised with one line naming the node.

The fixed point does not depend on conduction delays (a constant history is delay-free), so
``J_i`` holds with or without them.

Critical coupling (:func:`critical_G`): the Jacobian of the delay-free deterministic network at
the FIC fixed point (:func:`jacobian`, FIC retuned at every ``G``) is evaluated along ``G`` and
``G*`` is the smallest ``G`` in ``[lo, hi]`` at which its spectral abscissa (largest real part
of an eigenvalue) turns positive, by bisection. At the sample subject and the demo subjects the
eigenvalue that crosses is real (a steady-state bifurcation). Delays do not move such a crossing:
the characteristic function of the delayed linearisation, ``Delta(s) = det(s I - L - sum_d B_d
exp(-s d))``, equals ``det(-J)`` at ``s = 0`` for any delays, so a zero eigenvalue of the
delay-free ``J`` at ``G*`` is a zero root of the delayed equation at the same ``G``; and above
``G*``, where ``det(-J) < 0`` (one real eigenvalue crossed), ``Delta`` is negative at ``s = 0``
and positive as ``s -> +inf``, so the delayed network has a real positive root too. Delays can
only add an oscillatory instability below ``G*``; tests/test_fic.py checks by simulation with
delays that the network is stable at ``0.9 G*`` and runs away at ``1.1 G*``.

State layout of :func:`jacobian`: node by node, each node's variables in the order of
:data:`cmftvb.network.MODEL_VARS` (Wong-Wang ``S_E, S_I``; cerebellar ``GrC, GoC, MLI, PC`` in
kHz); :func:`state_labels` names them. The background Ornstein-Uhlenbeck variable of cMF nodes
is left out: nothing feeds it, so it only adds the stable eigenvalue ``-1/tau_OU``.

Units: time ms, Wong-Wang currents nA, rates Hz in results (kHz inside, as the engine), J in
1/ms.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import optimize

from cmftvb import CmftvbError, _blas
from cmftvb import network as _net
from cmftvb.models import crbl, wongwang

#: Default target rate (Hz): Deco et al. 2014, I_E - b_E/a_E = -0.026 nA with a_E 310 nC^-1,
#: b_E 125 Hz, d_E 0.16 s gives H_E = 8.06 / (exp(0.16 * 8.06) - 1) = 3.0631 Hz.
DEFAULT_TARGET_HZ = 3.0631
#: Largest accepted |dx/dt| (per ms, engine units) of the assembled network at the FIC state.
RESIDUAL_TOL = 1e-9
#: Cerebellar steady state: damping of the fixed-point iteration, its sweeps, tolerance (kHz).
CRBL_DAMPING = 0.3
CRBL_SWEEPS = 400
CRBL_TOL = 1e-12
#: Initial cerebellar rates (kHz) of the iteration: GrC, GoC, MLI, PC.
CRBL_START = (0.001, 0.005, 0.015, 0.03)
#: Relative finite-difference step for the cerebellar transfer functions' derivatives.
FD_REL = 1e-6
_SERIES_Z = 1e-3


def _h(y: np.ndarray, d: float) -> np.ndarray:
    """``y / (1 - exp(-d y))`` (Hz) with its removable singularity at 0 (value ``1/d``)."""
    y = np.asarray(y, dtype=np.float64)
    z = d * y
    small = np.abs(z) < _SERIES_Z
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        out = y / -np.expm1(-z)
    z2 = z * z
    ser = (1.0 + 0.5 * z + z2 * (1.0 / 12.0 - z2 * (1.0 / 720.0 - z2 / 30240.0))) / d
    return np.where(small, ser, out)


def _dh(y: np.ndarray, d: float) -> np.ndarray:
    """``dH/dy`` of :func:`_h` (Hz per Hz, dimensionless), series near ``y = 0``."""
    y = np.asarray(y, dtype=np.float64)
    z = d * y
    small = np.abs(z) < _SERIES_Z
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        em = -np.expm1(-z)  # 1 - exp(-z)
        out = (em - z * np.exp(-z)) / (em * em)
        out = np.where(np.isfinite(out), out, np.where(z > 0, 1.0, 0.0))
    z2 = z * z
    ser = 0.5 + z / 6.0 - z * z2 / 180.0 + z * z2 * z2 / 5040.0
    return np.where(small, ser, out)


def target_of(network: _net.NetworkSpec, target_hz: float | None = None) -> float:
    """The FIC target (Hz): ``target_hz`` or the preset's ``wongwang.fic_target_hz``."""
    if target_hz is None:
        target_hz = network.params.get("wongwang", {}).get("fic_target_hz", DEFAULT_TARGET_HZ)
    t = float(target_hz)
    if not (math.isfinite(t) and t > 0):
        raise CmftvbError(f"fic target_hz: must be a positive finite rate in Hz, got {target_hz!r}")
    return t


def fic_enabled(network: _net.NetworkSpec) -> bool:
    """The preset's switch ``wongwang.fic`` (false when the key is absent)."""
    return bool(network.params.get("wongwang", {}).get("fic", False))


def state_labels(network: _net.NetworkSpec) -> list[str]:
    """``"label.var"`` for every entry of the state vector of :func:`jacobian`."""
    return [
        f"{lab}.{v}"
        for lab, m in zip(network.labels, network.node_model, strict=True)
        for v in _net.MODEL_VARS[m]
    ]


class _System:
    """The delay-free deterministic network as data: state layout, coupling, parameters."""

    def __init__(self, connectome: Any, network: _net.NetworkSpec):
        params = network.params
        self.network = network
        self.labels = list(network.labels)
        self.models = np.asarray(network.node_model)
        n = network.n_nodes
        self.n = n
        self.ww = np.flatnonzero(self.models == "wongwang")
        self.cb = np.flatnonzero(self.models == "crbl")
        # state layout: node by node
        offs = np.zeros(n + 1, dtype=np.int64)
        for k, m in enumerate(self.models):
            offs[k + 1] = offs[k] + len(_net.MODEL_VARS[m])
        self.offs = offs
        self.nstate = int(offs[-1])
        # input layout: one slot per (node, model input)
        ioffs = np.zeros(n + 1, dtype=np.int64)
        for k, m in enumerate(self.models):
            ioffs[k + 1] = ioffs[k] + len(_net.MODEL_INPUTS[m])
        self.ioffs = ioffs
        integ = params["integration"]
        edges = _net.expand_edges(connectome, network, float(integ["dt"]), float(integ["speed"]))
        A = np.zeros((int(ioffs[-1]), self.nstate))
        np.add.at(
            A, (ioffs[edges.tgt] + edges.tgt_input, offs[edges.src] + edges.src_var), edges.weight
        )
        self.A = A  # inputs = A @ state (+ background)
        self.bg = np.zeros(int(ioffs[-1]))
        self.p_ww = wongwang.pack(params, G=0.0)
        sw = params["switches"]
        self.sign_e = 1.0 if sw.get("ww_sign_error") else -1.0
        if self.cb.size:
            cr = params["crbl"]
            if int(cr.get("order", 1)) != 1:
                raise CmftvbError(
                    "fic: crbl.order must be 1 (the cerebellar steady state of the "
                    f"second-order equations is not supported), got {cr.get('order')!r}"
                )
            self.p_cb = crbl.pack(params)
            bg = cr.get("background", {"kind": "none"})
            mean = float(bg.get("mean", 0.0)) if bg.get("kind") == "constant" else 0.0
            self.bg[ioffs[self.cb] + _net.MODEL_INPUTS["crbl"].index("mf")] = mean
        # state indices
        self.i_se = offs[self.ww]
        self.i_si = offs[self.ww] + 1
        self.cb_state = offs[self.cb][:, None] + np.arange(4)[None, :]  # (n_cb, 4)
        self.in_ww = ioffs[self.ww]  # I_coupling slot of each WW node
        self.in_mf = ioffs[self.cb] + _net.MODEL_INPUTS["crbl"].index("mf")
        self.in_pf = ioffs[self.cb] + _net.MODEL_INPUTS["crbl"].index("pf")
        # does any projection carry S_I?
        self.uses_si = bool(np.any(A[:, self.i_si] != 0)) if self.ww.size else False

    # ---- pieces of the right-hand side ------------------------------------------------------
    def inputs(self, x: np.ndarray) -> np.ndarray:
        return self.A @ x + self.bg

    def ww_rates(self, se, si, c, G, J_i):
        p = self.p_ww
        cc = G * p[wongwang.J_N] * c
        x_e = (
            p[wongwang.W_PLUS] * p[wongwang.J_N] * se
            - J_i * si
            + p[wongwang.W_E] * p[wongwang.I_0]
            + cc
            + p[wongwang.I_EXT]
        )
        x_i = p[wongwang.J_N] * se - si + p[wongwang.W_I] * p[wongwang.I_0] + p[wongwang.LAMDA] * cc
        y_e = p[wongwang.A_E] * x_e - p[wongwang.B_E]
        y_i = p[wongwang.A_I] * x_i - p[wongwang.B_I]
        return y_e, y_i

    def rhs(self, x: np.ndarray, G: float, J_i: np.ndarray) -> np.ndarray:
        """Time derivatives (per ms) of the delay-free deterministic network."""
        p = self.p_ww
        u = self.inputs(x)
        out = np.zeros_like(x)
        if self.ww.size:
            se, si = x[self.i_se], x[self.i_si]
            y_e, y_i = self.ww_rates(se, si, u[self.in_ww], G, J_i[self.ww])
            he, hi = _h(y_e, p[wongwang.D_E]), _h(y_i, p[wongwang.D_I])
            out[self.i_se] = (
                self.sign_e * se / p[wongwang.TAU_E] + (1 - se) * p[wongwang.GAMMA_E] * he
            )
            out[self.i_si] = -si / p[wongwang.TAU_I] + p[wongwang.GAMMA_I] * hi
        if self.cb.size:
            nu = x[self.cb_state]
            d = crbl.dfun_nodes(*nu.T, u[self.in_mf], u[self.in_pf], self.p_cb)
            out[self.cb_state] = d.T
        return out

    def crbl_transfer(self, nu, mf, pf):
        return crbl.transfer_nodes(*nu.T, np.maximum(mf, 0.0), np.maximum(pf, 0.0), self.p_cb).T

    def crbl_derivs(self, nu, mf, pf):
        """dF/d(GrC, GoC, MLI, PC, mf, pf) per cerebellar node: (n_cb, 4, 6), central FD."""
        args = np.concatenate([nu, mf[:, None], pf[:, None]], axis=1)  # (n_cb, 6)
        out = np.empty((args.shape[0], 4, 6))
        for m in range(6):
            h = FD_REL * np.maximum(np.abs(args[:, m]), 1e-3)
            central = args[:, m] - h >= 0.0
            lo = args.copy()
            hi = args.copy()
            hi[:, m] += h
            lo[:, m] = np.where(central, args[:, m] - h, args[:, m])
            f_hi = self.crbl_transfer(hi[:, :4], hi[:, 4], hi[:, 5])
            f_lo = self.crbl_transfer(lo[:, :4], lo[:, 4], lo[:, 5])
            out[:, :, m] = (f_hi - f_lo) / np.where(central, 2 * h, h)[:, None]
        return out


@dataclasses.dataclass
class FicResult:
    """FIC state of one network at one ``G`` (see the module docstring for the algorithm).

    Per node arrays, shape (N,) (``crbl_rates_hz`` (N, 4)), in node order; NaN where a
    quantity does not apply (Wong-Wang quantities at cerebellar nodes and vice versa):

    - ``J_i``: local inhibitory weight (nA) of each Wong-Wang node;
    - ``S_E``, ``S_I``: gating variables at the fixed point (dimensionless);
    - ``I_coupling``: coupling current of each Wong-Wang node, ``G J_N c`` (nA);
    - ``mf_hz``, ``pf_hz``: mossy and parallel-fibre input of each cerebellar node (Hz,
      background mean included in ``mf_hz``);
    - ``crbl_rates_hz``: GrC, GoC, MLI, PC steady-state rates of each cerebellar node (Hz).

    Scalars: ``G``, ``target_hz`` (Hz), ``x_E`` (nA, the excitatory input at the target),
    ``iterations`` (cerebellar fixed-point sweeps plus root-solver evaluations; 0 without
    cerebellar nodes), ``residual`` (max |dx/dt| of the assembled network at the state, per ms),
    ``converged``. :meth:`to_arrays` / :meth:`meta` / :meth:`from_saved` round-trip through
    ``cmftvb.io.save_npz`` / ``load_npz``.
    """

    G: float
    target_hz: float
    x_E: float
    J_i: np.ndarray
    S_E: np.ndarray
    S_I: np.ndarray
    I_coupling: np.ndarray
    mf_hz: np.ndarray
    pf_hz: np.ndarray
    crbl_rates_hz: np.ndarray
    iterations: int
    residual: float
    converged: bool
    labels: list[str]
    node_model: list[str]
    model: str
    preset: str
    connectome_digest: str

    ARRAYS = ("J_i", "S_E", "S_I", "I_coupling", "mf_hz", "pf_hz", "crbl_rates_hz")

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The per-node arrays (float64), for ``cmftvb.io.save_npz``."""
        return {k: np.asarray(getattr(self, k), dtype=np.float64) for k in self.ARRAYS}

    def meta(self) -> dict[str, Any]:
        """JSON-able scalars and node annotations, for ``cmftvb.io.save_npz``."""
        return {
            "kind": "fic",
            "G": float(self.G),
            "target_hz": float(self.target_hz),
            "x_E_nA": float(self.x_E),
            "iterations": int(self.iterations),
            "residual_per_ms": float(self.residual),
            "converged": bool(self.converged),
            "labels": list(self.labels),
            "node_model": list(self.node_model),
            "model": self.model,
            "preset": self.preset,
            "connectome_digest": self.connectome_digest,
            "units": {"J_i": "nA", "I_coupling": "nA", "rates": "Hz", "S_E": "1", "S_I": "1"},
            "method": "closed form at the deterministic delay-free fixed point (cmftvb.fic)",
        }

    @classmethod
    def from_saved(cls, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> FicResult:
        """Rebuild from :meth:`to_arrays` and :meth:`meta` (e.g. ``cmftvb.io.load_npz``)."""
        missing = [k for k in cls.ARRAYS if k not in arrays]
        if missing or meta.get("kind") != "fic":
            raise CmftvbError(f"FIC file: not a FicResult (missing {missing or 'kind: fic'})")
        return cls(
            G=float(meta["G"]),
            target_hz=float(meta["target_hz"]),
            x_E=float(meta["x_E_nA"]),
            **{k: np.asarray(arrays[k], dtype=np.float64) for k in cls.ARRAYS},
            iterations=int(meta["iterations"]),
            residual=float(meta["residual_per_ms"]),
            converged=bool(meta["converged"]),
            labels=list(meta["labels"]),
            node_model=list(meta["node_model"]),
            model=str(meta["model"]),
            preset=str(meta["preset"]),
            connectome_digest=str(meta["connectome_digest"]),
        )

    def state(self) -> np.ndarray:
        """The fixed point as the state vector of :func:`jacobian` (rates in kHz)."""
        out = []
        for k, m in enumerate(self.node_model):
            if m == "wongwang":
                out += [self.S_E[k], self.S_I[k]]
            else:
                out += list(self.crbl_rates_hz[k] / 1000.0)
        return np.asarray(out, dtype=np.float64)


def _solve_s_i(sys_: _System, se: float, icoup: np.ndarray) -> np.ndarray:
    """Root of dS_I/dt = 0 per entry of ``icoup`` (nA), by bisection to round-off."""
    p = sys_.p_ww
    base = p[wongwang.J_N] * se + p[wongwang.W_I] * p[wongwang.I_0] + p[wongwang.LAMDA] * icoup

    def g(si):
        return -si / p[wongwang.TAU_I] + p[wongwang.GAMMA_I] * _h(
            p[wongwang.A_I] * (base - si) - p[wongwang.B_I], p[wongwang.D_I]
        )

    lo = np.zeros_like(base)
    # g(0) > 0 and g is decreasing; g(hi) <= 0 at hi = gamma_I tau_I H_I(x_I(0))
    h0 = _h(p[wongwang.A_I] * base - p[wongwang.B_I], p[wongwang.D_I])
    hi = p[wongwang.GAMMA_I] * p[wongwang.TAU_I] * h0 * 1.000001 + 1e-300
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        pos = g(mid) > 0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
        if np.all(hi - lo <= 4e-16 * np.maximum(hi, 1e-300)):
            break
    return 0.5 * (lo + hi)


def _crbl_steady(sys_: _System, x: np.ndarray) -> tuple[np.ndarray, int, float]:
    """Cerebellar rates (kHz, (n_cb, 4)) at steady state given the Wong-Wang part of ``x``."""
    nu = np.tile(np.asarray(CRBL_START, dtype=np.float64), (sys_.cb.size, 1))
    x = x.copy()

    def resid(v):
        x[sys_.cb_state] = v.reshape(-1, 4)
        u = sys_.inputs(x)
        return sys_.crbl_transfer(v.reshape(-1, 4), u[sys_.in_mf], u[sys_.in_pf]) - v.reshape(-1, 4)

    it = 0
    for it in range(1, CRBL_SWEEPS + 1):  # noqa: B007
        r = resid(nu.ravel())
        nu = nu + CRBL_DAMPING * r
        if np.max(np.abs(r)) < CRBL_TOL:
            break
    sol = optimize.root(lambda v: resid(v).ravel(), nu.ravel(), method="hybr", tol=1e-14)
    nu = sol.x.reshape(-1, 4)
    r = np.abs(resid(sol.x))
    return nu, it + int(sol.nfev), r


def tune(
    connectome: Any, network: _net.NetworkSpec, G: float, *, target_hz: float | None = None
) -> FicResult:
    """FIC ``J_i`` per Wong-Wang node so that every node fires at ``target_hz`` (Hz).

    ``target_hz`` defaults to the preset's ``wongwang.fic_target_hz``. Works for any
    projection table (homogeneous and cMF networks). See the module docstring for the
    algorithm. Raises :class:`CmftvbError` (one line naming the node) when a ``J_i`` is not
    finite and positive, the cerebellar steady state does not converge, or the assembled
    network is not at rest at the result.
    """
    G = float(G)
    if not math.isfinite(G) or G < 0:
        raise CmftvbError(f"fic: G must be a finite number >= 0, got {G!r}")
    target = target_of(network, target_hz)
    sys_ = _System(connectome, network)
    p = sys_.p_ww
    n = sys_.n
    x_e, se = _target_state(sys_, target)
    lam = p[wongwang.LAMDA]
    if sys_.uses_si and lam != 0.0:
        raise CmftvbError(
            "fic: a projection carries S_I while wongwang.lamda != 0: the S_I fixed point is then "
            "coupled across nodes, which cmftvb.fic does not solve"
        )
    x = np.zeros(sys_.nstate)
    x[sys_.i_se] = se
    # 3. S_I* before the coupling is known (exact when lamda == 0)
    si0 = float(_solve_s_i(sys_, se, np.zeros(1))[0])
    x[sys_.i_si] = si0
    # 4. cerebellar steady state
    nu, iterations = _crbl_state(sys_, x)
    # 5. coupling input
    u = sys_.inputs(x)
    icoup = G * p[wongwang.J_N] * u[sys_.in_ww]
    si = np.full(sys_.ww.size, si0)
    if lam != 0.0:
        si = _solve_s_i(sys_, se, icoup)
        x[sys_.i_si] = si
    # 6. J_i in closed form
    J_i = _closed_form_j_i(sys_, G, target, x_e, se, si, icoup)
    residual = _check_at_rest(sys_, x, G, J_i)

    def per_node(vals, idx):
        out = np.full(n, np.nan)
        out[idx] = vals
        return out

    rates = np.full((n, 4), np.nan)
    rates[sys_.cb] = nu * 1000.0
    return FicResult(
        G=G,
        target_hz=target,
        x_E=float(x_e),
        J_i=J_i,
        S_E=per_node(se, sys_.ww),
        S_I=per_node(si, sys_.ww),
        I_coupling=per_node(icoup, sys_.ww),
        mf_hz=per_node(u[sys_.in_mf] * 1000.0, sys_.cb),
        pf_hz=per_node(u[sys_.in_pf] * 1000.0, sys_.cb),
        crbl_rates_hz=rates,
        iterations=int(iterations),
        residual=residual,
        converged=True,
        labels=list(network.labels),
        node_model=list(network.node_model),
        model=network.model,
        preset=network.preset,
        connectome_digest=network.connectome_digest,
    )


def _target_state(sys_: _System, target: float) -> tuple[float, float]:
    """Steps 1-2: the excitatory input x_E* (nA) giving ``target`` Hz, and S_E* there."""
    p = sys_.p_ww
    d_e, b_e, a_e = p[wongwang.D_E], p[wongwang.B_E], p[wongwang.A_E]
    y = optimize.brentq(
        lambda yy: float(_h(yy, d_e)) - target,
        -1e4,
        1e4 + target,
        xtol=1e-13,
        rtol=1e-15,
        maxiter=500,
    )
    x_e = (y + b_e) / a_e
    gr = p[wongwang.GAMMA_E] * target
    se = gr / (gr - sys_.sign_e / p[wongwang.TAU_E])
    if not 0.0 < se < 1.0:
        raise CmftvbError(
            f"fic: no Wong-Wang fixed point with r_E = {target:g} Hz (S_E = {se:g} is outside "
            "(0, 1); switches.ww_sign_error?)"
        )
    return x_e, se


def _first_bad(sys_: _System, bad: np.ndarray, nodes: np.ndarray) -> tuple[int, str]:
    """Position ``i`` of the first True in ``bad`` (one entry per node of ``nodes``) and that
    node named for an error message: ``node '<label>' (index <k>)``."""
    i = int(np.flatnonzero(bad)[0])
    k = int(nodes[i])
    return i, f"node {sys_.labels[k]!r} (index {k})"


def _crbl_state(sys_: _System, x: np.ndarray) -> tuple[np.ndarray, int]:
    """Step 4: the cerebellar steady state (kHz, written into ``x``), refused unconverged."""
    if not sys_.cb.size:
        return np.zeros((0, 4)), 0
    nu, iterations, r = _crbl_steady(sys_, x)
    bad = ~(np.isfinite(nu).all(axis=1) & (r.max(axis=1) < 1e-10) & (nu >= 0).all(axis=1))
    if bad.any():
        i, node = _first_bad(sys_, bad, sys_.cb)
        raise CmftvbError(
            f"fic: cerebellar steady state did not converge at {node}: |F - nu| = "
            f"{float(np.max(r[i])) * 1000:.3g} Hz after {iterations} iterations"
        )
    x[sys_.cb_state] = nu
    return nu, iterations


def _closed_form_j_i(sys_, G, target, x_e, se, si, icoup) -> np.ndarray:
    """Step 6: J_i = (w+ J_N S_E* + W_E I_0 + I_coupling + I_ext - x_E*) / S_I* (nA), per node
    (NaN at non-Wong-Wang nodes); refused, naming the node, unless finite and positive."""
    p = sys_.p_ww
    num = (
        p[wongwang.W_PLUS] * p[wongwang.J_N] * se
        + p[wongwang.W_E] * p[wongwang.I_0]
        + icoup
        + p[wongwang.I_EXT]
        - x_e
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        jw = num / si
    bad = ~(np.isfinite(jw) & (jw > 0))
    if bad.any():
        i, node = _first_bad(sys_, bad, sys_.ww)
        raise CmftvbError(
            f"fic: {node} needs J_i = {jw[i]:.4g} nA at G {G:g} "
            f"(coupling input {icoup[i]:.4g} nA): no positive local inhibition puts it at "
            f"{target:g} Hz ({int(bad.sum())} node(s) fail)"
        )
    J_i = np.full(sys_.n, np.nan)
    J_i[sys_.ww] = jw
    return J_i


def _check_at_rest(sys_: _System, x: np.ndarray, G: float, J_i: np.ndarray) -> float:
    """Largest |dx/dt| (per ms) of the assembled network at the FIC state; refused above
    RESIDUAL_TOL, naming the node."""
    J_full = np.where(np.isnan(J_i), 0.0, J_i)
    res_vec = np.abs(sys_.rhs(x, G, J_full))
    residual = float(res_vec.max()) if res_vec.size else 0.0
    if not residual < RESIDUAL_TOL:
        i = (
            int(np.argmax(res_vec))
            if np.isfinite(res_vec).all()
            else int(np.flatnonzero(~np.isfinite(res_vec))[0])
        )
        k = int(np.searchsorted(sys_.offs, i, side="right") - 1)
        raise CmftvbError(
            f"fic: node {sys_.labels[k]!r} (index {k}) is not at rest at the FIC state "
            f"(|dx/dt| = {residual:.3g} per ms)"
        )
    return residual


def jacobian(
    connectome: Any, network: _net.NetworkSpec, G: float, fic_result: FicResult
) -> np.ndarray:
    """Jacobian (per ms) of the delay-free deterministic network at the FIC fixed point.

    Square, of the size of the state vector (layout: :func:`state_labels`). Wong-Wang blocks
    are analytic; the cerebellar transfer functions' derivatives are central differences
    (relative step :data:`FD_REL`). The coupling enters as ``J = L + B A``: ``L`` the local
    blocks, ``A`` the projection table (inputs per state), ``B`` the inputs' local effect.
    """
    if fic_result.connectome_digest != network.connectome_digest or list(
        fic_result.node_model
    ) != list(network.node_model):
        raise CmftvbError("fic.jacobian: the FIC result belongs to another network")
    G = float(G)
    if G != fic_result.G:
        raise CmftvbError(
            f"fic.jacobian: the FIC result was tuned at G {fic_result.G:g}, not at G {G:g} "
            "(its state is a fixed point only there)"
        )
    sys_ = _System(connectome, network)
    p = sys_.p_ww
    x = fic_result.state()
    u = sys_.inputs(x)
    L = np.zeros((sys_.nstate, sys_.nstate))
    B = np.zeros((sys_.nstate, sys_.A.shape[0]))
    if sys_.ww.size:
        se, si, c = x[sys_.i_se], x[sys_.i_si], u[sys_.in_ww]
        ji = fic_result.J_i[sys_.ww]
        y_e, y_i = sys_.ww_rates(se, si, c, G, ji)
        he = _h(y_e, p[wongwang.D_E])
        de = _dh(y_e, p[wongwang.D_E]) * p[wongwang.A_E] * (1 - se) * p[wongwang.GAMMA_E]
        di = _dh(y_i, p[wongwang.D_I]) * p[wongwang.A_I] * p[wongwang.GAMMA_I]
        jn = p[wongwang.J_N]
        ie, ii = sys_.i_se, sys_.i_si
        L[ie, ie] = (
            sys_.sign_e / p[wongwang.TAU_E]
            - p[wongwang.GAMMA_E] * he
            + de * p[wongwang.W_PLUS] * jn
        )
        L[ie, ii] = -de * ji
        L[ii, ie] = di * jn
        L[ii, ii] = -1.0 / p[wongwang.TAU_I] - di
        B[ie, sys_.in_ww] = de * G * jn
        B[ii, sys_.in_ww] = di * p[wongwang.LAMDA] * G * jn
    if sys_.cb.size:
        nu = x[sys_.cb_state]
        dF = sys_.crbl_derivs(nu, u[sys_.in_mf], u[sys_.in_pf]) / sys_.p_cb[crbl.T]
        for i in range(sys_.cb.size):
            rows = sys_.cb_state[i]
            L[np.ix_(rows, rows)] = dF[i, :, :4] - np.eye(4) / sys_.p_cb[crbl.T]
            B[rows, sys_.in_mf[i]] = dF[i, :, 4]
            B[rows, sys_.in_pf[i]] = dF[i, :, 5]
    return L + B @ sys_.A


def leading_eigenvalue(
    connectome: Any, network: _net.NetworkSpec, G: float, *, target_hz: float | None = None
) -> complex:
    """The eigenvalue (per ms) of largest real part of :func:`jacobian` at the FIC state at G."""
    fr = tune(connectome, network, G, target_hz=target_hz)
    J = jacobian(connectome, network, G, fr)
    with _blas.one_thread():
        ev = np.linalg.eigvals(J)
    return complex(ev[np.argmax(ev.real)])


def critical_G(
    connectome: Any,
    network: _net.NetworkSpec,
    *,
    lo: float = 0.0,
    hi: float = 2.0,
    tol: float = 1e-4,
    target_hz: float | None = None,
) -> float:
    """``G*``: the smallest G in ``[lo, hi]`` where the FIC fixed point loses stability.

    Bisection on the sign of the real part of :func:`leading_eigenvalue` (FIC retuned at each
    G) until the bracket is narrower than ``tol``; returns its upper end (unstable side).
    Assumes one crossing in the bracket. A G at which :func:`tune` refuses (e.g. a node would
    need J_i <= 0) counts as beyond the stable range; if the bracket closes on such a G, the
    FIC state stops existing before it loses stability and :class:`CmftvbError` says so,
    naming the node. Also raises when the FIC state is already unstable (or absent) at ``lo``
    or still stable at ``hi``. Delay-free; see the module docstring for why delays do not
    move a real crossing.
    """
    lo, hi, tol = float(lo), float(hi), float(tol)
    if not (0 <= lo < hi and tol > 0):
        raise CmftvbError(f"fic.critical_G: need 0 <= lo < hi and tol > 0, got {lo}, {hi}, {tol}")

    def unstable(G: float) -> tuple[bool, str]:
        try:
            return leading_eigenvalue(connectome, network, G, target_hz=target_hz).real >= 0, ""
        except CmftvbError as exc:
            return True, str(exc)

    bad, why = unstable(lo)
    if bad:
        raise CmftvbError(
            f"fic.critical_G: the FIC state is already unstable at lo = G {lo:g}"
            + (f" ({why})" if why else "")
        )
    bad, why_hi = unstable(hi)
    if not bad:
        raise CmftvbError(f"fic.critical_G: the FIC state is still stable at hi = G {hi:g}")
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        bad, why = unstable(mid)
        if bad:
            hi, why_hi = mid, why
        else:
            lo = mid
    if why_hi:
        raise CmftvbError(
            f"fic.critical_G: the FIC state is stable up to G {lo:g} but does not exist at "
            f"G {hi:g}: {why_hi}"
        )
    return hi


# The engine's per-node J_i of a FicResult; it lives beside the G* helpers of the runs.
from cmftvb.gstar import j_i_for_engine  # noqa: E402, F401
