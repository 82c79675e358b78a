"""The simulation engine's front door: :func:`simulate` checks the runner's name and hands the
run to it.

Layout: :mod:`cmftvb.engine.plumbing` (result type, argument checks, bounds, initial state, run
record, progress; shared by both runners), :mod:`cmftvb.engine.numba_runner` (the fast runner,
``engine="numba"``) over the compiled kernels of :mod:`cmftvb.engine.core`,
:mod:`cmftvb.engine.tvb` (tvb-library's ``Simulator``, the reference, ``engine="tvb"``) and
:mod:`cmftvb.engine.rng` (the per-lane random streams).

Units are TVB's (docs/ARCHITECTURE.md): time ms, rates kHz, Wong-Wang gating variables
dimensionless, J_i nA. Randomness: one stream per lane key (subject, G, seed), the same for
every network model (:mod:`cmftvb.engine.rng`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cmftvb import CmftvbError
from cmftvb.engine.plumbing import (
    MONITORS,
    OUTPUT_VARS,
    RATE_VARS,
    CompactVariables,
    RunArgs,
    SimResult,
    check_engine,
    check_run_args,
)
from cmftvb.network import NetworkSpec

__all__ = [
    "MONITORS",
    "OUTPUT_VARS",
    "RATE_VARS",
    "CompactVariables",
    "RunArgs",
    "SimResult",
    "check_run_args",
    "simulate",
]


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
    J_i: Any = None,
    chunk_steps: int | None = None,
    lane_layout: str = "auto",
    sink: Callable[[int, SimResult], None] | None = None,
) -> SimResult:
    """Integrate ``network`` on ``connectome`` for ``duration`` ms; one lane per seed.

    ``G``: global coupling (default the preset's ``coupling.G``), a scalar or one value per
    seed. ``noise_sigma``: additive noise standard deviation per sqrt(ms) on every state
    variable (TVB ``nsig = sigma**2 / 2``). ``speed`` mm/ms. ``initial``: constant initial
    history per named variable, e.g. ``{"S_E": 0.1}``. ``monitor``: ``raw`` (state every
    ``monitor_period``) or ``mean`` (average over each period); ``monitor_period`` (ms, a
    multiple of ``dt``, default ``dt``). ``progress(percent, simulated_s_per_wall_s, eta_s)``
    is called every few percent. ``bold_var``: BOLD input variable per node model (default
    S_E / GrC). ``J_i``: inhibitory-to-excitatory weight (nA) of the Wong-Wang nodes, None
    (the preset's scalar ``wongwang.J_i``) or an array (N,) or (L, N) (per lane and node; read
    at Wong-Wang nodes only), e.g. from feedback inhibition control.

    ``engine``: ``numba`` (:func:`cmftvb.engine.numba_runner.simulate_numba`) or ``tvb``
    (:func:`cmftvb.engine.tvb.simulate_tvb`, tvb-library's ``Simulator``). Numba only:
    ``chunk_steps``, steps per call of the compiled loop, between progress reports (results
    do not depend on it); ``lane_layout``: ``inner`` integrates all lanes in one pass with the
    lane axis innermost (one edge visit serves every lane; the local models run as SIMD code
    over lanes); ``sequential`` integrates the lanes one after the other, chunk by chunk, each
    with its own history buffer; ``auto`` (default) picks ``inner``. Results are bitwise
    identical in both layouts. ``sink(first_sample, chunk)`` (numba only): the monitored
    samples go to ``sink`` chunk by chunk instead of into the result, so memory does not grow
    with ``duration``. After every chunk of ``chunk_steps`` steps (rounded up to whole monitor
    periods) that wrote samples, ``sink`` receives the index of the chunk's first sample in the
    run and ``chunk``, a :class:`SimResult` of those samples alone: ``chunk.time_ms`` (t,),
    ``chunk["GrC"]`` etc. (S, t, N) as the whole run's result would hold them in rows
    ``first_sample`` .. ``first_sample + t - 1`` (lanes in seed order, NaN where a node lacks
    the variable), ``chunk.bold_input`` (S, t, N), ``chunk.labels``, ``chunk.params`` (the run
    record). ``chunk.bold_input`` is a read-only view of a buffer that the next chunk
    overwrites: copy what must outlive the call. The returned result then holds no samples
    (``time_ms`` of length 0; ``params["sink_samples"]`` says how many went to the sink).
    The tvb runner refuses these options (:class:`CmftvbError`).
    """
    run = dict(
        duration=duration, dt=dt, seeds=seeds, noise_sigma=noise_sigma, G=G, speed=speed,
        initial=initial, monitor=monitor, monitor_period=monitor_period, subject=subject,
        progress=progress, bold_var=bold_var, J_i=J_i,
    )  # fmt: skip
    if check_engine(engine) == "tvb":
        if chunk_steps is not None or lane_layout != "auto" or sink is not None:
            raise CmftvbError(
                "chunk_steps / lane_layout / sink: options of the numba engine, not of engine='tvb'"
            )
        from cmftvb.engine.tvb import simulate_tvb

        return simulate_tvb(connectome, network, **run)
    from cmftvb.engine.numba_runner import simulate_numba

    return simulate_numba(
        connectome, network, **run, chunk_steps=chunk_steps, lane_layout=lane_layout, sink=sink
    )
