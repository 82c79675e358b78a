"""Run plumbing shared by both runners (the numba engine and the tvb-library bridge).

Written once here: the result type (:class:`SimResult`, :class:`CompactVariables`), the checks
of the run arguments (:func:`check_run_args`, :func:`check_J_i`, :func:`bold_map`), the state
bounds and the random initial state (:func:`bounds`, :func:`initial_state`), the run-parameter
record (:func:`run_record`) and the progress arithmetic (:class:`Progress`).

Units are TVB's (docs/ARCHITECTURE.md): time ms, rates kHz, Wong-Wang gating variables
dimensionless, J_i nA.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from cmftvb import CmftvbError
from cmftvb.connectome.validate import number
from cmftvb.network import BOLD_VAR, MODEL_VARS, NetworkSpec

#: State variables of a :class:`SimResult`, in order.
OUTPUT_VARS = ("S_E", "S_I", "GrC", "GoC", "MLI", "PC")
#: Monitored rates of the Wong-Wang populations (Hz): H_E and H_I of MODEL.md §3 (numba engine).
RATE_VARS = ("r_E", "r_I")
MONITORS = ("raw", "mean")
ENGINES = ("numba", "tvb")


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


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _whole_steps(name: str, value: float, dt: float) -> int:
    n = round(value / dt)
    if n < 1 or abs(n * dt - value) > 1e-9 * max(1.0, abs(value)):
        raise CmftvbError(f"{name} = {value} ms: not a positive whole number of steps of {dt} ms")
    return int(n)


class RunArgs(NamedTuple):
    """Checked run arguments (:func:`check_run_args`); a tuple in this order."""

    duration: float  #: ms
    dt: float  #: ms
    speed: float  #: mm/ms
    noise_sigma: float  #: per sqrt(ms)
    n_steps: int
    seeds: list
    Gs: list  #: one G per seed
    every: int  #: monitor period in steps


#: Keyword arguments of the runners (required ones first) and the defaults of the others;
#: the numba runner also takes ``chunk_steps`` and ``lane_layout``.
RUN_REQUIRED = ("duration", "dt", "seeds", "noise_sigma", "speed")
RUN_OPTIONAL = {
    "G": None,
    "initial": None,
    "monitor": "raw",
    "monitor_period": None,
    "subject": "",
    "progress": None,
    "bold_var": None,
    "J_i": None,
}


def run_keywords(run: Mapping[str, Any], runner: str) -> dict[str, Any]:
    """A runner's keywords with defaults filled in; unknown or missing ones raise
    :class:`CmftvbError` naming ``runner`` (e.g. ``"the tvb-library runner"``)."""
    extra = sorted(set(run) - set(RUN_REQUIRED) - set(RUN_OPTIONAL))
    if extra:
        raise CmftvbError(f"{', '.join(extra)}: not an option of {runner}")
    missing = [k for k in RUN_REQUIRED if k not in run]
    if missing:
        raise CmftvbError(f"{', '.join(missing)}: required by {runner}")
    return {**RUN_OPTIONAL, **run}


def check_run(run: Mapping[str, Any], network: NetworkSpec) -> RunArgs:
    """:func:`check_run_args` of a runner's keywords (:func:`run_keywords`); ``G`` defaults to
    the preset's ``coupling.G``."""
    return check_run_args(
        run["duration"], run["dt"], run["speed"], run["seeds"], run["noise_sigma"], run["G"],
        run["monitor"], run["monitor_period"],
        G_default=float(network.params["coupling"]["G"]),
    )  # fmt: skip


def check_run_args(
    duration, dt, speed, seeds, noise_sigma, G, monitor, monitor_period, *, G_default=None
) -> RunArgs:
    """Validate the run arguments shared by every runner (the engine and the tvb-library bridge).

    Returns a :class:`RunArgs` ``(duration, dt, speed, noise_sigma, n_steps, seeds, Gs,
    every)``: ``Gs`` has one value per seed (``G_default`` where ``G`` is None), ``every`` is
    the monitor period in steps. Raises :class:`CmftvbError` naming the argument.
    """
    dt = number(dt, "dt", positive=True)
    duration = number(duration, "duration", positive=True)
    speed = number(speed, "speed", positive=True)
    noise_sigma = number(noise_sigma, "noise_sigma", nonnegative=True)
    if monitor not in MONITORS:
        raise CmftvbError(f"monitor {monitor!r}: choose from {', '.join(MONITORS)}")
    n_steps = _whole_steps("duration", duration, dt)
    period = (
        dt if monitor_period is None else number(monitor_period, "monitor_period", positive=True)
    )
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
    return RunArgs(duration, dt, speed, noise_sigma, n_steps, seeds, Gs, every)


def check_J_i(J_i, network: NetworkSpec, n_lanes: int) -> np.ndarray:
    """The inhibitory-to-excitatory weight ``J_i`` (nA) of every (lane, node): array (L, N).

    ``J_i`` None: the preset's scalar ``wongwang.J_i`` everywhere; else an array of shape (N,)
    (every lane alike) or (L, N) (per lane, per node), finite and >= 0. Only Wong-Wang nodes
    read it (the value at other nodes is ignored and may be anything finite).
    """
    N = network.n_nodes
    if J_i is None:
        return np.full((n_lanes, N), float(network.params["wongwang"]["J_i"]))
    try:
        arr = np.array(J_i, dtype=np.float64)
    except (TypeError, ValueError):
        raise CmftvbError("J_i: expected an array of numbers (nA)") from None
    if arr.shape == (N,):
        arr = np.broadcast_to(arr, (n_lanes, N))
    elif arr.shape != (n_lanes, N):
        raise CmftvbError(
            f"J_i: shape {arr.shape}, expected ({N},) or ({n_lanes}, {N}) (lanes, nodes)"
        )
    ww = np.array([m == "wongwang" for m in network.node_model])
    sel = arr[:, ww]
    if not np.all(np.isfinite(arr)) or np.any(sel < 0):
        raise CmftvbError("J_i: every value must be finite and >= 0 (nA)")
    return np.ascontiguousarray(arr)


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise CmftvbError(f"engine {engine!r}: choose {' or '.join(ENGINES)}")
    return engine


def bold_map(node_model: Sequence[str], bold_var: Mapping[str, str] | None) -> dict[str, str]:
    """BOLD input variable per node model (default :data:`cmftvb.network.BOLD_VAR`), checked
    for each model present, in node order."""
    bmap = dict(BOLD_VAR)
    bmap.update(bold_var or {})
    for m in dict.fromkeys(node_model):  # each model once, in node order
        if bmap.get(m) not in MODEL_VARS[m]:
            raise CmftvbError(f"bold_var[{m}] = {bmap.get(m)!r}: not a variable of {m}")
    return bmap


def present_vars(node_model: Sequence[str]) -> list[str]:
    """The :data:`OUTPUT_VARS` that some node has, in order."""
    return [v for v in OUTPUT_VARS if any(v in MODEL_VARS[m] for m in node_model)]


# --------------------------------------------------------------------------------------------
# Bounds and initial state
# --------------------------------------------------------------------------------------------


def bounds(params: Mapping[str, Any], node_model: Sequence[str], V: int):
    """(lo, hi), each (N, V): the preset's state bounds of every node's variables."""
    N = len(node_model)
    lo = np.full((N, V), -np.inf)
    hi = np.full((N, V), np.inf)
    bnd = params.get("bounds", {}) or {}
    for k, m in enumerate(node_model):
        for v, name in enumerate(MODEL_VARS[m]):
            b = bnd.get(name)
            if b is None:
                continue
            if b[0] is not None:
                lo[k, v] = float(b[0])
            if b[1] is not None:
                hi[k, v] = float(b[1])
    return lo, hi


def lane_streams(subject: str, Gs: Sequence[float], seeds: Sequence[int]):
    """The random streams of every lane: list of (noise key, initial-condition generator)
    (:func:`cmftvb.engine.rng.lane_streams`; keyed by subject, G and seed, not the model)."""
    from cmftvb.engine import rng

    return [rng.lane_streams(subject, g, int(s)) for g, s in zip(Gs, seeds, strict=True)]


def initial_state(
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
    ``published_initial_history``, once from ``initial_history.seed`` for every lane: N values
    for the first variables in node order, then N for the second, whatever each node's model,
    so that a node's draw does not depend on the models of the others (common random numbers
    across network variants, issue 10). ``initial`` replaces named variables by constants.
    Bounds applied as TVB does.
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
        _set_initial(x, node_model, name, value)
    np.clip(x, lo[:, :, None], hi[:, :, None], out=x)
    return x


def _set_initial(x: np.ndarray, node_model: Sequence[str], name: str, value: Any) -> None:
    if name not in OUTPUT_VARS:
        raise CmftvbError(
            f"initial {name!r}: unknown state variable (choose from {', '.join(OUTPUT_VARS)})"
        )
    value = number(value, f"initial {name}")
    hit = False
    for k, m in enumerate(node_model):
        if name in MODEL_VARS[m]:
            x[k, MODEL_VARS[m].index(name), :] = value
            hit = True
    if not hit:
        raise CmftvbError(f"initial {name!r}: no node of this network has that variable")


# --------------------------------------------------------------------------------------------
# Run record, sample times, progress
# --------------------------------------------------------------------------------------------

#: How the numba engine draws its randomness (the run record's ``rng``).
RNG_NUMBA = (
    "Philox4x32-10, key SeedSequence(sha256([subject, repr(G), seed])).spawn(2)[0]"
    ".generate_state(2, uint32), counter (step mod 2^32, step div 2^32, node, pair); "
    "Box-Muller"
)


def run_record(
    engine: str,
    network: NetworkSpec,
    subject: str,
    args: RunArgs,
    monitor: str,
    initial: Mapping[str, float] | None,
    bmap: Mapping[str, str],
    edges: Any,
    rng: str,
    J_i: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    """The plain JSON-able record of a run (:attr:`SimResult.params`). ``J_i`` (the argument
    as given, None for the preset's scalar) is recorded only when given; ``extra`` keys follow
    ``rng``."""
    rec = {
        "engine": engine,
        "model": network.model,
        "preset": network.preset,
        "subject": subject,
        "seeds": [int(s) for s in args.seeds],
        "G": [float(g) for g in args.Gs],
        "duration_ms": args.duration,
        "dt_ms": args.dt,
        "n_steps": args.n_steps,
        "noise_sigma": args.noise_sigma,
        "speed_mm_per_ms": args.speed,
        "monitor": monitor,
        "monitor_period_ms": args.every * args.dt,
        "initial": dict(initial or {}),
        "bold_var": dict(bmap),
        "n_edges": len(edges),
        "max_delay_steps": edges.max_delay,
        "connectome_digest": network.connectome_digest,
        "rng": rng,
        **extra,
        "network": {
            "node_model": list(network.node_model),
            "projections": network.projections,
        },
        "preset_params": network.params,
    }
    if J_i is not None:
        rec["J_i_nA"] = np.asarray(J_i, dtype=np.float64).tolist()
    return rec


def sample_times(monitor: str, n_samples: int, every: int, dt: float, first: int = 0) -> np.ndarray:
    """Sample times (ms) of samples ``first`` .. ``first + n_samples - 1`` of a run: ``raw``
    the end of each period, ``mean`` its centre."""
    m = np.arange(first + 1, first + n_samples + 1)
    if monitor == "mean":
        return (m * every - every / 2.0) * dt
    return m * every * dt


class Progress:
    """Calls ``progress(percent, simulated_s_per_wall_s, eta_s)`` every percent or so of
    ``total_steps`` steps of ``dt`` ms (and at the end); :meth:`update` takes the steps done."""

    def __init__(
        self, progress: Callable[[float, float, float], None] | None, total_steps: int, dt: float
    ):
        self.progress, self.total, self.dt = progress, total_steps, dt
        self.last = -1.0
        self.t0 = time.perf_counter()

    def update(self, done: int) -> None:
        if self.progress is None:
            return
        pct = 100.0 * done / self.total
        if pct - self.last >= 1.0 or done == self.total:
            wall = time.perf_counter() - self.t0
            rate = (done * self.dt / 1000.0) / wall if wall > 0 else float("inf")
            self.progress(pct, rate, wall * (self.total - done) / done)
            self.last = pct
