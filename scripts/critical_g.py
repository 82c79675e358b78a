"""Rule critical_G: G* of every simulated model variant of one subject under one FIC preset,
and the reference G* (their minimum) that fractions in simulation.G_relative refer to
(cmftvb.gstar.critical_G_record). Output: JSON."""

from pathlib import Path

from _adapter import run

from cmftvb import gstar, io
from cmftvb.connectome import Connectome
from cmftvb.network import NetworkSpec


def main(snakemake, log):
    connectome = Connectome.load(snakemake.input.connectome)
    networks = {}
    for model, where in zip(snakemake.params.models, snakemake.input.networks, strict=True):
        networks[model] = NetworkSpec.from_json(Path(where).read_text(), where=where)
    record = gstar.critical_G_record(connectome, networks)
    record["subject"] = snakemake.wildcards.subject
    record["provenance"] = io.provenance(snakemake.config, subject=snakemake.wildcards.subject)
    io.write_json(snakemake.output[0], record)
    for model, g in record["variants"].items():
        log.info("G* of %s: %.5g", model, g)
    log.info("reference G*: %.5g (%s)", record["reference"], record["reference_variant"])


run(main, snakemake)  # noqa: F821 - injected by Snakemake
