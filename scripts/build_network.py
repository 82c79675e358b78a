"""Rule build_network: prepared connectome + model variant -> network specification (JSON)."""

import json

from _adapter import overrides, run

from cmftvb import io
from cmftvb.connectome import Connectome
from cmftvb.network import build_network


def main(snakemake, log):
    connectome = Connectome.load(snakemake.input.connectome)
    spec = build_network(
        connectome,
        snakemake.wildcards.model,
        snakemake.wildcards.preset,
        overrides(snakemake.params.overrides),
    )
    log.info("%s", spec.summary())
    record = json.loads(spec.to_json())
    record["provenance"] = io.provenance(
        snakemake.config,
        subject=snakemake.wildcards.subject,
        model=snakemake.wildcards.model,
        preset=snakemake.wildcards.preset,
    )
    io.write_json(snakemake.output.network, record)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
