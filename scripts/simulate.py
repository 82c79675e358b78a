"""Rule simulate: integrate one subject x model variant x G for a batch of seeds
(cmftvb.batch.simulate_batch; under an FIC preset with the FIC J_i, from the FIC fixed point,
and a G label 'r0.9' as 0.9 x the subject's reference G*: cmftvb.batch.run_coupling) and save
it in the layout of ``simulation.store`` (``cmftvb.io.SIMULATION_STORES``): ``signals``, the
run's signals streamed during the run (``cmftvb.io.SIMULATION_SIGNALS``), or ``activity``, the
monitored activity (``cmftvb.io.SIMULATION_PACKED``: per variable only the nodes that have it,
float32)."""

from pathlib import Path

from _adapter import run

from cmftvb import io
from cmftvb.batch import run_coupling, simulate_batch
from cmftvb.connectome import Connectome
from cmftvb.fic import FicResult
from cmftvb.network import NetworkSpec
from cmftvb.signals.stream_run import StudySignals


def main(snakemake, log):
    w = snakemake.wildcards
    connectome = Connectome.load(snakemake.input.connectome)
    where = snakemake.input.network
    network = NetworkSpec.from_json(Path(where).read_text(), where=where)
    seeds = [int(s) for s in w.seeds.split("_")]
    fic_inputs = {}
    if "fic" in dict(snakemake.input.items()):
        fic_inputs["fic_result"] = FicResult.from_saved(*io.load_npz(snakemake.input.fic))
        fic_inputs["critical"] = io.read_json(snakemake.input.critical_G)
    G, fic_kwargs, g_meta = run_coupling(w.G, network, **fic_inputs)
    # the rule names its params after simulate_batch's keywords (tests/test_architecture.py)
    result, meta = simulate_batch(
        connectome, network, G=G, seeds=seeds, subject=w.subject, sink_factory=StudySignals,
        **fic_kwargs, **snakemake.params,
    )  # fmt: skip
    meta.update(g_meta)
    meta["provenance"] = io.provenance(snakemake.config, subject=w.subject, seed=seeds, G=meta["G"])
    if snakemake.params.store == "signals":
        io.save_tagged(snakemake.output[0], io.SIMULATION_SIGNALS, result, meta)
        log.info("wrote %s (signals of %d seeds)", snakemake.output[0], len(seeds))
        return
    io.save_simulation_packed(
        snakemake.output[0],
        time_ms=result.time_ms,
        labels=result.labels,
        seeds=seeds,
        variables=result.variables,
        bold_input=result.bold_input,
        params=result.params,
        meta=meta,
    )
    s, t, n = result.bold_input.shape
    log.info("wrote %s (%d samples x %d nodes x %d seeds)", snakemake.output[0], t, n, s)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
