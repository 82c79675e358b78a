"""Bridge to tvb-library 2.10: run a cmftvb network through TVB's own ``Simulator``.

This is the reference runner that the fast engine (:mod:`cmftvb.engine.core`) is held equal to.
Nothing here writes an equation of a local model: the TVB model class below calls the same
numba kernels as the engine (:mod:`cmftvb.models.wongwang`, :mod:`cmftvb.models.crbl`) with
parameters packed from the same preset, and the coupling class integrates the same edge list
(:func:`cmftvb.network.expand_edges`). What tvb-library contributes is its simulator: delay
rounding, the float32 history buffer, the Heun schemes, additive noise, the state-variable
bounds and the monitors, exactly as documented in ``docs/TVB-CONVENTIONS.md``.

- :class:`NetworkModel`: a TVB ``Model`` for the hybrid network (Wong-Wang and cerebellar
  nodes in one class, per-node model masks). State variables ``S_E, S_I, GrC, GoC, MLI, PC``
  (plus ``OU``, the background mossy drive, when the preset asks for an Ornstein-Uhlenbeck
  background and the network has cerebellar nodes). A node integrates only the variables of its
  own model; the others stay at 0 (no drift, no noise) and are reported as NaN.
- :class:`ProjectionCoupling`: a TVB ``Coupling`` that applies the network's projection table
  (source variable per source model, target input per target model, scale, sign) to TVB's
  delayed history. It returns one row per model input: ``I_coupling`` (raw sum, the Wong-Wang
  kernel multiplies by ``G J_N``), ``mf`` and ``pf`` (kHz).
- :func:`simulate_tvb`: same signature and result as :func:`cmftvb.engine.simulate`.
- :func:`simulate_tvb_homogeneous`: the homogeneous network through TVB's *own*
  ``ReducedWongWangExcInh`` and ``Linear`` coupling (projection signs and scales folded into the
  connectivity weights), the independent reference for the Wong-Wang path.

Units: time ms, rates kHz, Wong-Wang gating variables dimensionless (MODEL.md, "Units").
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from cmftvb import CmftvbError
from cmftvb import network as _net
from cmftvb.models import wongwang

#: State variables of :class:`NetworkModel`, in order (background ``OU`` appended when used).
STATE_VARS = ("S_E", "S_I", "GrC", "GoC", "MLI", "PC")
#: Rows of the coupling array handed to :meth:`NetworkModel.dfun`: (model, input) -> row.
INPUT_ROWS = {("wongwang", "I_coupling"): 0, ("crbl", "mf"): 1, ("crbl", "pf"): 2}
_VAR_INDEX = {(m, v): STATE_VARS.index(v) for m, vs in _net.MODEL_VARS.items() for v in vs}

log = logging.getLogger(__name__)


def _tvb():
    """Import tvb-library lazily (it is slow to import and only this module needs it)."""
    logging.getLogger("tvb").setLevel(logging.ERROR)
    from tvb.datatypes.connectivity import Connectivity
    from tvb.simulator import coupling, integrators, models, monitors, noise, simulator

    return Connectivity, coupling, integrators, models, monitors, noise, simulator


def _crbl():
    from cmftvb.models import crbl

    return crbl


# --------------------------------------------------------------------------------------------
# Model and coupling classes (built on first use, so that importing this module is cheap)
# --------------------------------------------------------------------------------------------

_CLASSES: dict[str, type] = {}


def _classes() -> dict[str, type]:
    if _CLASSES:
        return _CLASSES
    _, coupling, _, models, _, _, _ = _tvb()

    class NetworkModel(models.Model):
        """The cmftvb hybrid network as one TVB model (see the module docstring).

        ``dfun`` evaluates :func:`cmftvb.models.wongwang.dfun_nodes` on the Wong-Wang nodes and
        :func:`cmftvb.models.crbl.dfun_nodes` on the cerebellar nodes; it never duplicates an
        equation. The coupling it receives is :class:`ProjectionCoupling`'s output.
        """

        number_of_modes = 1

        def __init__(self, network: _net.NetworkSpec, G: float | None = None, **kwargs):
            super().__init__(**kwargs)
            params = network.params
            models_ = np.asarray(network.node_model)
            self.ww_nodes = np.flatnonzero(models_ == "wongwang")
            self.cb_nodes = np.flatnonzero(models_ == "crbl")
            self.p_ww = wongwang.pack(params, G=G)
            self.background = _background(params) if self.cb_nodes.size else None
            names = list(STATE_VARS)
            if self.background is not None and self.background["kind"] == "ou":
                names.append("OU")
            self.state_variables = names
            self._nvar = len(names)
            self.variables_of_interest = list(names)
            if self.cb_nodes.size:
                crbl = _crbl()
                if int(params["crbl"].get("order", 1)) != 1:
                    raise CmftvbError(
                        "crbl.order: the tvb-library bridge runs the first-order cerebellar "
                        "mean field only (order 2 needs the covariance variables)"
                    )
                self.p_cb = crbl.pack(params)
            # coupled variables: every variable some projection sends
            cv = sorted(
                {
                    _VAR_INDEX[(m, v)]
                    for p in network.projections
                    for m, v in p["source_var"].items()
                }
            )
            self.cvar = np.array(cv or [0], dtype=np.int32)
            self.stvar = self.cvar.copy()
            bounds = params.get("bounds", {}) or {}
            self.state_variable_boundaries = {
                v: np.array(
                    [
                        -np.inf if b[0] is None else float(b[0]),
                        np.inf if b[1] is None else float(b[1]),
                    ]
                )
                for v, b in bounds.items()
                if v in names
            } or None
            self.state_variable_range = {v: np.array([0.0, 0.0]) for v in names}
            # which (variable, node) pairs are integrated: the others have zero drift and noise
            mask = np.zeros((self._nvar, network.n_nodes), dtype=bool)
            for m in ("wongwang", "crbl"):
                nodes = self.ww_nodes if m == "wongwang" else self.cb_nodes
                for v in _net.MODEL_VARS[m]:
                    mask[STATE_VARS.index(v), nodes] = True
            if "OU" in names:
                mask[names.index("OU"), self.cb_nodes] = True
            self.active = mask

        def dfun(self, state_variables, coupling, local_coupling=0.0):
            """Derivatives (per ms) of every state variable, shape ``(nvar, N, 1)``."""
            x = state_variables[..., 0]
            c = coupling[..., 0]
            d = np.zeros_like(state_variables)
            ww, cb = self.ww_nodes, self.cb_nodes
            if ww.size:
                de, di = wongwang.dfun_nodes(x[0, ww], x[1, ww], c[0, ww], self.p_ww)
                d[0, ww, 0] = de
                d[1, ww, 0] = di
            if cb.size:
                crbl = _crbl()
                bg = self.background
                mf = c[1, cb]
                if bg["kind"] == "ou":
                    mf = mf + bg["weight"] * x[6, cb]
                    d[6, cb, 0] = (bg["mean"] - x[6, cb]) / bg["tau"]
                elif bg["kind"] == "constant":
                    mf = mf + bg["mean"]
                derivs = crbl.dfun_nodes(
                    x[2, cb], x[3, cb], x[4, cb], x[5, cb], mf, c[2, cb], self.p_cb
                )
                for i, di in enumerate(derivs):
                    d[2 + i, cb, 0] = di
            return d

    class ProjectionCoupling(coupling.Coupling):
        """Delayed coupling by projection table, read from TVB's (float32) history buffer.

        For every edge ``j -> k`` of :func:`cmftvb.network.expand_edges` (weight
        ``W[k, j]·scale·sign``, delay ``d`` steps) it adds ``weight · x_j(step - 1 - d)`` of the
        edge's source variable to row ``INPUT_ROWS[(model_k, input)]`` of node ``k``, exactly
        where TVB's ``SparseCoupling`` reads its history (TVB-CONVENTIONS §3). Weights and the
        sum are float64; the history values are TVB's float32.
        """

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.edges = None

        def setup(self, edges, network, cvar: np.ndarray, n_nodes: int) -> None:
            models_ = np.asarray(network.node_model)
            src_var = np.array(
                [
                    _VAR_INDEX[(models_[j], _net.MODEL_VARS[models_[j]][v])]
                    for j, v in zip(edges.src, edges.src_var, strict=True)
                ],
                dtype=np.int64,
            )
            pos = {int(v): i for i, v in enumerate(cvar)}
            cpos = np.array([pos[int(v)] for v in src_var], dtype=np.int64)
            rows = np.array(
                [
                    INPUT_ROWS[(models_[k], _net.MODEL_INPUTS[models_[k]][i])]
                    for k, i in zip(edges.tgt, edges.tgt_input, strict=True)
                ],
                dtype=np.int64,
            )
            self.n_nodes = n_nodes
            self.col = cpos * n_nodes + edges.src  # offset inside one time slice
            self.delay = edges.delay.astype(np.int64)
            self.weight = edges.weight.astype(np.float64)
            self.slot = rows * n_nodes + edges.tgt
            self.edges = edges

        def __call__(self, step, history):
            n = self.n_nodes
            if self.edges is None or len(self.edges) == 0:
                return np.zeros((3, n, 1))
            buf = history.buffer.reshape(-1)
            stride = history.n_cvar * n * history.n_mode
            t = (step - 1 - self.delay) % history.n_time
            vals = buf[t * stride + self.col]
            out = np.bincount(self.slot, weights=self.weight * vals, minlength=3 * n)
            return out.reshape(3, n, 1)

    _CLASSES.update(NetworkModel=NetworkModel, ProjectionCoupling=ProjectionCoupling)
    return _CLASSES


def _background(params: Mapping[str, Any]) -> dict[str, Any]:
    """The background mossy drive of cerebellar nodes (preset ``crbl.background``; MODEL.md §4).

    ``ou``: an Ornstein-Uhlenbeck variable ``OU`` with ``dOU/dt = (mean - OU)/tau`` plus the
    additive noise of every state variable, entering the mossy input as ``weight · OU`` (kHz);
    ``constant``: ``mean`` kHz; ``none``.
    """
    bg = dict(params["crbl"].get("background", {"kind": "none"}))
    kind = bg.get("kind", "none")
    if kind not in ("ou", "constant", "none"):
        raise CmftvbError(f"crbl.background.kind: unknown kind {kind!r} (ou, constant, none)")
    return {
        "kind": kind,
        "tau": float(bg.get("tau", 1.0)),
        "weight": float(bg.get("weight", 0.0)),
        "mean": float(bg.get("mean", 0.0)),
    }


def network_model(network: _net.NetworkSpec, G: float | None = None):
    """A configured-ready :class:`NetworkModel` instance for ``network``."""
    return _classes()["NetworkModel"](network, G=G)


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def _check_args(duration, dt, speed, seeds, noise_sigma, monitor, monitor_period):
    try:
        duration, dt, speed, noise_sigma = map(float, (duration, dt, speed, noise_sigma))
    except (TypeError, ValueError):
        raise CmftvbError("duration, dt, speed and noise_sigma must be numbers") from None
    if not (duration > 0 and dt > 0 and speed > 0):
        raise CmftvbError(f"duration ({duration}), dt ({dt}) and speed ({speed}) must be > 0")
    if not (noise_sigma >= 0 and math.isfinite(noise_sigma)):
        raise CmftvbError(f"noise_sigma ({noise_sigma}) must be finite and >= 0")
    n_steps = int(round(duration / dt))
    if n_steps < 1 or abs(n_steps * dt - duration) > 1e-9 * max(1.0, duration):
        raise CmftvbError(f"duration ({duration} ms) must be a whole number of steps of {dt} ms")
    seeds = [int(s) for s in np.atleast_1d(np.asarray(seeds))]
    if not seeds:
        raise CmftvbError("seeds: at least one seed is needed")
    if monitor not in ("raw", "tavg"):
        raise CmftvbError(f"monitor {monitor!r}: choose raw or tavg")
    istep = 1
    if monitor == "tavg":
        if monitor_period is None:
            raise CmftvbError("monitor_period: needed for monitor 'tavg' (ms)")
        istep = int(round(float(monitor_period) / dt))
        if istep < 1 or abs(istep * dt - float(monitor_period)) > 1e-9 * float(monitor_period):
            raise CmftvbError(
                f"monitor_period ({monitor_period} ms) must be a whole number of steps of {dt} ms"
            )
        if n_steps % istep:
            raise CmftvbError(
                f"duration ({duration} ms) must be a whole number of monitor periods "
                f"({monitor_period} ms)"
            )
    return duration, dt, speed, noise_sigma, n_steps, seeds, istep


def initial_state(network: _net.NetworkSpec, initial=None, nvar: int = len(STATE_VARS)):
    """Initial state ``(nvar, N)`` of :class:`NetworkModel` (unused variables 0).

    ``initial``: ``None`` (zeros), a mapping ``{variable: (N,) or scalar}``, or an array
    ``(len(STATE_VARS), N)`` in :data:`STATE_VARS` order (NaN entries read as 0).
    """
    n = network.n_nodes
    x = np.zeros((nvar, n))
    if initial is None:
        return x
    if isinstance(initial, Mapping):
        for key, val in initial.items():
            if key not in STATE_VARS and key != "OU":
                raise CmftvbError(f"initial: unknown state variable {key!r}")
            i = STATE_VARS.index(key) if key in STATE_VARS else len(STATE_VARS)
            if i >= nvar:
                continue
            x[i] = np.broadcast_to(np.asarray(val, dtype=float), (n,))
    else:
        a = np.asarray(initial, dtype=float)
        if a.ndim != 2 or a.shape[1] != n or a.shape[0] not in (len(STATE_VARS), nvar):
            raise CmftvbError(f"initial: expected shape ({len(STATE_VARS)}, {n}), got {a.shape}")
        x[: a.shape[0]] = a
    x[~np.isfinite(x)] = 0.0
    return x


def _tvb_seed(seed: int) -> int:
    """A 32-bit seed for TVB's legacy ``RandomState`` (its streams differ from the engine's)."""
    return int(np.random.SeedSequence([int(seed), 0x7476]).generate_state(1)[0])


def _connectivity(connectome, weights, speed):
    Connectivity = _tvb()[0]
    n = np.asarray(weights).shape[0]
    con = Connectivity(
        weights=np.asarray(weights, dtype=np.float64),
        tract_lengths=np.asarray(connectome.tract_lengths, dtype=np.float64),
        region_labels=np.array([str(s) for s in connectome.labels]),
        centres=np.zeros((n, 3)),
        speed=np.array([float(speed)]),
    )
    return con


def _run_tvb(
    *,
    con,
    model,
    coupling_obj,
    x0: np.ndarray,
    nsig: np.ndarray | None,
    seed: int,
    dt: float,
    n_steps: int,
    istep: int,
    monitor: str,
    progress: Callable | None,
    setup: Callable | None = None,
):
    """Configure and run one tvb-library ``Simulator``; return ``(time_ms, states (T, V, N))``.

    The history is constant (``x0`` at every past step, TVB-CONVENTIONS §5), with ``n_time``
    rows, ``n_time >= horizon`` and ``(n_time - 1) % istep == 0`` so that the TemporalAverage
    windows are full and aligned (§7). Times are shifted so that the state after ``m`` steps is
    at ``m · dt``.
    """
    _, _, integrators, _, monitors, noise, simulator = _tvb()
    con.configure()
    idel = np.rint(con.delays / dt).astype(np.int64)
    horizon = int(idel.max()) + 1
    n_time = horizon + ((1 - horizon) % istep)
    assert (n_time - 1) % istep == 0 and n_time >= horizon
    ic = np.broadcast_to(x0[None, :, :, None], (n_time, *x0.shape, 1)).copy()
    if nsig is None:
        integ = integrators.HeunDeterministic(dt=dt)
    else:
        integ = integrators.HeunStochastic(
            dt=dt, noise=noise.Additive(nsig=nsig, noise_seed=_tvb_seed(seed))
        )
    mon = monitors.Raw() if monitor == "raw" else monitors.TemporalAverage(period=istep * dt)
    sim = simulator.Simulator(
        connectivity=con,
        model=model,
        coupling=coupling_obj,
        integrator=integ,
        monitors=[mon],
        initial_conditions=ic,
        simulation_length=n_steps * dt,
    )
    sim.configure()
    if not np.array_equal(sim.connectivity.idelays, idel):  # pragma: no cover - TVB changed
        raise CmftvbError("tvb-library rounded the delays differently from TVB-CONVENTIONS §1")
    if setup is not None:
        setup(sim)
    n_out = n_steps // istep
    times = np.empty(n_out)
    out = np.empty((n_out, model.nvar, con.number_of_regions))
    i = 0
    report = max(1, n_out // 20)
    for ((t, x),) in sim(n_steps=n_steps):
        times[i] = t
        out[i] = x[:, :, 0]
        i += 1
        if progress is not None and (i % report == 0 or i == n_out):
            progress(i / n_out)
    if i != n_out:  # pragma: no cover - TVB changed
        raise CmftvbError(f"tvb-library returned {i} samples, expected {n_out}")
    return times - (n_time - 1) * dt, out


def _sim_result(**fields):
    try:
        from cmftvb.engine import SimResult
    except ImportError:  # engine not available: a plain namespace with the same fields
        import types

        return types.SimpleNamespace(**fields)
    return SimResult(**fields)


def _bold_var(network: _net.NetworkSpec) -> dict[str, str]:
    return dict(_net.BOLD_VAR)


def simulate_tvb(
    connectome,
    network: _net.NetworkSpec,
    *,
    duration: float,
    dt: float,
    seeds: Sequence[int] | int,
    noise_sigma: float,
    G: float | None = None,
    speed: float,
    initial=None,
    monitor: str = "raw",
    monitor_period: float | None = None,
    subject: str = "",
    progress: Callable[[float], None] | None = None,
):
    """Simulate ``network`` on ``connectome`` with tvb-library's ``Simulator`` (the reference).

    Same signature and result as :func:`cmftvb.engine.simulate`. ``duration``, ``dt`` and
    ``monitor_period`` in ms; ``speed`` in mm/ms; ``noise_sigma`` the additive-noise SD per
    √ms on every integrated state variable (TVB ``Additive(nsig = σ²/2)``, MODEL.md §5); with
    ``noise_sigma == 0`` the integrator is ``HeunDeterministic``, else ``HeunStochastic``. The
    initial history is constant at ``initial`` (:func:`initial_state`). Each seed runs its own
    simulator; TVB's noise stream (legacy ``RandomState``) is seeded from the seed but is not
    the engine's stream, so stochastic runs agree with the engine in distribution only.
    ``subject`` is accepted for signature compatibility (it only keys the engine's streams).
    """
    duration, dt, speed, noise_sigma, n_steps, seeds, istep = _check_args(
        duration, dt, speed, seeds, noise_sigma, monitor, monitor_period
    )
    cls = _classes()
    edges = _net.expand_edges(connectome, network, dt, speed)
    n = network.n_nodes
    per_seed = []
    times = None
    for si, seed in enumerate(seeds):
        model = cls["NetworkModel"](network, G=G)
        coup = cls["ProjectionCoupling"]()
        coup.setup(edges, network, model.cvar, n)
        x0 = initial_state(network, initial, model._nvar)
        nsig = None
        if noise_sigma > 0:
            nsig = np.where(model.active, noise_sigma**2 / 2.0, 0.0)

        def prog(f, si=si):
            if progress is not None:
                progress((si + f) / len(seeds))

        times, out = _run_tvb(
            con=_connectivity(connectome, connectome.weights, speed),
            model=model,
            coupling_obj=coup,
            x0=x0,
            nsig=nsig,
            seed=seed,
            dt=dt,
            n_steps=n_steps,
            istep=istep,
            monitor=monitor,
            progress=prog,
        )
        per_seed.append(np.where(model.active[None], out, np.nan))
    states = np.stack(per_seed)  # (S, T, V, N)
    fields = {v: states[:, :, i, :] for i, v in enumerate(STATE_VARS)}
    bold_var = _bold_var(network)
    bold = np.full(states.shape[:2] + (n,), np.nan)
    for m, v in bold_var.items():
        nodes = np.flatnonzero(np.asarray(network.node_model) == m)
        bold[:, :, nodes] = fields[v][:, :, nodes]
    return _sim_result(
        time_ms=times,
        labels=np.array(network.labels),
        bold_input=bold,
        params={"network": network.params, "engine": "tvb", "seeds": seeds, "G": G},
        **fields,
    )


# --------------------------------------------------------------------------------------------
# Homogeneous model through TVB's own ReducedWongWangExcInh
# --------------------------------------------------------------------------------------------

#: cmftvb preset key -> ReducedWongWangExcInh parameter.
TVB_WW_PARAMS = {
    "a_E": "a_e",
    "b_E": "b_e",
    "d_E": "d_e",
    "gamma_E": "gamma_e",
    "tau_E": "tau_e",
    "w_plus": "w_p",
    "J_N": "J_N",
    "W_E": "W_e",
    "a_I": "a_i",
    "b_I": "b_i",
    "d_I": "d_i",
    "gamma_I": "gamma_i",
    "tau_I": "tau_i",
    "J_i": "J_i",
    "W_I": "W_i",
    "I_0": "I_o",
    "lamda": "lamda",
    "I_ext": "I_ext",
}


def tvb_wongwang(params: Mapping[str, Any], G: float | None = None):
    """TVB's own ``ReducedWongWangExcInh`` with a preset's parameters and bounds.

    Raises :class:`CmftvbError` when the preset's Wong-Wang kernel (with its switches) is not
    the same function as TVB's class (e.g. ``switches.ww_sign_error``, MODEL.md §6.5): checked
    by evaluating both on random states and couplings, not by switch names.
    """
    models = _tvb()[3]
    ww = params["wongwang"]
    kw = {tvb: np.array([float(ww[ours])]) for ours, tvb in TVB_WW_PARAMS.items()}
    kw["G"] = np.array([float(params["coupling"]["G"] if G is None else G)])
    b = params.get("bounds", {}) or {}
    svb = {}
    for ours, tvb in (("S_E", "S_e"), ("S_I", "S_i")):
        if ours in b:
            lo, hi = b[ours]
            svb[tvb] = np.array([lo, hi], dtype=object)
    model = models.ReducedWongWangExcInh(**kw)
    # state_variable_boundaries is a tvb "Final" trait with a default: it cannot be assigned,
    # so the instance's value is replaced directly (a fresh dict, not the shared default)
    model.__dict__["state_variable_boundaries"] = svb or None
    model.configure()
    rng = np.random.default_rng(0)
    S = rng.uniform(0, 1, (2, 64, 1))
    c = rng.uniform(0, 3, (1, 64, 1))
    theirs = model.dfun(S, c)
    de, di = wongwang.dfun_nodes(S[0, :, 0], S[1, :, 0], c[0, :, 0], wongwang.pack(params, G=G))
    ours = np.stack([de, di])[..., None]
    if not np.allclose(ours, theirs, rtol=1e-12, atol=1e-15):
        raise CmftvbError(
            f"preset {params.get('name', '?')!r}: its Wong-Wang model differs from tvb-library's "
            "ReducedWongWangExcInh (a published-code switch such as ww_sign_error is on); "
            "use simulate_tvb (the bridge) instead"
        )
    return model


def folded_weights(connectome, network: _net.NetworkSpec, dt: float, speed: float) -> np.ndarray:
    """``W_eff[k, j] = Σ`` over edges ``j -> k`` of ``W[k, j]·scale·sign`` (homogeneous only).

    Every edge must carry ``S_E`` to ``I_coupling`` (Wong-Wang everywhere), so that TVB's
    ``Linear(a=1)`` coupling on ``W_eff`` is the projection table.
    """
    if set(network.node_model) != {"wongwang"}:
        raise CmftvbError(
            f"network model {network.model!r}: TVB's own Wong-Wang class needs Wong-Wang in "
            "every node (use simulate_tvb for cMF)"
        )
    edges = _net.expand_edges(connectome, network, dt, speed)
    if np.any(edges.src_var != 0) or np.any(edges.tgt_input != 0):
        raise CmftvbError("projections: TVB's own Wong-Wang class couples S_E to I_coupling only")
    n = network.n_nodes
    W = np.zeros((n, n))
    np.add.at(W, (edges.tgt, edges.src), edges.weight)
    return W


def simulate_tvb_homogeneous(
    connectome,
    network: _net.NetworkSpec,
    *,
    duration: float,
    dt: float,
    seeds: Sequence[int] | int,
    noise_sigma: float,
    G: float | None = None,
    speed: float,
    initial=None,
    monitor: str = "raw",
    monitor_period: float | None = None,
    subject: str = "",
    progress: Callable[[float], None] | None = None,
):
    """The homogeneous network through tvb-library's own ``ReducedWongWangExcInh``.

    Same signature and result as :func:`simulate_tvb`; the coupling is TVB's ``Linear(a=1,
    b=0)`` on :func:`folded_weights` (zero-sum entries become zero weights, as in the engine
    they contribute nothing). Only ``S_E`` and ``S_I`` are defined; the other variables are NaN.
    """
    duration, dt, speed, noise_sigma, n_steps, seeds, istep = _check_args(
        duration, dt, speed, seeds, noise_sigma, monitor, monitor_period
    )
    coupling = _tvb()[1]
    W = folded_weights(connectome, network, dt, speed)
    n = network.n_nodes
    x0 = initial_state(network, initial)[:2]
    per_seed = []
    times = None
    for si, seed in enumerate(seeds):
        model = tvb_wongwang(network.params, G=G)
        nsig = None if noise_sigma == 0 else np.array([noise_sigma**2 / 2.0])

        def prog(f, si=si):
            if progress is not None:
                progress((si + f) / len(seeds))

        times, out = _run_tvb(
            con=_connectivity(connectome, W, speed),
            model=model,
            coupling_obj=coupling.Linear(a=np.array([1.0]), b=np.array([0.0])),
            x0=x0,
            nsig=nsig,
            seed=seed,
            dt=dt,
            n_steps=n_steps,
            istep=istep,
            monitor=monitor,
            progress=prog,
        )
        per_seed.append(out)
    states = np.stack(per_seed)  # (S, T, 2, N)
    nan = np.full(states.shape[:2] + (n,), np.nan)
    fields = {v: nan.copy() for v in STATE_VARS}
    fields["S_E"] = states[:, :, 0, :]
    fields["S_I"] = states[:, :, 1, :]
    return _sim_result(
        time_ms=times,
        labels=np.array(network.labels),
        bold_input=fields["S_E"].copy(),
        params={"network": network.params, "engine": "tvb-rww", "seeds": seeds, "G": G},
        **fields,
    )
