"""The stats stage in one call, and the design facts it reports."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pandas as pd
import yaml

from cmftvb import CmftvbError
from cmftvb.models.presets import lookup
from cmftvb.stats.endpoints import parse_primary
from cmftvb.stats.grule import _canonical_rule, best_g
from cmftvb.stats.paired import N_BOOT, paired_comparison
from cmftvb.stats.summary import summary_markdown
from cmftvb.stats.tables import _check


def _preset_value(preset: Mapping, dotted: str, overrides: Mapping | None):
    """The preset's value at ``dotted``, or its override; a text override is read as a YAML
    scalar, as ``presets.apply_overrides`` reads it (so "false" is False, not a true string)."""
    if overrides and dotted in overrides:
        value = overrides[dotted]
        return yaml.safe_load(value) if isinstance(value, str) else value
    return lookup(preset, dotted)


def study_design(
    *,
    presets: Iterable[str],
    overrides: Mapping | None = None,
    noise_sigma: float | None = None,
    duration_ms: float | None = None,
    bold_transient_s: float | None = None,
    tr_s: float | None = None,
) -> dict:
    """The design facts :func:`summary_markdown` states, from the study config.

    ``presets``: simulated preset names; ``overrides``: ``network.overrides`` (dotted key ->
    value); ``noise_sigma``: ``simulation.noise_sigma`` (None = each preset's
    ``integration.noise_sigma``); run length = ``duration_ms`` / 1000 - ``bold_transient_s``
    (s), volumes = floor(run length / ``tr_s``). FIC per preset from ``wongwang.fic`` (true or
    false); None where the preset has no such key.
    """
    from cmftvb.models.presets import load_preset

    fic, noise = {}, {}
    for name in presets:
        p = load_preset(name)
        f = _preset_value(p, "wongwang.fic", overrides)
        if f is not None and not isinstance(f, bool):
            raise CmftvbError(f"network.overrides: wongwang.fic must be true or false, got {f!r}")
        fic[name] = f
        ns = noise_sigma
        if ns is None:
            ns = _preset_value(p, "integration.noise_sigma", overrides)
        noise[name] = None if ns is None else float(ns)
    out: dict = {"fic": fic, "noise_sigma": noise, "tr_s": tr_s}
    if duration_ms is not None and bold_transient_s is not None:
        run_s = float(duration_ms) / 1000.0 - float(bold_transient_s)
        out["run_length_s"] = run_s
        if tr_s:
            out["n_volumes"] = int(math.floor(run_s / float(tr_s) + 1e-9))
    return out


def study_stats(
    table: pd.DataFrame,
    *,
    best_G_rule: str = "loso",
    fixed_G: float | None = None,
    primary: Iterable[Mapping[str, str]] | None = None,
    n_boot: int = N_BOOT,
    bootstrap_seed: int = 0,
    alpha: float = 0.05,
    regime_max_share: float = 0.0,
    design: Mapping | None = None,
    model_a: str = "homogeneous",
    model_b: str = "cmf",
    input_shares: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The stats stage: (best_G table, comparison table, Markdown summary).

    G is chosen by ``best_G_rule`` (:func:`best_g`); without empirical BOLD (no global
    fc_fit) only ``fixed`` can choose, and otherwise every G is compared separately (column
    ``G`` of the comparison; empty best_G table). ``design``: keyword arguments of
    :func:`study_design` (or None). ``input_shares``: the input-shares table (rule
    input_shares) for the summary, or None. The other options go to :func:`paired_comparison` and
    :func:`summary_markdown`.
    """
    _check(table)
    endpoints = [{"metric": m, "region": r} for m, r in parse_primary(primary)]
    facts = study_design(**design) if design else None
    n_subjects = table["subject"].nunique()
    options = {"n_boot": n_boot, "seed": bootstrap_seed, "alpha": alpha, "primary": endpoints}
    options |= {"model_a": model_a, "model_b": model_b}
    report = {"alpha": alpha, "model_a": model_a, "model_b": model_b, "primary": endpoints}
    report |= {"table": table, "design": facts, "regime_max_share": regime_max_share}
    report["input_shares"] = input_shares
    has_fit = ((table.metric == "fc_fit") & (table.region == "global")).any()
    rule = _canonical_rule(best_G_rule)
    if has_fit or rule == "fixed":
        chosen = best_g(table, rule, fixed_G=fixed_G)
        comparison = paired_comparison(table, chosen_G=chosen, **options)
        summary = summary_markdown(comparison, n_subjects, chosen, **report)
        return chosen, comparison, summary
    chosen = pd.DataFrame(columns=["model", "preset", "G", "score", "n_subjects", "rule"])
    parts, texts = [], []
    for G, sub in table.groupby("G", sort=True):
        part = paired_comparison(sub, **options)
        parts.append(part.assign(G=G))
        once = report | {"input_shares": None if texts else input_shares}  # shares once
        texts.append(f"## G = {G:g}\n\n" + summary_markdown(part, n_subjects, **once))
    summary = (
        "No empirical BOLD in this study, so no G could be chosen by FC fit; the models are "
        "compared at every G separately.\n\n" + "\n\n".join(texts)
    )
    return chosen, pd.concat(parts, ignore_index=True), summary
