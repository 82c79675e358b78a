"""Rule fig_spectra: population spectra (bands shaded) and coherence spectra of every node and
run, both models at the chosen G (with loso the subject's own; all G values when none was
chosen), for one preset
(cmftvb.figures.population_spectra, cmftvb.figures.coherence_plot)."""

from _adapter import read_table, run

from cmftvb import figures, io


def main(snakemake, log):
    preset = snakemake.wildcards.preset
    runs = (io.load_npz(path) for path in snakemake.input.signals)
    best_g = read_table(snakemake.input.best_G)
    freqs, psd, coh_freqs, coh = figures.spectra_by_model(runs, best_g, preset)
    log.info("spectra: %s", {m: {p: v.shape[0] for p, v in d.items()} for m, d in psd.items()})
    spectra = figures.population_spectra(freqs, psd, title=f"Population spectra ({preset} preset)")
    figures.save_figure(spectra, snakemake.output.spectra)
    title = f"Coherence between the populations of a node ({preset} preset)"
    figures.save_figure(
        figures.coherence_plot(coh_freqs, coh, title=title), snakemake.output.coherence
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
