"""Rule simulate: integrate one subject x model variant x G for a batch of seeds.

Output (``cmftvb.io.save_npz``): ``time_ms`` (T,), ``labels`` (N,), ``seeds`` (S,), per state
variable of the network (S_E, S_I; GrC, GoC, MLI, PC in kHz for cMF; the Wong-Wang rates r_E,
r_I in Hz, monitored by the engine) an (S, T, k) array over
the k nodes whose model has it and ``nodes_<var>`` (k,) their indices, ``bold_input``
(S, T, N), ``params`` (JSON text); meta with the network summary and provenance. The monitored
arrays are stored as float32 (the integration itself is float64): 7 significant digits are
plenty for BOLD and spectra and halve the files, which dominate the study's disk use. Progress
(percent, simulated s per wall s, ETA) goes to the log.
"""

import json
from pathlib import Path

import numpy as np
from _adapter import run

from cmftvb import io
from cmftvb.connectome import Connectome
from cmftvb.engine import simulate
from cmftvb.network import NetworkSpec


def main(snakemake, log):
    p = snakemake.params
    w = snakemake.wildcards
    connectome = Connectome.load(snakemake.input.connectome)
    network = NetworkSpec.from_json(
        Path(snakemake.input.network).read_text(), where=snakemake.input.network
    )
    integration = network.params["integration"]
    seeds = [int(s) for s in w.seeds.split("_")]
    G = float(w.G)
    sigma = float(integration["noise_sigma"] if p.noise_sigma is None else p.noise_sigma)
    speed = float(integration["speed"] if p.speed is None else p.speed)
    log.info("%s", network.summary())
    log.info(
        "engine %s: %g ms at dt %g ms, G %g, seeds %s, noise sigma %g, speed %g mm/ms",
        p.engine,
        p.duration_ms,
        p.dt_ms,
        G,
        seeds,
        sigma,
        speed,
    )
    duration_s = p.duration_ms / 1000.0

    def progress(percent, rate, eta_s):
        log.info(
            "%5.1f%% | %.1f of %.1f s simulated | %.3g simulated s per wall s | ETA %.0f s",
            percent,
            percent / 100.0 * duration_s,
            duration_s,
            rate,
            eta_s,
        )

    result = simulate(
        connectome,
        network,
        duration=p.duration_ms,
        dt=p.dt_ms,
        seeds=seeds,
        noise_sigma=sigma,
        G=G,
        speed=speed,
        monitor="mean",
        monitor_period=p.monitor_period_ms,
        subject=w.subject,
        progress=progress,
        engine=p.engine,
    )
    arrays = {"time_ms": result.time_ms, "labels": result.labels}
    for name, values in result.variables.items():
        nodes = np.flatnonzero(~np.isnan(values).all(axis=(0, 1)))
        arrays[name] = values[:, :, nodes].astype(np.float32)
        arrays[f"nodes_{name}"] = nodes
    arrays["bold_input"] = result.bold_input.astype(np.float32)
    arrays["seeds"] = np.asarray(seeds, dtype=np.int64)
    arrays["params"] = np.array(json.dumps(result.params, sort_keys=True, default=str))
    meta = {
        "format": "cmftvb.simulation/1",
        "subject": w.subject,
        "model": network.model,
        "preset": network.preset,
        "G": G,
        "lane_axis": "seed",
        "seeds": seeds,
        "units": {"time_ms": "ms", "S_E": "1", "S_I": "1", "rates": "kHz", "r_E/r_I": "Hz"},
        "dtype": "float32 (integrated in float64)",
        "network_summary": network.summary(),
        "provenance": io.provenance(snakemake.config, subject=w.subject, seed=seeds, G=G),
    }
    io.save_npz(snakemake.output[0], arrays, meta)
    log.info("wrote %s (%d samples x %d nodes x %d seeds)", snakemake.output[0], *_shape(result))


def _shape(result):
    s, t, n = result.bold_input.shape
    return t, n, s


run(main, snakemake)  # noqa: F821 - injected by Snakemake
