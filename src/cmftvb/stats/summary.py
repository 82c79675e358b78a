"""The Markdown report: design lines, noise ceiling, regime check and per-preset results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from cmftvb.fitness import G_ABS, NOISE_CEILING_METRIC, g_is_relative
from cmftvb.signals import regime as _regime
from cmftvb.stats.endpoints import MAX_PRIMARY, family_of, parse_primary
from cmftvb.stats.grule import at_chosen_g


def _fmt(x, nd=3):
    return "NaN" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{nd}g}"


def regime_summary(table: pd.DataFrame, *, max_share: float = 0.0, max_listed: int = 8):
    """Markdown lines on the regime diagnostics (:mod:`cmftvb.signals.regime`) of every run.

    For each preset, model and regime metric: mean and largest share over runs (subject, G,
    seed), and the number of runs whose share exceeds ``max_share``. A line starting with
    ``**Warning**`` lists the runs outside (at most ``max_listed``) when there are any.
    Returns [] when the table has no regime rows.
    """
    reg = table[table["metric"].isin(_regime.REGIME_METRICS)]
    if reg.empty:
        return []
    what = {
        _regime.REGIME_WW_OUT_OF_BAND: (
            "Wong-Wang nodes with mean r_E outside the resting band (default "
            f"{_regime.DEFAULT_BAND_HZ[0]:g}-{_regime.DEFAULT_BAND_HZ[1]:g} Hz)"
        ),
        _regime.REGIME_SE_SATURATED: f"Wong-Wang nodes with mean S_E > {_regime.SE_SATURATION:g}",
        _regime.REGIME_CRBL_OUT_OF_RANGE: (
            "cerebellar populations outside their physiology.yaml range"
        ),
    }
    lines = [
        f"Share of each run's nodes outside the resting regime; a run counts as outside when a "
        f"share exceeds {max_share:g}.",
        "",
        "| preset | model | check | mean share | max share | runs outside |",
        "|---|---|---|---|---|---|",
    ]
    outside = []
    for (preset, model, metric), grp in reg.groupby(["preset", "model", "metric"], sort=True):
        v = grp["value"].astype(float)
        bad = grp[~(v <= max_share)]
        lines.append(
            f"| {preset} | {model} | {what[metric]} | {_fmt(v.mean())} | {_fmt(v.max())} | "
            f"{len(bad)} of {len(grp)} |"
        )
        for r in bad.itertuples():
            outside.append(
                f"{r.subject}/{model}/{preset}/G {float(r.G):g}/seed {r.seed}: "
                f"{metric} = {_fmt(float(r.value))}"
            )
    if outside:
        listed = "; ".join(outside[:max_listed])
        more = f"; and {len(outside) - max_listed} more" if len(outside) > max_listed else ""
        lines += [
            "",
            f"**Warning**: {len(outside)} run check(s) outside the resting regime: the "
            f"comparison involves networks that are not at a physiological operating point "
            f"({listed}{more}).",
        ]
    return lines


def input_share_lines(shares: pd.DataFrame) -> list[str]:
    """Markdown lines on the network's input shares (article Table 5; rule input_shares).

    ``shares``: the tidy table of ``results/study/input_shares.tsv`` (columns preset,
    population, input, share, article_share, one row per run and route). Per preset, each
    population's share of the network's mossy- and parallel-fibre input (synaptic events, a
    fraction of each input's total): mean and range over runs (subjects, G, seeds), beside the
    article's value. Routes that carry no input in any run and have no article value are left
    out.
    """
    need = {"preset", "population", "input", "share"}
    if shares is None or shares.empty or not need <= set(shares.columns):
        return []
    lines = [
        "Share of each network input (synaptic events per s) received by each population, "
        "at the simulated steady state of every cMF run (mean, range over runs), beside the "
        "article's Table 5.",
        "",
        "| preset | input | population | share | range | article |",
        "|---|---|---|---|---|---|",
    ]
    article = shares["article_share"] if "article_share" in shares else np.nan
    t = shares.assign(article_share=pd.to_numeric(article, errors="coerce"))
    # presets and inputs in order, populations in the table's (engine's) order
    t = t.sort_values(["preset", "input"], kind="stable")
    for (preset, inp, pop), g in t.groupby(["preset", "input", "population"], sort=False):
        v = g["share"].astype(float)
        ref = g["article_share"].dropna()
        if (v == 0).all() and (ref.empty or (ref == 0).all()):
            continue
        art = _fmt(float(ref.iloc[0]), 2) if not ref.empty else "-"
        lines.append(
            f"| {preset} | {inp} | {pop} | {_fmt(v.mean())} | {_fmt(v.min())}-{_fmt(v.max())} "
            f"| {art} |"
        )
    return lines


def _ceiling_lines(table: pd.DataFrame, chosen_G: pd.DataFrame | None) -> list[str]:
    ceil = table[(table["metric"] == NOISE_CEILING_METRIC) & (table["region"] == "global")]
    if ceil.empty:
        return []
    lines = [
        "The noise ceiling is the fc_fit of segments of each subject's own empirical BOLD, as "
        "long as the simulated post-transient BOLD, against the subject's full session: the "
        "best fit any model can reach at that run length.",
        "",
    ]
    fit = table[(table["metric"] == "fc_fit") & (table["region"] == "global")]
    if chosen_G is not None and len(chosen_G):
        fit = at_chosen_g(fit, chosen_G)
    for preset, c in ceil.groupby("preset", sort=True):
        per_subject = c.groupby("subject")["value"].mean()
        text = (
            f"- `{preset}`: noise ceiling {_fmt(per_subject.mean())} (mean over "
            f"{per_subject.size} subjects; range {_fmt(per_subject.min())}-"
            f"{_fmt(per_subject.max())})"
        )
        f = fit[fit["preset"] == preset]
        if len(f):
            means = f.groupby(["model", "subject"])["value"].mean().groupby("model").mean()
            text += "; fc_fit " + ", ".join(f"{m} {_fmt(v)}" for m, v in means.items())
            text += " (mean over subjects at the chosen G)" if chosen_G is not None else ""
        lines.append(text + ".")
    return lines


def _rule_text(chosen_G: pd.DataFrame | None) -> str:
    if chosen_G is None or not len(chosen_G):
        return "none: no G chosen (no sweep, or no empirical BOLD to choose by)"
    rule = str(chosen_G["rule"].iloc[0]) if "rule" in chosen_G else "in_sample_max_mean_fc_fit"
    if rule == "loso":
        return (
            "loso: each subject's G chosen, per model, by the best mean global fc_fit of the "
            "other subjects (no double dipping)"
        )
    if rule == "fixed":
        return "fixed: one given G for every subject and both models"
    if rule.startswith("in_sample"):
        return (
            f"{rule}: per model, the G with the best mean global fc_fit over the same subjects "
            "that are tested (selection and test on the same data: optimistic)"
        )
    return rule


def _design_lines(
    design: Mapping | None,
    endpoints: list[tuple[str, str]],
    chosen_G: pd.DataFrame | None,
    compared: set[tuple[str, str]],
    diagnostics: set[str],
) -> list[str]:
    d = dict(design or {})
    avail = [f"{m}/{r}" for m, r in endpoints if (m, r) in compared]
    missing = [f"{m}/{r}" for m, r in endpoints if (m, r) not in compared]
    ep = ", ".join(avail) or "none available"
    if missing:
        ep += f" (declared but absent from this study: {', '.join(missing)})"
    lines = [
        "## Design",
        "",
        f"- Primary endpoints (one BH family, at most {MAX_PRIMARY} tests): {ep}.",
        "- Secondary: every other metric with a declared direction, one BH family per metric "
        "over its regions. Descriptive (no q, never better/worse; 'closer to target' where a "
        "physiological range exists): firing rates, band features, coherence.",
        f"- G rule: {_rule_text(chosen_G)}.",
    ]
    fic_head = "- FIC (feedback inhibition control, Deco et al. 2014):"
    lines.append(
        _fact_line(
            d.get("fic"), "FIC", f"{fic_head} ", _on_off, lambda v: f"{fic_head} {_on_off(v)}."
        )
    )
    lines.append(
        _fact_line(
            d.get("noise_sigma"),
            "Noise",
            "- Noise: additive, SD per sqrt(ms) ",
            _fmt,
            lambda v: f"- Noise: additive, SD {_fmt(float(v))} per sqrt(ms).",
        )
    )
    run_s, n_vol = d.get("run_length_s"), d.get("n_volumes")
    if run_s is not None:
        vol = f" ({int(n_vol)} volumes at TR {_fmt(d.get('tr_s'))} s)" if n_vol else ""
        lines.append(f"- Run length: {_fmt(float(run_s))} s of post-transient BOLD{vol}.")
    else:
        lines.append("- Run length: not stated.")
    lines.append(
        "- Noise ceiling: "
        + ("reported below." if NOISE_CEILING_METRIC in diagnostics else "not computed.")
    )
    lines.append(
        "- Regime check: "
        + (
            "reported below."
            if diagnostics & set(_regime.REGIME_METRICS)
            else "not in the study table."
        )
    )
    return lines


def _coupling_line(table: pd.DataFrame) -> str:
    """The design line on G: fractions of each subject's critical G* (``G`` differs from the
    absolute ``G_abs``, config simulation.G_relative) with the absolute range they meant, or
    absolute values."""
    listed = ", ".join(_fmt(v) for v in np.unique(table["G"].astype(float)))
    if g_is_relative(table):
        g_abs = table[G_ABS].astype(float)
        return (
            f"- Coupling: G = {listed} x each subject's reference G* (the smaller critical "
            "G of the two models, below which the FIC resting state is stable), i.e. "
            f"absolute G {_fmt(g_abs.min())}-{_fmt(g_abs.max())}; both models of "
            "a subject at the same absolute G."
        )
    return (
        f"- Coupling: absolute G = {listed}, the same for every subject (under FIC, a G at or "
        "above a subject's G* leaves the resting state: see the regime check)."
    )


def _fact_line(value, name: str, per_preset: str, each, one) -> str:
    """One design line: per preset (``value`` a mapping), one value for all, or not stated."""
    if isinstance(value, Mapping) and value:
        return per_preset + ", ".join(f"`{p}` {each(v)}" for p, v in value.items()) + "."
    if value is not None and not isinstance(value, Mapping):
        return one(value)
    return f"- {name}: not stated."


def _on_off(v) -> str:
    if v is None:
        return "not a switch of this preset"
    return "on" if bool(v) else "off"


def summary_markdown(
    stats_table: pd.DataFrame,
    n_subjects: int,
    chosen_G: pd.DataFrame | None = None,
    *,
    alpha: float = 0.05,
    model_a: str = "homogeneous",
    model_b: str = "cmf",
    table: pd.DataFrame | None = None,
    primary: Iterable[Mapping[str, str]] | None = None,
    design: Mapping | None = None,
    regime_max_share: float = 0.0,
    input_shares: pd.DataFrame | None = None,
) -> str:
    """A short Markdown report of :func:`paired_comparison`'s table.

    States n, the tests, the design (``design``: optional keys ``fic`` (bool, or preset ->
    bool/None), ``noise_sigma`` (number or preset -> number), ``run_length_s``, ``n_volumes``,
    ``tr_s``; see :func:`study_design`), the G rule and each model's G; then per preset the
    primary family in full, each secondary family's significant regions and counts, and the
    descriptive metrics by direction (never better/worse). With the study ``table`` it also
    reports the noise ceiling beside fc_fit and the regime check (:func:`regime_summary`,
    with ``regime_max_share``); with ``input_shares`` (rule input_shares) the network's input
    shares beside the article's Table 5 (:func:`input_share_lines`).
    """
    endpoints = parse_primary(primary)
    compared = set(zip(stats_table["metric"], stats_table["region"], strict=True))
    diagnostics = set() if table is None else set(table["metric"])
    lines = [
        f"# {model_b} vs {model_a}: paired comparison",
        "",
        f"- Subjects: n = {n_subjects} (seeds averaged within subject; differences are "
        f"{model_b} - {model_a}).",
        "- Tests: Wilcoxon signed-rank (primary; exact when no ties/zeros), paired t test; "
        "effect sizes Cohen's d_z and rank-biserial r; 95 % percentile bootstrap CI of the mean "
        "difference; Benjamini-Hochberg q within each family of a preset (primary; "
        f"secondary:<metric>). Significant: Wilcoxon q < {alpha}.",
        "- Better (declared once): larger fc_fit; smaller fcd_ks, bold_mae, fc_profile_error. "
        "Rates and spectral features are descriptive.",
    ]
    lines += _g_lines(chosen_G)
    if n_subjects < 6:
        lines.append(
            f"- Note: with n = {n_subjects} the exact two-sided Wilcoxon p cannot go below "
            f"{2 / 2**n_subjects:.3g}; no comparison can be significant at q < {alpha} if that "
            "bound exceeds it."
        )
    lines += [""] + _design_lines(design, endpoints, chosen_G, compared, diagnostics)
    if table is not None:
        lines.append(_coupling_line(table))
        ceiling = _ceiling_lines(table, chosen_G)
        if ceiling:
            lines += ["", "## Noise ceiling", ""] + ceiling
        regime = regime_summary(table, max_share=regime_max_share)
        if regime:
            lines += ["", "## Regime check", ""] + regime
    shares = input_share_lines(input_shares)
    if shares:
        lines += ["", "## Input shares (article Table 5)", ""] + shares
    for preset, tab in stats_table.groupby("preset", sort=True):
        if "family" not in tab:
            tab = tab.assign(
                family=[
                    family_of(m, r, endpoints) for m, r in zip(tab.metric, tab.region, strict=True)
                ]
            )
        lines += ["", f"## Preset `{preset}`", ""]
        lines += _primary_lines(tab, endpoints, alpha)
        lines += _secondary_lines(tab, model_a, model_b)
        lines += _descriptive_lines(tab, model_a, model_b)
        lines += _note_lines(tab)
    return "\n".join(lines) + "\n"


def _g_lines(chosen_G: pd.DataFrame | None) -> list[str]:
    """The G each model (and subject) was compared at."""
    lines: list[str] = []
    if chosen_G is not None and len(chosen_G):
        if "subject" in chosen_G.columns:
            desc = "; ".join(
                f"{m} ({p}): " + ", ".join(f"{r.subject} G = {r.G:g}" for r in grp.itertuples())
                for (m, p), grp in chosen_G.groupby(["model", "preset"], sort=True)
            )
            lines.append(f"- G per subject and model (rule `{chosen_G['rule'].iloc[0]}`): {desc}.")
        else:
            desc = ", ".join(
                f"{r.model} ({r.preset}): G = {r.G:g} (mean FC fit {_fmt(r.score)})"
                for r in chosen_G.itertuples()
            )
            rule = chosen_G["rule"].iloc[0] if "rule" in chosen_G else "in_sample_max_mean_fc_fit"
            lines.append(f"- G per model (rule `{rule}`): {desc}.")
    return lines


def _primary_lines(tab: pd.DataFrame, endpoints: list[tuple[str, str]], alpha: float) -> list[str]:
    """The primary family of one preset in full, in the declared order."""
    lines: list[str] = []
    prim = tab[tab.family == "primary"]
    order = {ep: i for i, ep in enumerate(endpoints)}
    prim = prim.iloc[
        np.argsort([order.get(k, 99) for k in zip(prim.metric, prim.region, strict=True)])
    ]
    lines += [f"### Primary endpoints (family `primary`, {len(prim)} test(s))", ""]
    lines.append("| metric | region | n | mean diff | 95 % CI | d_z | p (Wilcoxon) | q | better |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for r in prim.itertuples():
        lines.append(
            f"| {r.metric} | {r.region} | {r.n} | {_fmt(r.mean_diff)} | [{_fmt(r.ci_low)}, "
            f"{_fmt(r.ci_high)}] | {_fmt(r.d_z)} | {_fmt(r.p_w)} | {_fmt(r.q_w)} | "
            f"{r.better}{' *' if r.significant else ''} |"
        )
    label = [
        f"{m}/{g}" if g != "global" else m for m, g in zip(prim.metric, prim.region, strict=True)
    ]
    sig = ", ".join(x for x, s in zip(label, prim.significant, strict=True) if s) or "none"
    ns = ", ".join(x for x, s in zip(label, prim.significant, strict=True) if not s) or "none"
    lines += ["", f"Primary, significant (q < {alpha}): {sig}. Not significant: {ns}."]
    return lines


def _secondary_lines(tab: pd.DataFrame, model_a: str, model_b: str) -> list[str]:
    """Each secondary family of one preset: counts and its significant regions."""
    lines: list[str] = []
    sec = tab[tab.family.str.startswith("secondary:")]
    if len(sec):
        lines += ["", "### Secondary families (BH within each metric)", ""]
    for family, m in sec.groupby("family", sort=True):
        s = m[m.significant]
        lines.append(
            f"- `{family}`: {len(s)} of {len(m)} comparisons significant "
            f"({int((s.better == model_b).sum())} favour {model_b}, "
            f"{int((s.better == model_a).sum())} favour {model_a}); "
            f"{int(m.p_w.isna().sum())} untestable."
        )
        for r in s.itertuples():
            lines.append(
                f"  - {r.region}: mean diff {_fmt(r.mean_diff)} "
                f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}], d_z {_fmt(r.d_z)}, "
                f"q {_fmt(r.q_w)}, better: {r.better}"
            )
    return lines


def _descriptive_lines(tab: pd.DataFrame, model_a: str, model_b: str) -> list[str]:
    """Descriptive metrics of one preset by direction (never better/worse)."""
    lines: list[str] = []
    desc = tab[tab.family == "descriptive"]
    if len(desc):
        lines += [
            "",
            "### Descriptive (family `descriptive`: no FDR, no significance, no better/worse)",
            "",
        ]
    for metric, m in desc.groupby("metric", sort=True):
        hi = int((m.direction == f"{model_b} higher").sum())
        lo = int((m.direction == f"{model_b} lower").sum())
        text = (
            f"- `{metric}`: {model_b} higher than {model_a} in {hi}, lower in {lo} of "
            f"{len(m)} regions (mean diff {_fmt(m.mean_diff.mean())})"
        )
        if "target" in m and (m.target != "").any():
            c = m.closer_to_target
            text += (
                f"; physiological range {m.target.iloc[0]}: closer to it {model_b} in "
                f"{int((c == model_b).sum())}, {model_a} in {int((c == model_a).sum())}, "
                f"both within in {int((c == 'both within').sum())}"
            )
        lines.append(text + ".")
    return lines


def _note_lines(tab: pd.DataFrame) -> list[str]:
    """Notes of the comparisons that could not be tested in full."""
    lines: list[str] = []
    notes = tab[tab.note != ""]
    if len(notes):
        lines += ["", "### Notes", ""]
        for r in notes.itertuples():
            lines.append(f"- {r.metric} / {r.region} ({r.family}): {r.note}")
    return lines
