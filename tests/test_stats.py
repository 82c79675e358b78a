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
