"""The fast simulation engine: :func:`simulate` integrates a network built by
:func:`cmftvb.network.build_network` with the compiled loop of :mod:`cmftvb.engine.core`.

Units are TVB's (docs/ARCHITECTURE.md): time ms, rates kHz, Wong-Wang gating variables
dimensionless. Integration: stochastic Heun with additive noise sigma per sqrt(ms) on every
state variable (MODEL.md §5), delays rounded to whole steps as tvb-library does
(docs/TVB-CONVENTIONS.md). Randomness: one stream per lane key (subject, model, G, seed)
(:mod:`cmftvb.engine.rng`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from cmftvb import CmftvbError
from cmftvb.network import BOLD_VAR, MODEL_VARS, EdgeList, NetworkSpec, expand_edges

#: State variables of a :class:`SimResult`, in order.
OUTPUT_VARS = ("S_E", "S_I", "GrC", "GoC", "MLI", "PC")
#: Monitored rates of the Wong-Wang populations (Hz): H_E and H_I of MODEL.md §3 (numba engine).
RATE_VARS = ("r_E", "r_I")
MONITORS = ("raw", "mean")


@dataclasses.dataclass
class SimResult:
    """Monitored output of a simulation.

    ``time_ms`` (T,): sample times (ms; ``raw``: the state after ``m`` periods, at
    ``m * period``; ``mean``: window centres ``(m - 1/2) * period``). ``labels`` (N,).
    ``variables``: name -> (S, T, N) float64 array for each variable that some node has (subset
    of :data:`OUTPUT_VARS`, then the Wong-Wang rates :data:`RATE_VARS` in Hz from the numba
    engine; NaN where a node's model lacks it), S = number of lanes. ``r_E``/``r_I`` are the
    rates of each step's predictor evaluation (the state at t - dt with the coupling of step t):
    ``raw`` samples the last step of a period, ``mean`` averages the period's steps.
    ``bold_input`` (S, T, N): the BOLD input variable of each node. ``params``: plain JSON-able
    record of the run.
    """

    time_ms: np.ndarray
    labels: np.ndarray
    variables: Mapping[str, np.ndarray]
    bold_input: np.ndarray
    params: dict[str, Any]

    def __getattr__(self, name: str) -> np.ndarray:
        variables = self.__dict__.get("variables", {})
        if name in variables:
            return variables[name]
        raise AttributeError(name)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.variables[name]

    def iter_arrays(self, squeeze: bool = True):
        """Like :meth:`arrays`, one ``(name, array)`` at a time, without caching the padded
        variables (keeps peak memory low when writing long runs)."""
        one = squeeze and self.bold_input.shape[0] == 1
        yield "time_ms", self.time_ms
        yield "labels", self.labels
        build = getattr(self.variables, "build", self.variables.__getitem__)
        for name in self.variables:
            v = build(name)
            yield name, (v[0] if one else v)
            del v
        yield "bold_input", self.bold_input[0] if one else self.bold_input

    def arrays(self, squeeze: bool = True) -> dict[str, np.ndarray]:
        """Arrays to save: ``time_ms``, ``labels``, one per variable, ``bold_input``.

        With ``squeeze`` and a single lane, the leading lane axis is dropped ((T, N) arrays).
        """
        one = squeeze and self.bold_input.shape[0] == 1
        out = {"time_ms": self.time_ms, "labels": self.labels}
        for k, v in {**self.variables, "bold_input": self.bold_input}.items():
            out[k] = v[0] if one else v
        return out


class CompactVariables(Mapping):
    """Per-variable (S, T, N) arrays built on demand from compact samples ``[S, T, slots]``.

    The engine stores only the variables that nodes have (no NaN padding), so monitored output
    of long runs stays small; ``result["GrC"]`` builds (and caches) the padded array,
    :meth:`build` builds one without caching (for streaming writes).
    """

    def __init__(self, compact, slot_node, slot_var, n_nodes, names):
        self._compact = compact
        self._slot_node = slot_node
        self._slot_var = slot_var
        self._n = int(n_nodes)
        self._names = list(names)
        self._cache: dict[str, np.ndarray] = {}

    def build(self, name: str) -> np.ndarray:
        if name not in self._names:
            raise KeyError(name)
        sel = np.flatnonzero(self._slot_var == name)
        S, T, _ = self._compact.shape
        out = np.full((S, T, self._n), np.nan)
        out[:, :, self._slot_node[sel]] = self._compact[:, :, sel]
        return out

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = self.build(name)
        return self._cache[name]

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"CompactVariables({self._names}, shape {self._compact.shape})"


def _check_positive(name: str, value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise CmftvbError(f"{name}: expected a number, got {value!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise CmftvbError(f"{name}: must be positive and finite, got {value}")
    return value


def _whole_steps(name: str, value: float, dt: float) -> int:
    n = round(value / dt)
    if n < 1 or abs(n * dt - value) > 1e-9 * max(1.0, abs(value)):
        raise CmftvbError(f"{name} = {value} ms: not a positive whole number of steps of {dt} ms")
    return int(n)


def _bounds(params: Mapping[str, Any], node_model: Sequence[str], V: int):
    N = len(node_model)
    lo = np.full((N, V), -np.inf)
    hi = np.full((N, V), np.inf)
    bounds = params.get("bounds", {}) or {}
    for k, m in enumerate(node_model):
        for v, name in enumerate(MODEL_VARS[m]):
            b = bounds.get(name)
            if b is None:
                continue
            if b[0] is not None:
                lo[k, v] = float(b[0])
            if b[1] is not None:
                hi[k, v] = float(b[1])
    return lo, hi


def _initial_state(
    params: Mapping[str, Any],
    node_model: Sequence[str],
    V: int,
    gens: Sequence[np.random.Generator],
    initial: Mapping[str, float] | None,
    lo: np.ndarray,
    hi: np.ndarray,
) -> np.ndarray:
    """Initial state x[N, V, L] (constant history), MODEL.md §6 item 9 ranges.

    First variable (S_E or GrC) uniform in ``initial_history.first``, second (S_I or GoC) in
    ``initial_history.second``, MLI and PC the constants of ``initial_history``, background 0.
    Drawn per lane from its initial-condition stream, or, under the switch
    ``published_initial_history``, once from ``initial_history.seed`` for every lane.
    ``initial`` replaces named variables by constants. Bounds applied as TVB does.
    """
    N = len(node_model)
    L = len(gens)
    ih = params.get("initial_history")
    if not ih:
        raise CmftvbError("preset: missing initial_history (ranges of the initial state)")
    x = np.zeros((N, V, L))
    shared = bool(params.get("switches", {}).get("published_initial_history", False))
    lo1, hi1 = (float(v) for v in ih["first"])
    lo2, hi2 = (float(v) for v in ih["second"])
    for ln in range(L):
        g = np.random.default_rng(int(ih["seed"])) if shared else gens[ln]
        x[:, 0, ln] = g.uniform(lo1, hi1, size=N)
        x[:, 1, ln] = g.uniform(lo2, hi2, size=N)
    is_crbl = np.array([m == "crbl" for m in node_model])
    if is_crbl.any():
        x[is_crbl, 2, :] = float(ih["MLI"])
        x[is_crbl, 3, :] = float(ih["PC"])
    for name, value in (initial or {}).items():
        if name not in OUTPUT_VARS:
            raise CmftvbError(
                f"initial {name!r}: unknown state variable (choose from {', '.join(OUTPUT_VARS)})"
            )
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise CmftvbError(f"initial {name}: expected a number, got {value!r}") from None
        if not math.isfinite(value):
            raise CmftvbError(f"initial {name}: must be finite, got {value}")
        hit = False
        for k, m in enumerate(node_model):
            if name in MODEL_VARS[m]:
                x[k, MODEL_VARS[m].index(name), :] = value
                hit = True
        if not hit:
            raise CmftvbError(f"initial {name!r}: no node of this network has that variable")
    np.clip(x, lo[:, :, None], hi[:, :, None], out=x)
    return x


def _channels(edges: EdgeList):
    """Coupled source channels (node, variable) and CSR offsets of their edges."""
    key = edges.src * 16 + edges.src_var
    if key.size:
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    else:
        starts = np.zeros(0, dtype=np.int64)
    ch_node = np.ascontiguousarray(edges.src[starts], dtype=np.int64)
    ch_var = np.ascontiguousarray(edges.src_var[starts], dtype=np.int64)
    ch_ptr = np.r_[starts, key.size].astype(np.int64)
    return ch_node, ch_var, ch_ptr


def check_run_args(
    duration, dt, speed, seeds, noise_sigma, G, monitor, monitor_period, *, G_default=None
):
    """Validate the run arguments shared by every runner (the engine and the tvb-library bridge).

    Returns ``(duration, dt, speed, noise_sigma, n_steps, seeds, Gs, every)``: ``Gs`` has one
    value per seed (``G_default`` where ``G`` is None), ``every`` is the monitor period in steps.
    Raises :class:`CmftvbError` naming the argument.
    """
    dt = _check_positive("dt", dt)
    duration = _check_positive("duration", duration)
    speed = _check_positive("speed", speed)
    try:
        noise_sigma = float(noise_sigma)
    except (TypeError, ValueError):
        raise CmftvbError(f"noise_sigma: expected a number, got {noise_sigma!r}") from None
    if not (math.isfinite(noise_sigma) and noise_sigma >= 0):
        raise CmftvbError(f"noise_sigma: must be >= 0, got {noise_sigma}")
    if monitor not in MONITORS:
        raise CmftvbError(f"monitor {monitor!r}: choose from {', '.join(MONITORS)}")
    n_steps = _whole_steps("duration", duration, dt)
    period = dt if monitor_period is None else _check_positive("monitor_period", monitor_period)
    every = _whole_steps("monitor_period", period, dt)
    if n_steps // every < 1:
        raise CmftvbError(f"duration {duration} ms is shorter than monitor_period {period} ms")
    seeds = [seeds] if isinstance(seeds, int | np.integer) else list(seeds)
    if not seeds:
        raise CmftvbError("seeds: at least one seed is needed")
    if G is None:
        Gs = [G_default] * len(seeds)
    elif np.ndim(G) == 0:
        Gs = [float(G)] * len(seeds)
    else:
        Gs = [float(g) for g in G]
        if len(Gs) != len(seeds):
            raise CmftvbError(f"G: {len(Gs)} values for {len(seeds)} seeds")
    return duration, dt, speed, noise_sigma, n_steps, seeds, Gs, every


def simulate(
    connectome: Any,
    network: NetworkSpec,
    *,
    duration: float,
    dt: float,
    seeds: Sequence[int] | int,
    noise_sigma: float,
    G: float | Sequence[float] | None = None,
    speed: float,
    initial: Mapping[str, float] | None = None,
    monitor: str = "raw",
    monitor_period: float | None = None,
    subject: str = "",
    progress: Callable[[float, float, float], None] | None = None,
    engine: str = "numba",
    bold_var: Mapping[str, str] | None = None,
    chunk_steps: int | None = None,
    lane_layout: str = "auto",
) -> SimResult:
    """Integrate ``network`` on ``connectome`` for ``duration`` ms; one lane per seed.

    ``G``: global coupling (default the preset's ``coupling.G``), a scalar or one value per
    seed. ``noise_sigma``: additive noise standard deviation per sqrt(ms) on every state
    variable (TVB ``nsig = sigma**2 / 2``). ``speed`` mm/ms. ``initial``: constant initial
    history per named variable, e.g. ``{"S_E": 0.1}``. ``monitor``: ``raw`` (state every
    ``monitor_period``) or ``mean`` (average over each period); ``monitor_period`` (ms, a
    multiple of ``dt``, default ``dt``). ``progress(percent, simulated_s_per_wall_s, eta_s)``
    is called every few percent. ``bold_var``: BOLD input variable per node model (default
    S_E / GrC). ``engine="tvb"`` runs :func:`cmftvb.engine.tvb.simulate_tvb` instead.
    ``chunk_steps``: steps per call of the compiled loop, between progress reports (results
    do not depend on it). ``lane_layout``:
    ``inner`` integrates all lanes in one pass with the lane axis innermost (one edge visit
    serves every lane; the local models run as SIMD code over lanes); ``sequential``
    integrates the lanes one after the other, chunk by chunk, each with its own history
    buffer. ``auto`` (default) picks ``inner``. Results are bitwise identical in both layouts.
    """
    if engine == "tvb":
        from cmftvb.engine.tvb import simulate_tvb

        return simulate_tvb(
            connectome,
            network,
            duration=duration,
            dt=dt,
            seeds=seeds,
            noise_sigma=noise_sigma,
            G=G,
            speed=speed,
            initial=initial,
            monitor=monitor,
            monitor_period=monitor_period,
            subject=subject,
            progress=progress,
            bold_var=bold_var,
        )
    if engine != "numba":
        raise CmftvbError(f"engine {engine!r}: choose numba or tvb")
    from cmftvb.engine import core
    from cmftvb.engine.rng import lane_streams
    from cmftvb.models import crbl, wongwang

    duration, dt, speed, noise_sigma, n_steps, seeds, Gs, every = check_run_args(
        duration,
        dt,
        speed,
        seeds,
        noise_sigma,
        G,
        monitor,
        monitor_period,
        G_default=float(network.params["coupling"]["G"]),
    )
    n_samples = n_steps // every
    params = network.params
    L = len(seeds)

    node_model = list(network.node_model)
    N = len(node_model)
    has_crbl = "crbl" in node_model
    edges = expand_edges(connectome, network, dt, speed)

    bgk = {"none": core.BG_NONE, "ou": core.BG_OU, "constant": core.BG_CONSTANT}
    bg = np.array([core.BG_NONE, 0.0, 0.0, 1.0])
    pc = np.zeros(1)
    if has_crbl:
        cp = params["crbl"]
        if int(cp.get("order", 1)) != 1:
            raise CmftvbError(
                f"crbl.order = {cp.get('order')}: the network engine integrates order 1 only"
            )
        bgp = cp.get("background", {"kind": "none"})
        if bgp.get("kind") not in bgk:
            raise CmftvbError(f"crbl.background.kind {bgp.get('kind')!r}: choose ou/constant/none")
        bg = np.array(
            [
                bgk[bgp["kind"]],
                float(bgp.get("weight", 0.0)),
                float(bgp.get("mean", 0.0)),
                float(bgp.get("tau", 1.0)),
            ]
        )
        if bg[0] == core.BG_OU and not bg[3] > 0:
            raise CmftvbError("crbl.background.tau must be positive")
        pc = crbl.pack(params)
    V = 5 if has_crbl else 2
    pw = wongwang.pack(params)  # shared; each lane's G is passed apart (gl)
    gl = np.asarray(Gs, dtype=np.float64)

    kind = np.array([core.KIND_CRBL if m == "crbl" else core.KIND_WW for m in node_model])
    # runs of consecutive nodes of one model: [first node, end node, kind]
    starts = np.flatnonzero(np.r_[True, kind[1:] != kind[:-1]])
    runs = np.ascontiguousarray(
        np.stack([starts, np.r_[starts[1:], N], kind[starts]], axis=1), dtype=np.int64
    )

    lo, hi = _bounds(params, node_model, V)
    # bounds per model kind (the preset's bounds are per variable name, so per model)
    klo = np.full((2, 5), -np.inf)
    khi = np.full((2, 5), np.inf)
    for kd in (core.KIND_WW, core.KIND_CRBL):
        sel = np.flatnonzero(kind == kd)
        if sel.size:
            klo[kd, :V] = lo[sel[0]]
            khi[kd, :V] = hi[sel[0]]
    streams = [
        lane_streams(subject, network.model, g, int(s)) for g, s in zip(Gs, seeds, strict=True)
    ]
    keys = np.array([st[0] for st in streams], dtype=np.uint64)  # [L, 2] Philox keys
    x = _initial_state(params, node_model, V, [st[1] for st in streams], initial, lo, hi)

    ch_node, ch_var, ch_ptr = _channels(edges)
    D = edges.max_delay + 1
    chan = np.repeat(np.arange(ch_node.size), np.diff(ch_ptr))
    if max(ch_node.size * 2 * D, 2 * N) >= 2**32:
        raise CmftvbError(
            f"network too large for the engine's 32-bit history indices "
            f"({ch_node.size} coupled variables x {2 * D} delay slots)"
        )
    # unsigned 32-bit edge indices: half the index traffic of int64, no wrap-around test
    e_base = np.ascontiguousarray(chan * 2 * D + D - edges.delay, dtype=np.uint32)
    # coupling input slot (input-major, as the engine's state): input * N + target
    e_slot = np.ascontiguousarray(edges.tgt_input * N + edges.tgt, dtype=np.uint32)
    # long edges (delay >= BLOCK - 1 steps) are summed BLOCK steps at a time (core.run_steps)
    is_long = np.asarray(edges.delay) >= core.BLOCK - 1
    e_w = np.ascontiguousarray(edges.weight, dtype=np.float64)
    el = (e_base[is_long].copy(), e_slot[is_long].copy(), e_w[is_long].copy())
    es = (e_base[~is_long].copy(), e_slot[~is_long].copy(), e_w[~is_long].copy())

    present = [v for v in OUTPUT_VARS if any(v in MODEL_VARS[m] for m in node_model)]
    bmap = dict(BOLD_VAR)
    bmap.update(bold_var or {})
    for m in dict.fromkeys(node_model):  # each model once, in node order
        if bmap.get(m) not in MODEL_VARS[m]:
            raise CmftvbError(f"bold_var[{m}] = {bmap.get(m)!r}: not a variable of {m}")
    # compact monitor columns: first the BOLD input variable of every node, in node order (so
    # that bold_input is a view of the samples, not a copy), then the others, then the rates
    outslot = np.full((N, V), -1, dtype=np.int64)
    rslot = np.full((N, 2), -1, dtype=np.int64)
    slot_node, slot_var = [], []
    for k, m in enumerate(node_model):
        outslot[k, MODEL_VARS[m].index(bmap[m])] = len(slot_node)
        slot_node.append(k)
        slot_var.append(bmap[m])
    for k, m in enumerate(node_model):
        for v, name in enumerate(MODEL_VARS[m]):
            if outslot[k, v] < 0:
                outslot[k, v] = len(slot_node)
                slot_node.append(k)
                slot_var.append(name)
    if "wongwang" in node_model:
        present += list(RATE_VARS)
        for k, m in enumerate(node_model):
            if m == "wongwang":
                for j, name in enumerate(RATE_VARS):
                    rslot[k, j] = len(slot_node)
                    slot_node.append(k)
                    slot_var.append(name)
    mon = np.empty((L, n_samples, len(slot_node)))
    if chunk_steps is None:
        chunk_steps = max(1, min(2000, math.ceil(n_steps / 50)))
    chunk_steps = int(chunk_steps)
    if lane_layout == "auto":
        lane_layout = "inner"
    if lane_layout == "inner":
        blocks = [(0, L)]
    elif lane_layout == "sequential":
        blocks = [(ln, ln + 1) for ln in range(L)]
    else:
        raise CmftvbError(f"lane_layout {lane_layout!r}: choose auto, inner or sequential")
    groups = []
    for a, b in blocks:
        xg = np.ascontiguousarray(x[:, :, a:b].transpose(1, 0, 2))  # [V, N, lanes]
        hist = np.empty((ch_node.size, 2 * D, b - a))
        hist[:] = xg[ch_var, ch_node, :][:, None, :]  # constant initial history
        groups.append(
            {
                "a": a,
                "b": b,
                "x": xg,
                "hist": hist.reshape(-1),
                "acc": np.zeros((V, N, b - a)),
                "rt": np.zeros((2, N, b - a)),
                "accr": np.zeros((2, N, b - a)),
                "cin": np.zeros(2 * N * (b - a)),
                "cblk": np.zeros(2 * N * core.BLOCK * (b - a)),
                "err": np.full(4, -1, dtype=np.int64),
                "state": np.array([0, 0, 0], dtype=np.int64),
                "glq": np.tile(gl[a:b], N),  # G of each (node, lane)
                # node and noise key of each (node, lane) pair
                "qnode": np.repeat(np.arange(N, dtype=np.uint64), b - a),
                "qk0": np.tile(keys[a:b, 0], N),
                "qk1": np.tile(keys[a:b, 1], N),
            }
        )
    mode = core.MON_MEAN if monitor == "mean" else core.MON_RAW

    sig_sqdt = noise_sigma * math.sqrt(dt)

    t0 = time.perf_counter()
    last_pct = -1.0
    done = 0
    while done < n_steps:
        n = min(chunk_steps, n_steps - done)
        for g in groups:
            a, b, err = g["a"], g["b"], g["err"]
            try:
                core.run_steps(
                    g["x"], g["hist"], D, g["state"], g["cin"], g["cblk"], g["qnode"], g["qk0"],
                    g["qk1"], n, dt, sig_sqdt,
                    runs, ch_node, ch_var, *el, *es, pw, g["glq"], pc, klo, khi, bg,
                    mode, every, g["acc"], g["rt"], g["accr"], outslot, rslot, mon[a:b], err,
                )  # fmt: skip
            except ArithmeticError as exc:  # raised in a local model on absurd (finite) states
                raise CmftvbError(
                    f"simulation diverged: {exc} in a local model between t = {done * dt:.10g} "
                    f"and {(done + n) * dt:.10g} ms (seeds {seeds[a:b]}, dt {dt} ms)"
                ) from None
            if err[0] >= 0:
                k, v, ln = int(err[1]), int(err[2]), a + int(err[3])
                names = (*MODEL_VARS[node_model[k]], "mossy_ou")
                raise CmftvbError(
                    f"simulation diverged: non-finite {names[v]} in node {k} "
                    f"{network.labels[k]!r} at t = {err[0] * dt:.10g} ms "
                    f"(seed {seeds[ln]}, G {Gs[ln]:g}, dt {dt} ms)"
                )
        done += n
        if progress is not None:
            pct = 100.0 * done / n_steps
            if pct - last_pct >= 1.0 or done == n_steps:
                wall = time.perf_counter() - t0
                rate = (done * dt / 1000.0) / wall if wall > 0 else float("inf")
                eta = wall * (n_steps - done) / done
                progress(pct, rate, eta)
                last_pct = pct

    if monitor == "mean":
        time_ms = (np.arange(1, n_samples + 1) * every - every / 2.0) * dt
    else:
        time_ms = np.arange(1, n_samples + 1) * every * dt
    run_params = {
        "engine": "numba",
        "model": network.model,
        "preset": network.preset,
        "subject": subject,
        "seeds": [int(s) for s in seeds],
        "G": Gs,
        "duration_ms": duration,
        "dt_ms": dt,
        "n_steps": n_steps,
        "noise_sigma": noise_sigma,
        "speed_mm_per_ms": speed,
        "monitor": monitor,
        "monitor_period_ms": every * dt,
        "initial": dict(initial or {}),
        "bold_var": bmap,
        "n_edges": len(edges),
        "max_delay_steps": edges.max_delay,
        "connectome_digest": network.connectome_digest,
        "rng": (
            "Philox4x32-10, key SeedSequence(sha256([subject, model, repr(G), seed])).spawn(2)[0]"
            ".generate_state(2, uint32), counter (step mod 2^32, step div 2^32, node, pair); "
            "Box-Muller"
        ),
        "network": {
            "node_model": node_model,
            "projections": network.projections,
        },
        "preset_params": params,
    }
    return SimResult(
        time_ms=time_ms,
        labels=np.array(network.labels),
        variables=CompactVariables(mon, np.array(slot_node), np.array(slot_var), N, present),
        bold_input=mon[:, :, :N],  # a view (columns 0..N-1, above)
        params=run_params,
    )
