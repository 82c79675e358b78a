"""Article-style figures of the study (STUDY.md stage 7; issue 4 item 6; issue 13 item 2).

The figures package sits above every stage: it may import connectome, network, engine,
signals, fitness and stats, and none of them imports it.

Layout:

* :mod:`~cmftvb.figures.style`: palette, display names (models, roles, metrics), rc settings
  and layout helpers, written once.
* :mod:`~cmftvb.figures.save`: :func:`save_figure`, the one saver (PNG + SVG, atomic,
  reproducible bytes).
* :mod:`~cmftvb.figures.tables`: checks of the tidy table, the chosen-G rule, seed means and
  Student-t intervals.
* One module per theme, each figure ONE function returning a
  :class:`~matplotlib.figure.Figure`: :mod:`~cmftvb.figures.connectome`
  (:func:`connectome_weights`), :mod:`~cmftvb.figures.fc` (:func:`fc_matrices`),
  :mod:`~cmftvb.figures.fitness` (:func:`paired_fitness`, :func:`g_sweep`,
  :func:`regional_error`), :mod:`~cmftvb.figures.ephys` (:func:`population_spectra`,
  :func:`coherence_plot`, :func:`firing_rates`), :mod:`~cmftvb.figures.single_node`
  (:func:`node_curves`). Helpers beside them turn the workflow's files into a figure's inputs
  (:func:`~cmftvb.figures.fc.mean_fc_by_model`, :func:`~cmftvb.figures.ephys.spectra_by_model`,
  :func:`~cmftvb.figures.ephys.rates_at_chosen_g`, ...), so that adapters stay adapters.

Usage: ``save_figure(fc_matrices(emp, sims, labels, roles), "out/fc")`` writes ``out/fc.png``
and ``out/fc.svg``.

Adding a figure: write one function in the theme module it belongs to (a new module for a new
theme), decorated with :func:`~cmftvb.figures.style.styled`, taking arrays or tidy tables
(never paths) and returning the figure; use the style's colours, names and
:func:`~cmftvb.figures.style.footnote`, mark data panels with
:func:`~cmftvb.figures.style.mark_data` and put units on their axes. Export it here, add a
test in ``tests/test_figures.py`` (it is then also covered by the test that every figure
returns a Figure), a ``scripts/fig_<name>.py`` adapter (read inputs, call it, call
:func:`save_figure`), its rule in ``workflow/rules/figures.smk`` and a caption in
``workflow/report/``.
"""

from cmftvb.figures.connectome import connectome_weights, role_runs
from cmftvb.figures.ephys import (
    MAX_OVERLAID,
    coherence_plot,
    firing_rates,
    population_spectra,
    rates_at_chosen_g,
    spectra_by_model,
)
from cmftvb.figures.fc import empirical_fc, fc_matrices, mean_fc_by_model
from cmftvb.figures.fitness import (
    CEILING_LABEL,
    format_test,
    g_sweep,
    paired_fitness,
    regional_error,
)
from cmftvb.figures.save import figure_paths, save_figure
from cmftvb.figures.single_node import MOSSY_VALIDITY_HZ, node_curves, rates_by_preset
from cmftvb.figures.style import (
    MODEL_COLORS,
    MODEL_NAMES,
    POPULATION_COLORS,
    ROLE_NAMES,
    metric_label,
)
from cmftvb.figures.tables import MIN_N_INTERVAL, at_chosen_g, chosen_g, is_chosen, mean_ci

#: Every figure function: name -> function (each returns a matplotlib Figure).
FIGURES = {
    f.__name__: f
    for f in (
        connectome_weights,
        fc_matrices,
        paired_fitness,
        g_sweep,
        regional_error,
        population_spectra,
        coherence_plot,
        firing_rates,
        node_curves,
    )
}

__all__ = [
    "CEILING_LABEL",
    "FIGURES",
    "MAX_OVERLAID",
    "MIN_N_INTERVAL",
    "MODEL_COLORS",
    "MODEL_NAMES",
    "MOSSY_VALIDITY_HZ",
    "POPULATION_COLORS",
    "ROLE_NAMES",
    "at_chosen_g",
    "chosen_g",
    "coherence_plot",
    "connectome_weights",
    "empirical_fc",
    "fc_matrices",
    "figure_paths",
    "firing_rates",
    "format_test",
    "g_sweep",
    "is_chosen",
    "mean_ci",
    "mean_fc_by_model",
    "metric_label",
    "node_curves",
    "paired_fitness",
    "population_spectra",
    "rates_at_chosen_g",
    "rates_by_preset",
    "regional_error",
    "role_runs",
    "save_figure",
    "spectra_by_model",
]
