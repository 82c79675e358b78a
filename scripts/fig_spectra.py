"""Rule fig_spectra: population spectra (bands shaded) and coherence spectra of every node and
run, each model at its chosen G (all G values when none was chosen), for one preset."""

import numpy as np
from _adapter import chosen_g, run

from cmftvb import figures, io


def main(snakemake, log):
    preset = snakemake.wildcards.preset
    chosen = chosen_g(snakemake.input.best_G, preset)
    psd, coh = {}, {}
    freqs = coh_freqs = None
    for path in snakemake.input.signals:
        arrays, meta = io.load_npz(path)
        model, G = meta["model"], float(meta["G"])
        if chosen is not None and chosen.get(model) != G:
            continue
        freqs = arrays["freqs_hz"]
        for key, value in arrays.items():
            # per-seed arrays (S, k, F): every seed and node is one curve
            if key.startswith("psd_"):
                psd.setdefault(model, {}).setdefault(key[4:], []).append(
                    value.reshape(-1, value.shape[-1])
                )
            elif key.startswith("coh_") and "__" in key and not key.startswith("coh_nodes_"):
                a, b = key[4:].split("__")
                label = f"{a}-{b} ({figures.MODEL_NAMES.get(model, model)})"
                coh.setdefault(label, []).append(value.reshape(-1, value.shape[-1]))
                coh_freqs = arrays["coh_freqs_hz"]
    psd = {m: {pop: np.vstack(v) for pop, v in pops.items()} for m, pops in psd.items()}
    log.info("spectra: %s", {m: {p: v.shape[0] for p, v in d.items()} for m, d in psd.items()})
    figures.population_spectra(
        freqs, psd, snakemake.output.spectra, title=f"Population spectra ({preset} preset)"
    )
    figures.coherence_plot(
        coh_freqs,
        {k: np.vstack(v) for k, v in coh.items()},
        snakemake.output.coherence,
        title=f"Coherence between the populations of a node ({preset} preset)",
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
