"""Paired statistics: numbers equal scipy's on the same data; edge cases give notes, not crashes."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cmftvb import CmftvbError
from cmftvb import stats as S


def _table(rng, n_subj=7, seeds=(0, 1), Gs=(1.0, 2.0), effect=0.1):
    rows = []
    for s in range(n_subj):
        base = rng.normal(0.3, 0.05)
        for model in ("homogeneous", "cmf"):
            for G in Gs:
                for seed in seeds:
                    fit = base + (effect if model == "cmf" else 0) - 0.1 * abs(G - 2.0)
                    fit += rng.normal(0, 0.02)
                    rows.append((f"s{s}", model, "corrected", G, seed, "fc_fit", "global", fit))
                    for reg in ("Vermis_VI", "Left_Crus_I"):
                        mae = 1.1 - (0.05 if model == "cmf" else 0) + rng.normal(0, 0.03)
                        rows.append((f"s{s}", model, "corrected", G, seed, "bold_mae", reg, mae))
    return pd.DataFrame(
        rows, columns=["subject", "model", "preset", "G", "seed", "metric", "region", "value"]
    )


def test_average_seeds_by_hand():
    t = pd.DataFrame(
        {
            "subject": ["a", "a", "a"],
            "model": ["cmf"] * 3,
            "preset": ["c"] * 3,
            "G": [2.0] * 3,
            "seed": [0, 1, 2],
            "metric": ["fc_fit"] * 3,
            "region": ["global"] * 3,
            "value": [0.1, 0.3, np.nan],
        }
    )
    avg = S.average_seeds(t)
    assert len(avg) == 1
    assert avg.value.iloc[0] == pytest.approx(0.2)
    assert avg.n_seeds.iloc[0] == 2


def test_paired_stats_equal_scipy():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 9)
    b = a + rng.normal(0.5, 0.7, 9)
    r = S.paired_stats(a, b, n_boot=2000, seed=1)
    d = b - a
    t = stats.ttest_rel(b, a)
    w = stats.wilcoxon(b, a, method="exact")
    assert r["n"] == 9
    assert r["t"] == pytest.approx(t.statistic, rel=1e-12)
    assert r["p_t"] == pytest.approx(t.pvalue, rel=1e-12)
    assert r["W"] == pytest.approx(w.statistic)
    assert r["p_w"] == pytest.approx(w.pvalue, rel=1e-12)
    assert r["wilcoxon_method"] == "exact"
    assert r["d_z"] == pytest.approx(d.mean() / d.std(ddof=1))
    # rank-biserial from scipy's one-sided statistic R+ (no zeros): r = 2 R+ / T - 1
    r_plus = stats.wilcoxon(d, alternative="greater").statistic
    assert r["rank_biserial"] == pytest.approx(2 * r_plus / (9 * 10 / 2) - 1)
    ci = stats.bootstrap(
        (d,), np.mean, n_resamples=2000, method="percentile", rng=np.random.default_rng(1)
    ).confidence_interval
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert r["ci_low"] < d.mean() < r["ci_high"]


def test_paired_stats_ties_use_permutation():
    a = np.zeros(6)
    b = np.array([1.0, 1.0, 2.0, -0.5, 3.0, 0.0])
    r = S.paired_stats(a, b)
    assert r["wilcoxon_method"] == "permutation"
    ref = stats.wilcoxon(b, method=stats.PermutationMethod(n_resamples=np.inf))
    assert r["p_w"] == pytest.approx(ref.pvalue)


def test_paired_stats_edge_cases():
    r = S.paired_stats([1.0], [2.0])
    assert r["n"] == 1 and np.isnan(r["p_w"]) and np.isnan(r["p_t"]) and "n=1" in r["note"]
    r = S.paired_stats([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert np.isnan(r["p_w"]) and np.isnan(r["d_z"]) and "zero" in r["note"]
    r = S.paired_stats([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
    assert np.isnan(r["t"]) and "constant" in r["note"] and r["rank_biserial"] == 1.0
    r = S.paired_stats([1.0, np.nan, 3.0], [2.0, 5.0, 3.5])
    assert r["n"] == 2


def test_best_g_own_rule():
    rng = np.random.default_rng(1)
    t = _table(rng, Gs=(1.0, 2.0, 3.0))
    # make homogeneous peak at G=1 instead
    t.loc[(t.model == "homogeneous") & (t.G == 1.0) & (t.metric == "fc_fit"), "value"] += 0.5
    bg = S.best_g(t, rule="in_sample_max_mean_fc_fit").set_index("model")
    assert bg.loc["homogeneous", "G"] == 1.0 and bg.loc["cmf", "G"] == 2.0
    with pytest.warns(FutureWarning, match="in_sample_max_mean_fc_fit"):
        alias = S.best_g(t, rule="max_mean_fc_fit").set_index("model")
    pd.testing.assert_frame_equal(alias, bg)
    avg = S.average_seeds(t)
    m = avg[(avg.model == "cmf") & (avg.metric == "fc_fit") & (avg.G == 2.0)].value.mean()
    assert bg.loc["cmf", "score"] == pytest.approx(m)
    with pytest.raises(CmftvbError, match="several G"):
        S.paired_comparison(t)
    with pytest.raises(CmftvbError, match="rule"):
        S.best_g(t, rule="whatever")


def test_paired_comparison_and_fdr():
    rng = np.random.default_rng(2)
    t = _table(rng, n_subj=8)
    chosen = S.best_g(t, rule="in_sample_max_mean_fc_fit")
    res = S.paired_comparison(t, chosen_G=chosen, n_boot=1000)
    # primary: fc_fit/global and bold_mae over the cerebellar cortex (both regions are lobules);
    # secondary:bold_mae: the 2 regions
    assert len(res) == 4
    fam = res.set_index(["metric", "region"])["family"]
    assert fam[("fc_fit", "global")] == "primary"
    assert fam[("bold_mae", S.CRBL_CORTEX_MEAN)] == "primary"
    assert (
        fam[("bold_mae", "Vermis_VI")] == fam[("bold_mae", "Left_Crus_I")] == "secondary:bold_mae"
    )
    # check one row by hand: seeds averaged, then paired across subjects
    sub = S.at_chosen_g(t, chosen)
    sub = sub[(sub.metric == "bold_mae") & (sub.region == "Vermis_VI")]
    w = sub.groupby(["subject", "model"]).value.mean().unstack()
    row = res.set_index(["metric", "region"]).loc[("bold_mae", "Vermis_VI")]
    ref = stats.wilcoxon(w["cmf"], w["homogeneous"], method="exact")
    assert row["p_w"] == pytest.approx(ref.pvalue)
    assert row["mean_diff"] == pytest.approx((w["cmf"] - w["homogeneous"]).mean())
    for family in ("primary", "secondary:bold_mae"):
        f = res[res.family == family]
        q = stats.false_discovery_control(f["p_w"].to_numpy(), method="bh")
        np.testing.assert_allclose(f["q_w"], q)
    # the cerebellar-cortex mean by hand: per subject, mean over seeds and both regions
    sub = S.at_chosen_g(t, chosen)
    sub = sub[sub.metric == "bold_mae"]
    w = sub.groupby(["subject", "model"]).value.mean().unstack()
    crbl = res.set_index(["metric", "region"]).loc[("bold_mae", S.CRBL_CORTEX_MEAN)]
    assert crbl["mean_diff"] == pytest.approx((w["cmf"] - w["homogeneous"]).mean())
    assert crbl["n"] == 8
    assert row["better"] == "cmf"  # lower MAE
    glob = res.set_index("metric").loc["fc_fit"]
    assert glob["better"] == "cmf"  # higher fit
    md = S.summary_markdown(res, 8, chosen)
    assert "n = 8" in md and "Wilcoxon" in md and "fc_fit" in md and "G = 2" in md
    prim = res[res.family == "primary"]
    assert prim.significant.all()  # effects of 2-3 SD with n = 8
    assert (
        "Primary, significant (q < 0.05): fc_fit, bold_mae/crbl_cortex_mean. "
        "Not significant: none." in md
    )
    assert res[res.family == "secondary:bold_mae"].significant.all()
    assert "`secondary:bold_mae`: 2 of 2 comparisons significant (2 favour cmf" in md


def test_paired_comparison_missing_pairs_and_small_n_note():
    rng = np.random.default_rng(3)
    t = _table(rng, n_subj=3, Gs=(2.0,))
    # subject s2 lacks cmf for one region: dropped from that pair only
    t = t[~((t.subject == "s2") & (t.model == "cmf") & (t.region == "Vermis_VI"))]
    res = S.paired_comparison(t, n_boot=500).set_index(["metric", "region"])
    assert res.loc[("bold_mae", "Vermis_VI"), "n"] == 2
    assert res.loc[("bold_mae", "Left_Crus_I"), "n"] == 3
    assert not res["significant"].any()  # min exact p with n=3 is 0.25
    md = S.summary_markdown(res.reset_index(), 3)
    assert "cannot go below" in md
    assert (
        "Primary, significant (q < 0.05): none. "
        "Not significant: fc_fit, bold_mae/crbl_cortex_mean." in md
    )
    # the cerebellar-cortex mean of s2 uses Left_Crus_I only, in both models alike
    crbl = res.loc[("bold_mae", S.CRBL_CORTEX_MEAN)]
    w = t[(t.metric == "bold_mae") & (t.subject != "s2")].groupby(["subject", "model"])
    w = w.value.mean().unstack()
    s2 = t[(t.metric == "bold_mae") & (t.subject == "s2") & (t.region == "Left_Crus_I")]
    s2 = s2.groupby("model").value.mean()
    d = list(w["cmf"] - w["homogeneous"]) + [s2["cmf"] - s2["homogeneous"]]
    assert crbl["n"] == 3 and crbl["mean_diff"] == pytest.approx(np.mean(d))


# ---------------------------------------------------------------------------------------------
# G rules
# ---------------------------------------------------------------------------------------------

#: Hand-made fc_fit (seed means) of homogeneous, subjects s1-s4 x G 1, 2, 3; binary-exact values
#: so that the tie below is exact.
HOMOG_FIT = {
    "s1": (0.875, 0.125, 0.125),
    "s2": (0.125, 0.5, 0.125),
    "s3": (0.125, 0.5, 0.25),
    "s4": (0.125, 0.125, 0.625),
}


def _loso_table():
    rows = []
    for s, fits in HOMOG_FIT.items():
        off = int(s[1]) * 0.0625
        for G, f in zip((1.0, 2.0, 3.0), fits, strict=True):
            for seed, jitter in ((1, -0.0625), (2, 0.0625)):  # seed mean = f
                rows.append(
                    (s, "homogeneous", "corrected", G, seed, "fc_fit", "global", f + jitter)
                )
                # cmf peaks at G 3 for every subject
                rows.append((s, "cmf", "corrected", G, seed, "fc_fit", "global", G / 4 + off))
    return pd.DataFrame(rows, columns=COLUMNS)


COLUMNS = ["subject", "model", "preset", "G", "seed", "metric", "region", "value"]


def test_loso_by_hand():
    t = _loso_table()
    bg = S.best_g(t)  # loso is the default
    assert list(bg.columns) == ["subject", "model", "preset", "G", "score", "n_subjects", "rule"]
    h = bg[bg.model == "homogeneous"].set_index("subject")
    # s1 left out: means over s2-s4 at G 1, 2, 3 = 0.375/3, 1.125/3, 1.0/3 -> G 2
    # s2 left out: 1.125/3, 0.75/3, 1.0/3 -> G 1;  s3 left out: 1.125/3, 0.75/3, 0.875/3 -> G 1
    # s4 left out: 1.125/3, 1.125/3, 0.5/3 -> tie between G 1 and 2 -> the smaller, G 1
    assert h["G"].to_dict() == {"s1": 2.0, "s2": 1.0, "s3": 1.0, "s4": 1.0}
    assert h.loc["s1", "score"] == pytest.approx(1.125 / 3)
    assert h.loc["s4", "score"] == pytest.approx(1.125 / 3)
    assert (h["n_subjects"] == 3).all() and (h["rule"] == "loso").all()
    assert (bg[bg.model == "cmf"]["G"] == 3.0).all()
    # the in-sample rule would give every subject G 1 (tie 1.25/4 at G 1 and 2)
    ins = S.best_g(t, rule="in_sample_max_mean_fc_fit").set_index("model")
    assert ins.loc["homogeneous", "G"] == 1.0
    # the comparison uses each subject's own G: homogeneous fc_fit is 0.125 for every subject
    # at its LOSO G (the in-sample choice would report 0.3125: selection on the test data)
    res = S.paired_comparison(t, chosen_G=bg, n_boot=200).set_index("metric")
    assert res.loc["fc_fit", "mean_a"] == pytest.approx(0.125)
    assert res.loc["fc_fit", "G_a"] == "1;2" and res.loc["fc_fit", "G_b"] == 3.0
    md = S.summary_markdown(res.reset_index(), 4, bg)
    assert "s1 G = 2" in md and "rule `loso`" in md and "other subjects" in md


def test_loso_one_subject_falls_back_with_warning():
    t = _loso_table()
    t = t[t.subject == "s1"]
    with pytest.warns(UserWarning, match="falling back to the in-sample rule"):
        bg = S.best_g(t, rule="loso")
    h = bg.set_index("model")
    assert h.loc["homogeneous", "G"] == 1.0 and "fallback" in h.loc["homogeneous", "rule"]


def test_fixed_rule():
    t = _loso_table()
    bg = S.best_g(t, rule="fixed", fixed_G=2.0).set_index("model")
    assert (bg["G"] == 2.0).all() and "subject" not in bg.columns
    assert bg.loc["homogeneous", "score"] == pytest.approx(np.mean([0.125, 0.5, 0.5, 0.125]))
    res = S.paired_comparison(t, chosen_G=bg.reset_index(), n_boot=200).set_index("metric")
    assert res.loc["fc_fit", "G_a"] == res.loc["fc_fit", "G_b"] == 2.0
    with pytest.raises(CmftvbError, match="stats.fixed_G: G 2.5 was not run"):
        S.best_g(t, rule="fixed", fixed_G=2.5)
    with pytest.raises(CmftvbError, match="stats.fixed_G: required"):
        S.best_g(t, rule="fixed")


# ---------------------------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------------------------


def _family_table(rng, n_subj=8, n_regions=100):
    rows = []
    for i in range(n_subj):
        s = f"s{i}"
        for model in ("homogeneous", "cmf"):
            b = model == "cmf"
            glob = {
                "fc_fit": 0.3 + 0.02 * b + rng.normal(0, 0.02),
                "fcd_ks": 0.5 - 0.01 * b + rng.normal(0, 0.05),
            }
            for metric, v in glob.items():
                rows.append((s, model, "corrected", 1.0, 1, metric, "global", v))
            for k in range(n_regions):
                reg = f"R{k}"
                v = 1.0 - 0.5 * b + rng.normal(0, 0.05)  # trivial: cmf better by 10 SD everywhere
                rows.append((s, model, "corrected", 1.0, 1, "fc_profile_error", reg, v))
                # rates: cmf always higher (20 vs 3 Hz), a band feature without a target
                rate = (20.0 if b else 3.0) + rng.normal(0, 0.1)
                rows.append((s, model, "corrected", 1.0, 1, "r_E_rate_hz", reg, rate))
                rel = 0.2 + 0.1 * b + rng.normal(0, 0.01)
                rows.append((s, model, "corrected", 1.0, 1, "r_E_alpha_rel_area", reg, rel))
    return pd.DataFrame(rows, columns=COLUMNS)


def test_family_split_and_descriptive_rates():
    t = _family_table(np.random.default_rng(5))
    res = S.paired_comparison(t, n_boot=200)
    fam = res.groupby("family").size().to_dict()
    assert fam == {"primary": 2, "secondary:fc_profile_error": 100, "descriptive": 200}
    prim = res[res.family == "primary"]
    q = stats.false_discovery_control(prim["p_w"].to_numpy(), method="bh")
    np.testing.assert_allclose(prim["q_w"], q)
    sec = res[res.family == "secondary:fc_profile_error"]
    q = stats.false_discovery_control(sec["p_w"].to_numpy(), method="bh")
    np.testing.assert_allclose(sec["q_w"], q)
    assert (sec.better == "cmf").all() and sec.significant.all()
    # the 100 trivial secondary tests do not change the primary q values
    alone = S.paired_comparison(t[t.metric != "fc_profile_error"], n_boot=200)
    assert "secondary:fc_profile_error" not in set(alone.family)
    alone = alone[alone.family == "primary"].set_index("metric")
    np.testing.assert_allclose(prim.set_index("metric").loc[alone.index, "q_w"], alone["q_w"])
    # one family over everything would have changed them
    pooled = stats.false_discovery_control(res["p_w"].dropna().to_numpy(), method="bh")
    assert not np.allclose(np.sort(pooled)[:2], np.sort(prim["q_w"].to_numpy()))
    # rates and band features: descriptive, never better/worse, no q, never significant
    desc = res[res.family == "descriptive"]
    assert (desc.better == "").all() and desc.q_w.isna().all() and not desc.significant.any()
    rates = desc[desc.metric == "r_E_rate_hz"]
    assert (rates.direction == "cmf higher").all()
    assert (rates.target == "1-10 Hz").all() and (rates.closer_to_target == "homogeneous").all()
    band = desc[desc.metric == "r_E_alpha_rel_area"]
    assert (band.target == "").all() and (band.closer_to_target == "").all()
    md = S.summary_markdown(res, 8)
    desc_md = md.split("### Descriptive")[1]
    assert "favour" not in desc_md and "better" not in desc_md.split("\n", 1)[1]
    assert "cmf higher than homogeneous in 100, lower in 0 of 100 regions" in desc_md
    assert "closer to it cmf in 0, homogeneous in 100" in desc_md
    assert "(family `primary`, 2 test(s))" in md


def test_primary_declaration_checked():
    too_many = [*S.DEFAULT_PRIMARY, {"metric": "fc_profile_error", "region": "global"}]
    with pytest.raises(CmftvbError, match="at most 4"):
        S.parse_primary(too_many)
    with pytest.raises(CmftvbError, match="'r_E_rate_hz' has no declared direction"):
        S.parse_primary([{"metric": "r_E_rate_hz"}])
    with pytest.raises(CmftvbError, match="twice"):
        S.parse_primary([{"metric": "fc_fit"}, {"metric": "fc_fit", "region": "global"}])
    assert S.parse_primary([{"metric": "fcd_ks"}]) == [("fcd_ks", "global")]
    # fcd_ks alone primary: fc_fit becomes its own secondary family
    t = _family_table(np.random.default_rng(6), n_regions=2)
    res = S.paired_comparison(t, primary=[{"metric": "fcd_ks"}], n_boot=200)
    f = res.set_index(["metric", "region"])["family"]
    assert f[("fcd_ks", "global")] == "primary" and f[("fc_fit", "global")] == "secondary:fc_fit"
    assert res.loc[res.family == "primary", "q_w"].iloc[0] == pytest.approx(
        res.loc[res.family == "primary", "p_w"].iloc[0]
    )


# ---------------------------------------------------------------------------------------------
# Noise ceiling, regime, design, the whole stage
# ---------------------------------------------------------------------------------------------


def _correlated_bold(rng, T=600, N=12):
    """Stationary AR(1) BOLD-like series with a fixed random covariance (volumes x nodes)."""
    L = rng.normal(0, 1, (N, N)) / np.sqrt(N) + np.eye(N)
    x = np.zeros((T, N))
    for k in range(1, T):
        x[k] = 0.5 * x[k - 1] + rng.normal(0, 1, N) @ L.T
    return x


def test_noise_ceiling_hand_computation_and_properties():
    from cmftvb import fitness

    rng = np.random.default_rng(7)
    x = _correlated_bold(rng)
    T, N = x.shape
    iu = np.triu_indices(N, k=1)
    full = np.corrcoef(x.T)[iu]
    n = 100
    ref = [np.corrcoef(np.corrcoef(x[s : s + n].T)[iu], full)[0, 1] for s in range(0, T, n)]
    c = fitness.noise_ceiling(x, n)
    assert c["n_segments"] == 6
    assert c["mean"] == pytest.approx(np.mean(ref), rel=1e-12)
    assert c["sd"] == pytest.approx(np.std(ref, ddof=1), rel=1e-12)
    # stepped, with a mask of 8 nodes (start 0, 50, ..., 500)
    m = np.arange(8)
    iu8 = np.triu_indices(8, k=1)
    full8 = np.corrcoef(x[:, m].T)[iu8]
    ref = [np.corrcoef(np.corrcoef(x[s : s + n, m].T)[iu8], full8)[0, 1] for s in range(0, 501, 50)]
    c = fitness.noise_ceiling(x, n, mask=m, step=50)
    assert c["n_segments"] == 11 and c["mean"] == pytest.approx(np.mean(ref), rel=1e-12)
    # the ceiling grows with the run length and is 1 at the full session
    means = [fitness.noise_ceiling(x, k)["mean"] for k in (20, 50, 150, 300)]
    assert np.all(np.diff(means) > 0)
    whole = fitness.noise_ceiling(x, T)
    assert whole["mean"] == pytest.approx(1.0) and whole["n_segments"] == 1
    assert np.isnan(whole["sd"])
    with pytest.raises(CmftvbError, match="n_volumes"):
        fitness.noise_ceiling(x, T + 1)


def test_summary_reports_design_ceiling_and_regime():
    from cmftvb import fitness
    from cmftvb.signals import regime

    t = _loso_table()
    extra = []
    for s in HOMOG_FIT:
        for model in ("homogeneous", "cmf"):
            extra.append(
                (s, model, "corrected", 1.0, 1, fitness.NOISE_CEILING_METRIC, "global", 0.5)
            )
            for G in (1.0, 2.0, 3.0):
                bad = 0.25 if (s, model, G) == ("s2", "cmf", 3.0) else 0.0
                extra.append(
                    (s, model, "corrected", G, 1, regime.REGIME_WW_OUT_OF_BAND, "global", bad)
                )
    t = pd.concat([t, pd.DataFrame(extra, columns=COLUMNS)], ignore_index=True)
    design = {
        "presets": ["corrected"],
        "overrides": {"wongwang.fic": True},
        "duration_ms": 190000,
        "bold_transient_s": 10.0,
        "tr_s": 0.72,
    }
    chosen, comparison, md = S.study_stats(t, n_boot=200, design=design)
    # diagnostics are reported, not compared
    assert not comparison.metric.str.startswith("regime_").any()
    assert fitness.NOISE_CEILING_METRIC not in set(comparison.metric)
    assert "subject" in chosen.columns and (chosen.rule == "loso").all()
    assert "- FIC (feedback inhibition control, Deco et al. 2014): `corrected` on." in md
    assert "- Noise: additive, SD per sqrt(ms) `corrected` 0.001." in md
    assert "- Run length: 180 s of post-transient BOLD (250 volumes at TR 0.72 s)." in md
    assert "noise ceiling 0.5 (mean over 4 subjects" in md
    assert "fc_fit cmf 0.906, homogeneous 0.125 (mean over subjects at the chosen G)" in md
    assert "**Warning**: 1 run check(s) outside" in md and "s2/cmf/corrected/G 3/seed 1" in md
    assert "declared but absent from this study: fcd_ks/global" in md
    assert "- Coupling: absolute G = 1, 2, 3, the same for every subject" in md
    # G as fractions of G*: the absolute range it meant
    rel = t.assign(G_abs=t["G"].astype(float) * 0.25)
    md_rel = S.study_stats(rel, n_boot=50, design=design)[2]
    assert "- Coupling: G = 1, 2, 3 x each subject's reference G*" in md_rel
    assert "absolute G 0.25-0.75" in md_rel
    # FIC off and not-a-key
    off = S.study_design(presets=["corrected"], overrides={"wongwang.fic": False})
    assert off["fic"] == {"corrected": False}
    # a text override reads as YAML, as presets.apply_overrides reads it ("false" is off)
    text = S.study_design(presets=["corrected"], overrides={"wongwang.fic": "false"})
    assert text["fic"] == {"corrected": False}
    with pytest.raises(CmftvbError, match="wongwang.fic must be true or false"):
        S.study_design(presets=["corrected"], overrides={"wongwang.fic": "maybe"})
    assert S.study_design(presets=["corrected"], noise_sigma=0.0)["noise_sigma"] == {
        "corrected": 0.0
    }


def test_study_stats_without_fit_compares_every_g():
    rng = np.random.default_rng(9)
    t = _family_table(rng, n_regions=2)
    t = t[t.metric.str.contains("rate")]
    t2 = t.assign(G=2.0)
    both = pd.concat([t, t2], ignore_index=True)
    chosen, comp, md = S.study_stats(both, n_boot=200)
    assert chosen.empty and sorted(comp.G.unique()) == [1.0, 2.0]
    assert "compared at every G separately" in md
    chosen, comp, md = S.study_stats(both, best_G_rule="fixed", fixed_G=2.0, n_boot=200)
    assert (chosen.G == 2.0).all() and (comp.G_a == 2.0).all()


def test_summary_reports_input_shares_beside_the_article():
    """The summary's input-share section: per preset, input and population, the mean and range
    over runs of the share (computed here independently with pandas), the article's Table 5
    value, and no line for a route that carries nothing anywhere."""
    rng = np.random.default_rng(5)
    rows = []
    for subject in ("s1", "s2", "s3"):
        mossy = rng.uniform(0.9, 0.99)
        for pop, inp, share, art in [
            ("GrC", "mossy", mossy, 0.97),
            ("GoC", "mossy", 1 - mossy, 0.03),
            ("MLI", "mossy", 0.0, 0.0),
            ("MLI", "parallel", rng.uniform(0.5, 0.6), 0.55),
        ]:
            rows.append(
                dict(preset="corrected", subject=subject, population=pop, input=inp,
                     share=share, article_share=art)
            )  # fmt: skip
    shares = pd.DataFrame(rows)
    md = S.summary_markdown(_table_res_for_shares(), 3, input_shares=shares)
    assert "## Input shares (article Table 5)" in md
    for (pop, inp), g in shares.groupby(["population", "input"]):
        line = [x for x in md.splitlines() if x.startswith(f"| corrected | {inp} | {pop} |")]
        if (g.share == 0).all():
            assert not line  # a route without input in any run
            continue
        assert len(line) == 1
        cells = [c.strip() for c in line[0].strip("|").split("|")]
        assert float(cells[3]) == pytest.approx(
            g.share.mean(), rel=5e-3
        )  # printed to 3 significant digits
        lo, hi = (float(x) for x in cells[4].split("-"))
        assert lo == pytest.approx(g.share.min(), rel=5e-3)  # printed to 3 significant digits
        assert hi == pytest.approx(g.share.max(), rel=5e-3)  # printed to 3 significant digits
        assert float(cells[5]) == g.article_share.iloc[0]
    assert "Input shares" not in S.summary_markdown(_table_res_for_shares(), 3)


def _table_res_for_shares():
    rng = np.random.default_rng(3)
    t = _table(rng, n_subj=3, Gs=(2.0,))
    return S.paired_comparison(t, n_boot=200)
