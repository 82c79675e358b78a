"""One simulation batch of the workflow (rule simulate): a subject's network run at one
coupling G for a batch of seeds, the seeds being lanes of one engine run
(:func:`cmftvb.engine.simulate`; each seed's result does not depend on its batch).

Monitored: population rates and the BOLD input variable averaged over ``monitor_period_ms``
(``monitor="mean"``); saved with :func:`cmftvb.io.save_simulation_packed`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

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
) -> tuple[Any, dict]:
    """Run one batch: (the engine's result, a meta record for the saved file).

    ``noise_sigma`` (per sqrt(ms)) and ``speed`` (mm/ms) default to the network preset's
    (``integration``); durations in ms. Each seed's random stream is keyed by (``subject``,
    model, G, seed), as with ``cmftvb simulate``.
    """
    from cmftvb.engine import simulate

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
    }
    return result, meta
