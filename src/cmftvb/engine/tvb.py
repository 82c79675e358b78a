"""Bridge to tvb-library 2.10: run a cmftvb network through TVB's own ``Simulator``.

This is the reference runner that the fast engine (:mod:`cmftvb.engine.core`) is held equal to.
Nothing here writes an equation of a local model: the TVB model class below calls the same
numba kernels as the engine (:mod:`cmftvb.models.wongwang`, :mod:`cmftvb.models.crbl`) with
parameters packed from the same preset, and the coupling class integrates the same edge list
(:func:`cmftvb.network.expand_edges`). What tvb-library contributes is its simulator: delay
rounding, the float32 history buffer, the Heun schemes, additive noise, the state-variable
bounds and the monitors, exactly as documented in ``docs/TVB-CONVENTIONS.md``.

- :class:`NetworkModel`: a TVB ``Model`` for the hybrid network (Wong-Wang and cerebellar
  nodes in one class, per-node model masks). State variables: those of the node models present,
  in the order of :data:`STATE_VARS` (``S_E, S_I`` for Wong-Wang, ``GrC, GoC, MLI, PC`` for the
  cerebellar mean field), plus ``OU``, the background mossy drive, when the preset asks for an
  Ornstein-Uhlenbeck background and the network has cerebellar nodes. A node integrates only
  the variables of its own model; the others stay at 0 (no drift, no noise) and are reported as
  NaN.
- :class:`ProjectionCoupling`: a TVB ``Coupling`` that applies the network's projection table
  (source variable per source model, target input per target model, scale, sign) to TVB's
  delayed history. It returns one row per model input: ``I_coupling`` (raw sum, the Wong-Wang
  kernel multiplies by ``G J_N``), ``mf`` and ``pf`` (kHz).
- :func:`simulate_tvb`: same arguments (less the numba-only ``chunk_steps`` and
  ``lane_layout``) and result as :func:`cmftvb.engine.simulate`.
- :func:`simulate_tvb_homogeneous`: the homogeneous network through TVB's *own*
  ``ReducedWongWangExcInh`` and ``Linear`` coupling (projection signs and scales folded into the
  connectivity weights), the independent reference for the Wong-Wang path.

Units: time ms, rates kHz, Wong-Wang gating variables dimensionless (MODEL.md, "Units").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numba import njit

from cmftvb import CmftvbError
from cmftvb import network as _net
from cmftvb.engine import plumbing as pl
from cmftvb.engine import ww_ji
from cmftvb.models import wongwang

#: State variables of :class:`NetworkModel`, in order (background ``OU`` appended when used).
STATE_VARS = ("S_E", "S_I", "GrC", "GoC", "MLI", "PC")
#: Rows of the coupling array handed to :meth:`NetworkModel.dfun`: (model, input) -> row.
INPUT_ROWS = {("wongwang", "I_coupling"): 0, ("crbl", "mf"): 1, ("crbl", "pf"): 2}
log = logging.getLogger(__name__)


def _tvb():
    """Import tvb-library lazily (it is slow to import and only this module needs it).

    tvb-library logs every configuration step at INFO/WARNING; its loggers are set to ERROR.
    """
    logging.getLogger("tvb").setLevel(logging.ERROR)
    from tvb.datatypes.connectivity import Connectivity
    from tvb.simulator import coupling, integrators, models, monitors, noise, simulator

    # HeunDeterministic warns on every run that it got no random state (it never needs one)
    logging.getLogger("tvb.simulator.integrators").setLevel(logging.ERROR)

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
    _CLASSES.update(
        NetworkModel=_network_model_class(models.Model),
        ProjectionCoupling=_projection_coupling_class(coupling.Coupling),
    )
    return _CLASSES


def _network_model_class(base: type) -> type:
    """:class:`NetworkModel` on tvb-library's ``Model`` class ``base``."""

    class NetworkModel(base):
        """The cmftvb hybrid network as one TVB model (see the module docstring).

        ``dfun`` evaluates :func:`cmftvb.models.wongwang.dfun_nodes` (per-node J_i:
        :func:`cmftvb.engine.ww_ji.dfun_nodes`) on the Wong-Wang nodes and
        :func:`cmftvb.models.crbl.dfun_nodes` on the cerebellar nodes, from
        :class:`ProjectionCoupling`'s output; no equation is written here.
        """

        number_of_modes = 1

        def __init__(self, network: _net.NetworkSpec, G: float | None = None, J_i=None, **kwargs):
            super().__init__(**kwargs)
            params = network.params
            models_ = np.asarray(network.node_model)
            self.ww_nodes = np.flatnonzero(models_ == "wongwang")
            self.cb_nodes = np.flatnonzero(models_ == "crbl")
            self.p_ww = wongwang.pack(params, G=G)
            # per-node J_i (nA) of the Wong-Wang nodes, or None: the preset's scalar
            self.J_i_ww = None if J_i is None else np.asarray(J_i, dtype=np.float64)[self.ww_nodes]
            self.background = _background(params) if self.cb_nodes.size else None
            present = {m for m in _net.MODEL_VARS if m in set(network.node_model)}
            names = [v for v in STATE_VARS if any(v in _net.MODEL_VARS[m] for m in present)]
            if self.background is not None and self.background["kind"] == "ou":
                names.append("OU")
            self.state_variables = names
            self.iv = {v: i for i, v in enumerate(names)}
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
            cv = sorted({self.iv[v] for p in network.projections for v in p["source_var"].values()})
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
            for m in present:
                nodes = self.ww_nodes if m == "wongwang" else self.cb_nodes
                for v in _net.MODEL_VARS[m]:
                    mask[self.iv[v], nodes] = True
            if "OU" in names:
                mask[self.iv["OU"], self.cb_nodes] = True
            self.active = mask

        def dfun(self, state_variables, coupling, local_coupling=0.0):
            """Derivatives (per ms) of every state variable, shape ``(nvar, N, 1)``."""
            x = state_variables[..., 0]
            c = coupling[..., 0]
            d = np.zeros_like(state_variables)
            ww, cb, iv = self.ww_nodes, self.cb_nodes, self.iv
            if ww.size:
                ie, ii = iv["S_E"], iv["S_I"]
                if self.J_i_ww is None:
                    de, di = wongwang.dfun_nodes(x[ie, ww], x[ii, ww], c[0, ww], self.p_ww)
                else:
                    de, di = ww_ji.dfun_nodes(
                        x[ie, ww], x[ii, ww], c[0, ww], self.J_i_ww, self.p_ww
                    )
                d[ie, ww, 0] = de
                d[ii, ww, 0] = di
            if cb.size:
                crbl = _crbl()
                bg = self.background
                mf = c[1, cb]
                if bg["kind"] == "ou":
                    ou = x[iv["OU"], cb]
                    mf = mf + bg["weight"] * ou
                    d[iv["OU"], cb, 0] = -ou / bg["tau"]
                elif bg["kind"] == "constant":
                    mf = mf + bg["mean"]
                rates = [x[iv[v], cb] for v in _net.MODEL_VARS["crbl"]]
                derivs = crbl.dfun_nodes(*rates, mf, c[2, cb], self.p_cb)
                for v, dv in zip(_net.MODEL_VARS["crbl"], derivs, strict=True):
                    d[iv[v], cb, 0] = dv
            return d

    return NetworkModel


def _projection_coupling_class(base: type) -> type:
    """:class:`ProjectionCoupling` on tvb-library's ``Coupling`` class ``base``."""

    class ProjectionCoupling(base):
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

        def setup(self, edges, network, model) -> None:
            """Index arrays for ``edges`` (from :func:`cmftvb.network.expand_edges`)."""
            models_ = np.asarray(network.node_model)
            n_nodes = network.n_nodes
            src_var = np.array(
                [
                    model.iv[_net.MODEL_VARS[models_[j]][v]]
                    for j, v in zip(edges.src, edges.src_var, strict=True)
                ],
                dtype=np.int64,
            )
            pos = {int(v): i for i, v in enumerate(model.cvar)}
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
            out = np.zeros(3 * self.n_nodes)
            if self.edges is not None and len(self.edges):
                stride = history.n_cvar * self.n_nodes * history.n_mode
                _gather(history.buffer.reshape(-1), stride, history.n_time, step,
                        self.delay, self.col, self.weight, self.slot, out)  # fmt: skip
            return out.reshape(3, self.n_nodes, 1)

    return ProjectionCoupling


@njit(cache=True)
def _gather(buf, stride, n_time, step, delay, col, weight, slot, out):
    """``out[slot[e]] += weight[e] · buf[((step - 1 - delay[e]) mod n_time)·stride + col[e]]``.

    ``buf`` is TVB's flattened float32 history; the products and sums are float64.
    """
    for e in range(delay.size):
        t = (step - 1 - delay[e]) % n_time
        out[slot[e]] += weight[e] * np.float64(buf[t * stride + col[e]])


def _background(params: Mapping[str, Any]) -> dict[str, Any]:
    """The background mossy drive of cerebellar nodes (preset ``crbl.background``; MODEL.md §4).

    ``ou``: an Ornstein-Uhlenbeck variable ``OU`` with ``dOU/dt = -OU/tau`` plus the additive
    noise of every state variable, entering the mossy input as ``weight · OU`` (kHz; the
    published code's ``noise`` variable, as in :mod:`cmftvb.engine.core`);
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


def network_model(network: _net.NetworkSpec, G: float | None = None, J_i=None):
    """A configured-ready :class:`NetworkModel` instance for ``network`` (``J_i``: None or
    per-node values, nA)."""
    return _classes()["NetworkModel"](network, G=G, J_i=J_i)


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def initial_states(
    network: _net.NetworkSpec,
    seeds: Sequence[int],
    Gs: Sequence[float | None],
    subject: str,
    initial: Mapping[str, float] | None,
) -> list[dict[str, np.ndarray]]:
    """Per lane, the engine's initial state as ``{name: (N,)}`` (:data:`STATE_VARS`, ``OU``).

    Drawn by the engine's own routine (:func:`cmftvb.engine.plumbing.initial_state`, preset
    ``initial_history``, per-lane streams of :mod:`cmftvb.engine.rng`), so that the two runners
    start from the same constant history; variables a node's model lacks are 0.
    """
    params = network.params
    node_model = list(network.node_model)
    V = 5 if "crbl" in node_model else 2
    lo, hi = pl.bounds(params, node_model, V)
    G0 = float(params["coupling"]["G"])
    Gs = [G0 if g is None else float(g) for g in Gs]
    gens = [st[1] for st in pl.lane_streams(subject, Gs, seeds)]
    x = pl.initial_state(params, node_model, V, gens, initial, lo, hi)  # (N, V, L)
    n = network.n_nodes
    out = []
    for ln in range(len(seeds)):
        d = {v: np.zeros(n) for v in (*STATE_VARS, "OU")}
        for k, m in enumerate(node_model):
            for i, v in enumerate(_net.MODEL_VARS[m]):
                d[v][k] = x[k, i, ln]
            if m == "crbl" and V == 5:
                d["OU"][k] = x[k, 4, ln]
        out.append(d)
    return out


def _tvb_seed(subject: str, G: float, seed: int) -> int:
    """A 32-bit seed for TVB's legacy ``RandomState``, from the lane key (MODEL.md §5; no
    model in it, as the engine's).

    TVB draws its noise with its own generator, so stochastic runs agree with the engine in
    distribution only.
    """
    from cmftvb.engine.rng import seed_sequence

    return int(seed_sequence(subject, G, seed).spawn(3)[2].generate_state(1)[0])


def _connectivity(connectome, weights, speed):
    Connectivity = _tvb()[0]
    n = np.asarray(weights).shape[0]
    return Connectivity(
        weights=np.asarray(weights, dtype=np.float64),
        tract_lengths=np.asarray(connectome.tract_lengths, dtype=np.float64),
        region_labels=np.array([str(s) for s in connectome.labels]),
        centres=np.zeros((n, 3)),
        speed=np.array([float(speed)]),
    )


def _run_tvb(
    *,
    con,
    model,
    coupling_obj,
    x0: np.ndarray,
    nsig: np.ndarray | None,
    noise_seed: int,
    dt: float,
    n_steps: int,
    every: int,
    monitor: str,
    tick: Callable[[int], None] | None,
):
    """Configure and run one tvb-library ``Simulator``; return ``(time_ms, states (T, V, N))``.

    The history is constant (``x0`` at every past step, TVB-CONVENTIONS §5), with ``n_time``
    rows, ``n_time >= horizon`` and ``(n_time - 1) % every == 0`` so that the sub-sampling and
    averaging windows are aligned with the engine's and full (§7). Times are shifted so that
    the state after ``m`` steps is at ``m · dt``. ``monitor``: ``raw`` (TVB ``Raw``, or
    ``SubSample`` when ``every > 1``) or ``mean`` (``TemporalAverage``).
    """
    _, _, integrators, _, monitors, noise, simulator = _tvb()
    con.configure()
    idel = np.rint(con.delays / dt).astype(np.int64)
    horizon = int(idel.max()) + 1
    n_time = horizon + ((1 - horizon) % every)
    ic = np.broadcast_to(x0[None, :, :, None], (n_time, *x0.shape, 1)).copy()
    if nsig is None:
        integ = integrators.HeunDeterministic(dt=dt)
    else:
        integ = integrators.HeunStochastic(
            dt=dt, noise=noise.Additive(nsig=nsig, noise_seed=noise_seed)
        )
    if monitor == "mean":
        mon = monitors.TemporalAverage(period=every * dt)
    elif every == 1:
        mon = monitors.Raw()
    else:
        mon = monitors.SubSample(period=every * dt)
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
    n_out = n_steps // every
    times = np.empty(n_out)
    out = np.empty((n_out, model.nvar, con.number_of_regions))
    i = 0
    for ((t, x),) in sim(n_steps=n_steps):
        if i < n_out:
            times[i] = t
            out[i] = x[:, :, 0]
        i += 1
        if tick is not None:
            tick(i)
    if i < n_out:  # pragma: no cover - TVB changed
        raise CmftvbError(f"tvb-library returned {i} samples, expected {n_out}")
    return times - (n_time - 1) * dt, out


def _lane_tick(prog: pl.Progress, done_before: int, lane_steps: int, every: int):
    """Progress callback of one lane's simulator: ``tick(i)`` after its ``i``-th sample."""

    def tick(i: int) -> None:
        prog.update(done_before + min(i * every, lane_steps))

    return tick


def _result(network, time_ms, lanes, names_per_lane, bmap, record) -> pl.SimResult:
    """A :class:`cmftvb.engine.plumbing.SimResult` from per-lane ``(T, V, N)`` arrays."""
    node_model = list(network.node_model)
    n = network.n_nodes
    present = pl.present_vars(node_model)
    S, T = len(lanes), lanes[0].shape[0]
    variables = {v: np.full((S, T, n), np.nan) for v in present}
    for ln, (arr, names) in enumerate(zip(lanes, names_per_lane, strict=True)):
        for k, m in enumerate(node_model):
            for v in _net.MODEL_VARS[m]:
                variables[v][ln, :, k] = arr[:, names.index(v), k]
    bold = np.empty((S, T, n))
    for k, m in enumerate(node_model):
        bold[:, :, k] = variables[bmap[m]][:, :, k]
    return pl.SimResult(
        time_ms=time_ms,
        labels=np.array(network.labels),
        variables=variables,
        bold_input=bold,
        params=record,
    )


#: How the tvb runners draw their randomness (the run record's ``rng``).
RNG_TVB = "tvb-library Additive noise: RandomState(seed_sequence(lane key).spawn(3)[2])"


def _tvb_version() -> str:
    try:
        from importlib.metadata import version

        return version("tvb-library")
    except Exception:  # pragma: no cover - metadata missing
        return "unknown"


def _run_lanes(connectome, network, run: dict, engine: str, make_lane) -> pl.SimResult:
    """Check the run arguments (``run``: the keyword arguments of :func:`simulate_tvb`), run
    one tvb-library simulator per lane, one after the other, and assemble the result.

    ``make_lane(lane, G, J_i, init, args, edges)`` returns ``(connectivity, model, coupling,
    state variable names, nsig)`` of a lane (``J_i``: that lane's row, None for the preset's
    scalar; ``init`` from :func:`initial_states`).
    """
    args = pl.check_run(run, network)
    subject = run.get("subject", "")
    J_i = run.get("J_i")
    jil = pl.check_J_i(J_i, network, len(args.seeds))
    bmap = pl.bold_map(network.node_model, run.get("bold_var"))
    edges = _net.expand_edges(connectome, network, args.dt, args.speed)
    inits = initial_states(network, args.seeds, args.Gs, subject, run.get("initial"))
    prog = pl.Progress(run.get("progress"), args.n_steps * len(args.seeds), args.dt)
    lanes, names, time_ms = [], [], None
    for ln, (seed, g, init) in enumerate(zip(args.seeds, args.Gs, inits, strict=True)):
        con, model, coup, var_names, nsig = make_lane(
            ln, g, None if J_i is None else jil[ln], init, args, edges
        )
        time_ms, out = _run_tvb(
            con=con,
            model=model,
            coupling_obj=coup,
            x0=np.stack([init[v] for v in var_names]),
            nsig=nsig,
            noise_seed=_tvb_seed(subject, g, int(seed)),
            dt=args.dt,
            n_steps=args.n_steps,
            every=args.every,
            monitor=run["monitor"],
            tick=_lane_tick(prog, ln * args.n_steps, args.n_steps, args.every),
        )
        lanes.append(out)
        names.append(list(var_names))
    record = pl.run_record(
        engine, network, subject, args, run["monitor"], run.get("initial"), bmap, edges,
        RNG_TVB, J_i=J_i, tvb_library=_tvb_version(),
    )  # fmt: skip
    return _result(network, time_ms, lanes, names, bmap, record)


def simulate_tvb(connectome, network: _net.NetworkSpec, **run: Any) -> pl.SimResult:
    """Simulate ``network`` on ``connectome`` with tvb-library's ``Simulator`` (the reference).

    Same keyword arguments and result as :func:`cmftvb.engine.simulate` (less ``engine``,
    ``chunk_steps`` and ``lane_layout``, which it refuses): ``duration``, ``dt``,
    ``monitor_period`` in ms, ``speed`` mm/ms, ``noise_sigma`` the additive-noise SD per √ms on
    every integrated state variable (TVB ``Additive(nsig = σ²/2)``, MODEL.md §5; ``0`` selects
    ``HeunDeterministic``, else ``HeunStochastic``), ``G`` scalar or one per seed, ``monitor``
    ``raw``/``mean``, ``J_i`` per-node inhibitory weights (nA). The constant initial history is
    the engine's (:func:`initial_states`). Each lane runs its own simulator, one after the
    other; TVB's noise stream is its legacy ``RandomState`` seeded from the lane key, so
    stochastic runs agree with the engine in distribution only, deterministic runs to float32
    round-off (TVB-CONVENTIONS §2).
    """
    run = pl.run_keywords(run, "the tvb-library runner")
    cls = _classes()

    def make_lane(ln, g, J_i, init, args, edges):
        model = cls["NetworkModel"](network, G=g, J_i=J_i)
        coup = cls["ProjectionCoupling"]()
        coup.setup(edges, network, model)
        nsig = None
        if args.noise_sigma > 0:
            nsig = np.where(model.active, args.noise_sigma**2 / 2.0, 0.0)
        con = _connectivity(connectome, connectome.weights, args.speed)
        return con, model, coup, model.state_variables, nsig

    return _run_lanes(connectome, network, run, "tvb", make_lane)


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


def tvb_wongwang(params: Mapping[str, Any], G: float | None = None, J_i=None):
    """TVB's own ``ReducedWongWangExcInh`` with a preset's parameters and bounds; ``J_i``
    (nA): None (the preset's scalar) or one value per node, set as TVB's array parameter.

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
    _check_same_function(params, G, model)
    if J_i is not None:  # after the check, which evaluates 64 random nodes
        model.J_i = np.asarray(J_i, dtype=np.float64)
        model.configure()
    return model


def _check_same_function(params: Mapping[str, Any], G: float | None, model) -> None:
    """Raise unless the preset's Wong-Wang kernel and TVB's ``model`` are the same function."""
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


def simulate_tvb_homogeneous(connectome, network: _net.NetworkSpec, **run: Any) -> pl.SimResult:
    """The homogeneous network through tvb-library's own ``ReducedWongWangExcInh``.

    Same arguments and result as :func:`simulate_tvb`; the model is TVB's class
    (:func:`tvb_wongwang`, per-node ``J_i`` passed as its array parameter), the coupling TVB's
    ``Linear(a=1, b=0)`` on :func:`folded_weights`. Nothing of cmftvb's model code runs: this is
    the independent reference for the Wong-Wang path of both the bridge and the engine.
    """
    run = pl.run_keywords(run, "the tvb-library runner")
    coupling = _tvb()[1]

    def make_lane(ln, g, J_i, init, args, edges):
        W = folded_weights(connectome, network, args.dt, args.speed)
        model = tvb_wongwang(network.params, G=g, J_i=J_i)
        nsig = None if args.noise_sigma == 0 else np.array([args.noise_sigma**2 / 2.0])
        con = _connectivity(connectome, W, args.speed)
        coup = coupling.Linear(a=np.array([1.0]), b=np.array([0.0]))
        return con, model, coup, ("S_E", "S_I"), nsig

    return _run_lanes(connectome, network, run, "tvb-rww", make_lane)
