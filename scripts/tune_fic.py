"""Rule tune_fic: feedback inhibition control of one subject x model variant x G (cmftvb.fic.tune:
per-node J_i putting every Wong-Wang node at the preset's target rate). A G label 'r0.9' is
0.9 x the subject's reference G* (cmftvb.gstar.absolute_G); a G at or above the variant's G*
(from the G* record, or for an absolute G from the Jacobian at the FIC state) is tuned but
warned about (its FIC state is unstable). Output: cmftvb.fic.FicResult (npz)."""

from pathlib import Path

import numpy as np
from _adapter import run

from cmftvb import fic, gstar, io
from cmftvb.connectome import Connectome
from cmftvb.network import NetworkSpec


def main(snakemake, log):
    w = snakemake.wildcards
    connectome = Connectome.load(snakemake.input.connectome)
    where = snakemake.input.network
    network = NetworkSpec.from_json(Path(where).read_text(), where=where)
    if "critical_G" in dict(snakemake.input.items()):  # a fraction of the reference G*
        record = io.read_json(snakemake.input.critical_G)
        G = gstar.absolute_G(w.G, record)
        result = fic.tune(connectome, network, G)
        warning = gstar.above_critical(G, record, w.model)
    else:
        result = fic.tune(connectome, network, gstar.absolute_G(w.G))
        warning = gstar.instability_warning(connectome, network, result)
    if warning:
        log.warning("%s", warning)
    meta = {**result.meta(), "G_label": w.G, "provenance": io.provenance(snakemake.config)}
    io.save_npz(snakemake.output[0], result.to_arrays(), meta)
    ww = result.J_i[np.isfinite(result.J_i)]
    log.info(
        "G %s = %.5g: J_i %.4g-%.4g nA over %d Wong-Wang nodes, residual %.2g per ms",
        w.G,
        G,
        ww.min(),
        ww.max(),
        ww.size,
        result.residual,
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
