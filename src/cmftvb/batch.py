"""One simulation batch of the workflow (rule simulate): a subject's network run at one
coupling G for a batch of seeds, the seeds being lanes of one engine run
(:func:`cmftvb.engine.simulate`; each seed's result does not depend on its batch).

Monitored: population rates and the BOLD input variable averaged over ``monitor_period_ms``
(``monitor="mean"``). ``store="activity"``: the whole monitored activity, saved with
:func:`cmftvb.io.save_simulation_packed`; ``store="signals"``: the samples stream into
:class:`cmftvb.signals.stream_run.StudySignals` and only what the signal stage and the
article's rules use is kept (:data:`cmftvb.io.SIMULATION_SIGNALS`), independent of the
simulated time.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cmftvb import CmftvbError

log = logging.getLogger(__name__)

#: Values of ``simulation.store``: what the rule simulate keeps.
STORES = ("signals", "activity")
#: Units of the monitored arrays.
UNITS = {"time_ms": "ms", "S_E": "1", "S_I": "1", "rates": "kHz", "r_E/r_I": "Hz"}


def progress_logger(duration_ms: float):
    """Progress callback for :func:`cmftvb.engine.simulate` that logs percent done, simulated
    seconds, simulated s per wall s and the ETA (s)."""
    duration_s = duration_ms / 1000.0

    def progress(percent: float, rate: float, eta_s: float) -> None:
        log.info(
            "%5.1f%% | %.1f of %.1f s simulated | %.3g simulated s per wall s | ETA %.0f s",
            percent,
            percent / 100.0 * duration_s,
            duration_s,
            rate,
            eta_s,
        )

    return progress


def simulate_batch(
    connectome: Any,
    network: Any,
    *,
    G: float,
    seeds: Sequence[int],
    duration_ms: float,
    dt_ms: float,
    monitor_period_ms: float,
    noise_sigma: float | None = None,
    speed: float | None = None,
    engine: str = "numba",
    subject: str = "",
    J_i: Any = None,
    initial: Mapping[str, float] | None = None,
    store: str = "activity",
    stream: Mapping[str, Any] | None = None,
    sink_factory: Any = None,
) -> tuple[Any, dict]:
    """Run one batch: (the engine's result, or under ``store="signals"`` the arrays of a
    :data:`cmftvb.io.SIMULATION_SIGNALS` file; a meta record for the saved file).

    ``noise_sigma`` (per sqrt(ms)) and ``speed`` (mm/ms) default to the network preset's
    (``integration``); durations in ms. Each seed's random stream is keyed by (``subject``,
    G, seed), as with ``cmftvb simulate`` (the same in every model variant: common random
    numbers). ``J_i``: per-node inhibitory weight (nA, (N,)), e.g. from feedback inhibition
    control (:func:`cmftvb.fic.j_i_for_engine`); forwarded to the engine only when given (else
    the preset's scalar ``wongwang.J_i``). ``initial``: constant initial state per variable
    (e.g. :func:`cmftvb.gstar.fic_initial`), forwarded only when given (else the preset's
    random initial history). ``store``: ``"activity"`` or ``"signals"`` (config
    ``simulation.store``); with ``"signals"`` the engine's samples go to the sink
    ``sink_factory(len(seeds), period_ms=monitor_period_ms, roles=connectome.roles,
    **stream)`` (:class:`cmftvb.signals.stream_run.StudySignals`, passed in by the rule's
    script: this stage does not import the signal stage; ``stream``: its settings) and the
    result is ``sink.arrays()`` with ``labels``, ``seeds`` and the engine's ``params`` (JSON
    text); the meta record then holds ``sink.settings`` under ``options``.
    """
    from cmftvb.engine import simulate

    sink = None
    if store not in STORES:
        raise CmftvbError(f"config key 'simulation.store': {store!r} is not one of {STORES}")
    if store == "signals":
        if stream is None or sink_factory is None:
            raise CmftvbError("store 'signals' needs the stream settings and a sink factory")
        sink = sink_factory(
            len(seeds), period_ms=float(monitor_period_ms), roles=connectome.roles, **stream
        )
    integration = network.params["integration"]
    seeds = [int(s) for s in seeds]
    G = float(G)
    sigma = float(integration["noise_sigma"] if noise_sigma is None else noise_sigma)
    speed = float(integration["speed"] if speed is None else speed)
    log.info("%s", network.summary())
    log.info(
        "engine %s: %g ms at dt %g ms, G %g, seeds %s, noise sigma %g, speed %g mm/ms",
        engine,
        duration_ms,
        dt_ms,
        G,
        seeds,
        sigma,
        speed,
    )
    result = simulate(
        connectome,
        network,
        duration=duration_ms,
        dt=dt_ms,
        seeds=seeds,
        noise_sigma=sigma,
        G=G,
        speed=speed,
        monitor="mean",
        monitor_period=monitor_period_ms,
        subject=subject,
        progress=progress_logger(duration_ms),
        engine=engine,
        **({} if sink is None or engine == "tvb" else {"sink": sink}),
        **({} if J_i is None else {"J_i": J_i}),
        **({} if initial is None else {"initial": dict(initial)}),
    )
    meta = {
        "subject": subject,
        "model": network.model,
        "preset": network.preset,
        "G": G,
        "lane_axis": "seed",
        "seeds": seeds,
        "units": dict(UNITS),
        "network_summary": network.summary(),
        "store": store,
    }
    if sink is None:
        return result, meta
    return _streamed(sink, result, seeds, engine), meta | {"options": dict(sink.settings)}


def _streamed(sink, result, seeds: list[int], engine: str) -> dict[str, np.ndarray]:
    """The arrays of a streamed file: the sink's, ``labels``, ``seeds`` and the engine's
    ``params`` (JSON text)."""
    from cmftvb import io

    if engine == "tvb":  # the tvb-library engine has no chunk sink: the whole run is one chunk
        sink(0, result)
    log.info("streamed signals: %.1f MB held by the sink", sink.held_nbytes / 1e6)
    return sink.arrays() | {
        "labels": np.asarray(result.labels),
        "seeds": np.asarray(seeds, dtype=np.int64),
        "params": np.array(io.canonical_json(result.params)),
    }


def run_coupling(
    G_label: str,
    network: Any,
    *,
    critical: dict | None = None,
    fic_result: Any = None,
) -> tuple[float, dict, dict]:
    """The absolute G, the engine's FIC inputs and meta entries of one run (rule simulate).

    ``G_label``: the run's G (:func:`cmftvb.gstar.parse_G_label`: absolute, or ``r<fraction>``
    of the subject's reference G* in ``critical``, :func:`cmftvb.gstar.critical_G_record`).
    ``fic_result``: the FIC state of this network at that G (:func:`cmftvb.fic.tune`), required
    when the preset has FIC on; its G must be the run's. A G at or above the variant's G* is
    logged as a warning (the FIC state is unstable there). Returns (G, engine keywords for
    :func:`simulate_batch`: ``J_i`` (N,) (:func:`cmftvb.gstar.j_i_for_engine`) and ``initial``
    (the FIC fixed point, :func:`cmftvb.gstar.fic_initial`) under FIC, else none; meta with
    ``fic`` (whether FIC applies), ``initial``, ``G_label``, ``G_relative`` (fraction or None),
    ``G_star`` (the variant's and the reference, or None)).
    """
    from cmftvb import fic, gstar

    value, relative = gstar.parse_G_label(G_label)
    G = gstar.absolute_G(G_label, critical)
    engine_kwargs: dict[str, Any] = {}
    if fic.fic_enabled(network):
        if fic_result is None:
            raise CmftvbError(
                f"preset {network.preset!r} has FIC on (wongwang.fic) but no FIC result was given"
            )
        if not math.isclose(float(fic_result.G), G, rel_tol=1e-12, abs_tol=0.0):
            raise CmftvbError(
                f"FIC result tuned at G {float(fic_result.G):g}, but the run is at G {G:g}"
            )
        engine_kwargs["J_i"] = gstar.j_i_for_engine(fic_result, network)
        engine_kwargs["initial"] = gstar.fic_initial(fic_result)
        ww = engine_kwargs["J_i"][np.asarray(network.node_model) == "wongwang"]
        log.info(
            "FIC: J_i %.4g-%.4g nA (target %g Hz); start at the FIC state %s",
            ww.min(),
            ww.max(),
            fic_result.target_hz,
            {k: round(v, 6) for k, v in engine_kwargs["initial"].items()},
        )
    if critical is not None and (warning := gstar.above_critical(G, critical, network.model)):
        log.warning("%s", warning)
    meta = {
        "fic": bool(engine_kwargs),
        "initial": engine_kwargs.get("initial", "preset initial_history (random per seed)"),
        "G_label": str(G_label),
        "G_relative": value if relative else None,
        "G_star": None
        if critical is None
        else {
            "variant": critical["variants"].get(network.model),
            "reference": critical["reference"],
        },
    }
    return G, engine_kwargs, meta
