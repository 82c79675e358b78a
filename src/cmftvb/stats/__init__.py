"""Statistical comparison of homogeneous vs cMF models (MODEL.md §9, STUDY.md stage 6).

Input: the study's tidy fitness table (columns subject, model, preset, G, seed, metric, region,
value; see :func:`cmftvb.fitness.run_table`).

Procedure
---------
1. Seeds are averaged within subject (:func:`average_seeds`): the subject is the unit of
   replication, seeds are not independent samples.
2. Where a G sweep was run, G is chosen by one rule for both models (:func:`best_g`,
   ``stats.best_G_rule``), from global ``fc_fit`` only and never from the comparison:

   - ``loso`` (default): leave one subject out. Subject s, model m, gets the G with the best
     mean ``fc_fit`` of model m over the *other* subjects, so the G a subject is tested at was
     not chosen on that subject's data (no double dipping). With a single subject there is
     nothing to leave out: the rule falls back to ``in_sample_max_mean_fc_fit`` with a warning.
   - ``fixed``: one given G (``stats.fixed_G``) for every subject and both models.
   - ``in_sample_max_mean_fc_fit``: per model, the G with the best mean ``fc_fit`` over all
     subjects, the same subjects that are then tested (selection and test on the same data;
     kept for comparison with earlier results). ``max_mean_fc_fit`` is its deprecated name.

   Ties go to the smaller G.
3. For every preset, metric and region, subjects with values for both models are paired and the
   difference ``d = cMF - homogeneous`` is tested (:func:`paired_comparison`):
   - Wilcoxon signed-rank test (the primary test; ``scipy.stats.wilcoxon``, zero differences
     discarded): exact null distribution when there are no ties or zeros and n <= 50;
     with ties or zeros, an exhaustive permutation null for n <= 13, the normal approximation
     otherwise (column ``wilcoxon_method``);
   - paired t test (``scipy.stats.ttest_rel``), reported alongside;
   - effect sizes: Cohen's d_z = mean(d) / SD(d) (ddof 1) and the matched-pairs rank-biserial
     correlation r = (R+ - R-) / (R+ + R-) (Kerby 2014, Compr Psychol 3:11);
   - a percentile bootstrap 95 % CI of the mean difference (``scipy.stats.bootstrap``,
     ``N_BOOT`` = 10000 resamples of subjects, seeded).
4. Families (column ``family``) and Benjamini-Hochberg q (``scipy.stats.false_discovery_control``)
   within each family of a preset, separately for the Wilcoxon and the t p values:

   - ``primary``: the declared endpoints ``stats.primary`` (at most ``MAX_PRIMARY`` = 4; default
     global ``fc_fit``, global ``fcd_ks`` and, where subjects have empirical BOLD of
     cerebellar-cortex regions, the mean over those regions, per subject, of ``bold_mae`` and of
     ``fc_profile_error``, region ``CRBL_CORTEX_MEAN``);
   - ``secondary:<metric>``: every other comparison of a metric with a declared direction
     (``DIRECTION``), one family per metric over its regions;
   - ``descriptive``: everything else (firing rates ``*_rate_hz``, band features, coherence):
     p values are shown, but there is no q, no significance and no "better" model; column
     ``direction`` says which model is higher, and where ``signals/physiology.yaml`` gives the
     population a range, ``closer_to_target`` names the model whose mean is closer to it.

   A comparison is called significant when its Wilcoxon q < alpha (primary and secondary only).

Direction (declared once, ``DIRECTION``): ``fc_fit`` higher is better; ``fcd_ks``,
``bold_mae`` and ``fc_profile_error`` lower is better. Column ``better`` names the model with
the better mean for those metrics and is empty otherwise.

Diagnostics in the table (regime shares ``regime_*``, :mod:`cmftvb.signals.regime`; the noise
ceiling ``noise_ceiling_fc_fit``, :func:`cmftvb.fitness.noise_ceiling`) are not compared between
models; :func:`summary_markdown` reports them.
"""

from __future__ import annotations

from cmftvb.stats.endpoints import (
    CRBL_CORTEX_MEAN,
    DEFAULT_PRIMARY,
    DIRECTION,
    HIGHER_IS_BETTER,
    MAX_PRIMARY,
    add_crbl_cortex_means,
    family_of,
    parse_primary,
)
from cmftvb.stats.grule import G_RULES, at_chosen_g, best_g
from cmftvb.stats.paired import N_BOOT, paired_comparison, paired_stats
from cmftvb.stats.study import study_design, study_stats
from cmftvb.stats.summary import input_share_lines, regime_summary, summary_markdown
from cmftvb.stats.tables import KEYS, average_seeds

__all__ = [
    "CRBL_CORTEX_MEAN",
    "DEFAULT_PRIMARY",
    "DIRECTION",
    "G_RULES",
    "HIGHER_IS_BETTER",
    "KEYS",
    "MAX_PRIMARY",
    "N_BOOT",
    "add_crbl_cortex_means",
    "at_chosen_g",
    "average_seeds",
    "best_g",
    "family_of",
    "paired_comparison",
    "paired_stats",
    "parse_primary",
    "regime_summary",
    "study_design",
    "study_stats",
    "summary_markdown",
    "input_share_lines",
]
