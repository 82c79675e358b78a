"""Model recovery and power (cmftvb.recovery) on hand-made tables with a known winner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cmftvb import CmftvbError
from cmftvb.recovery import (
    Endpoint,
    bh_rows,
    clopper_pearson,
    confusion,
    paired_tests,
    parse_endpoints,
    power,
)

ROLES = {"ctx1": "cortex", "ctx2": "cortex", "cb1": "crbl_hemisphere", "cb2": "crbl_vermis"}


def _table(values: dict[str, np.ndarray], metric="fc_fit", region="global", **extra):
    """Tidy table: values[model] = one value per subject."""
    rows = []
    for model, v in values.items():
        for s, x in enumerate(v):
            rows.append(
                {"subject": f"s{s:03d}", "model": model, "preset": "corrected", "G": 0.3,
                 "seed": 1, "metric": metric, "region": region, "value": float(x), **extra}
            )  # fmt: skip
    return pd.DataFrame(rows)


def _wilcoxon_reference(d):
    nz = d[d != 0]
    if nz.size == 0:
        return np.nan
    ties = np.unique(np.abs(nz)).size < nz.size
    if not ties and nz.size == d.size and nz.size <= 50:
        method = "exact"
    elif nz.size <= 13:
        method = stats.PermutationMethod(n_resamples=np.inf)
    else:
        method = "asymptotic"
    return stats.wilcoxon(d, method=method).pvalue


@pytest.mark.parametrize("n", [3, 6, 13, 14, 25])
def test_vectorised_tests_match_scipy(n):
    rng = np.random.default_rng(n)
    rows = 60 if n < 13 else 12  # the scipy permutation reference is slow at n >= 13
    base = rng.normal(0.3, 1.0, size=(rows, n))
    d = np.round(base, 1)  # ties and zeros
    d[: rows // 3] = base[: rows // 3]
    d[rows // 3] = 0.0
    r = paired_tests(d)
    for i in range(d.shape[0]):
        ref = _wilcoxon_reference(d[i])
        if np.isnan(ref):
            assert np.isnan(r["p_w"][i])
        else:
            assert r["p_w"][i] == pytest.approx(ref, rel=1e-9, abs=1e-12)
        if d[i].std() > 0:
            assert r["p_t"][i] == pytest.approx(stats.ttest_rel(d[i], 0 * d[i]).pvalue, rel=1e-9)
        else:
            assert np.isnan(r["p_t"][i])


def test_bh_matches_scipy_and_skips_nan():
    rng = np.random.default_rng(3)
    P = rng.random((40, 5)) ** 2
    P[2, 1] = np.nan
    Q = bh_rows(P)
    for i in range(40):
        f = np.isfinite(P[i])
        assert np.allclose(Q[i][f], stats.false_discovery_control(P[i][f], method="bh"))
        assert np.isnan(Q[i][~f]).all()


def test_clopper_pearson_against_beta_quantiles():
    lo, hi = clopper_pearson(np.array([0, 5, 20]), np.array([20, 20, 20]))
    assert lo[0] == 0 and hi[2] == 1
    assert lo[1] == pytest.approx(stats.beta.ppf(0.025, 5, 16))
    assert hi[1] == pytest.approx(stats.beta.ppf(0.975, 6, 15))


def test_confusion_known_winner_and_direction():
    rng = np.random.default_rng(0)
    n = 12
    a = rng.normal(0.5, 0.05, n)
    t_fit = _table({"cmf": a + 0.1, "homogeneous": a})  # cmf higher fc_fit: better
    err = rng.normal(0.3, 0.02, n)
    t_ks = _table({"cmf": err - 0.05, "homogeneous": err}, metric="fcd_ks")  # cmf lower: better
    out = confusion(pd.concat([t_fit, t_ks]), "cmf", ["fc_fit", "fcd_ks"])
    for ep in ("fc_fit", "fcd_ks"):
        rows = out[out.endpoint == ep].set_index("model")
        assert rows.loc["cmf", "fraction"] == 1.0 and rows.loc["homogeneous", "fraction"] == 0.0
        assert (rows["better"] == "cmf").all() and rows["significant"].all()
        assert rows["correct"].all()
        # the exact Wilcoxon p of 12 positive differences, BH over two equal p values
        assert rows["p_w"].iloc[0] == pytest.approx(2 / 2**12)
        assert rows["q_w"].iloc[0] == pytest.approx(2 / 2**12)
    # the same data with homogeneous as generator: significant but wrong
    out_h = confusion(t_fit, "homogeneous", ["fc_fit"])
    assert not out_h["correct"].any() and (out_h["better"] == "cmf").all()


def test_confusion_masked_scope_drops_cerebellar_and_needs_cerebral_fc():
    rng = np.random.default_rng(1)
    n = 8
    parts = []
    for region in ROLES:
        e = rng.normal(1.0, 0.05, n)
        better = 0.2 if region.startswith("cb") else 0.0  # cMF better only in the cerebellum
        parts.append(_table({"cmf": e - better, "homogeneous": e}, "bold_mae", region))
    fit = rng.normal(0.4, 0.05, n)
    parts.append(_table({"cmf": fit, "homogeneous": fit + 0.0}, "fc_fit"))
    table = pd.concat(parts)
    spec = ["fc_fit", "bold_mae@crbl_cortex", "bold_mae@cerebral"]
    full = confusion(table, "cmf", spec, region_roles=ROLES)
    crbl = full[full.endpoint == "bold_mae@crbl_cortex"]
    assert crbl["significant"].all() and (crbl["better"] == "cmf").all()
    cer = full[full.endpoint == "bold_mae@cerebral"]
    assert not cer["significant"].any()
    keep = {r for r, role in ROLES.items() if role == "cortex"}
    with pytest.raises(CmftvbError, match="fc_fit_cerebral"):
        confusion(table, "cmf", spec, region_roles=ROLES, keep_regions=keep)
    table2 = pd.concat([table, _table({"cmf": fit, "homogeneous": fit}, "fc_fit_cerebral")])
    masked = confusion(table2, "cmf", spec, region_roles=ROLES, keep_regions=keep)
    assert set(masked.endpoint) == {"fc_fit", "bold_mae@cerebral"}
    assert (masked.scope == "masked").all()
    # all fc_fit differences are zero: no test, nobody wins
    f = masked[masked.endpoint == "fc_fit"].set_index("model")
    assert f.loc["tie", "fraction"] == 1.0 and np.isnan(f["p_w"]).all()


def test_parse_endpoints_resolves_role_groups():
    eps = parse_endpoints(["fc_fit", "bold_mae@crbl_cortex"], ROLES)
    assert eps[0] == Endpoint("fc_fit", "fc_fit", None)
    assert eps[1].regions == frozenset({"cb1", "cb2"})
    with pytest.raises(CmftvbError, match="unknown role group"):
        parse_endpoints(["bold_mae@nowhere"], ROLES)


def test_power_of_a_clear_difference_grows_with_subjects():
    rng = np.random.default_rng(2)
    n = 30
    a = rng.normal(0.5, 0.1, n)
    t = _table({"cmf": a + rng.normal(0.05, 0.1, n), "homogeneous": a})
    out = power(t, "cmf", ["fc_fit"], n_subjects=[4, 10, 30], n_resamples=400, seed=1)
    fam = out[out.endpoint == "family"].set_index("n_subjects")
    assert fam.loc[30, "power"] > fam.loc[10, "power"] > fam.loc[4, "power"]
    assert fam.loc[30, "power"] > 0.8
    assert fam.loc[30, "false_positive"] < 0.01
    again = power(t, "cmf", ["fc_fit"], n_subjects=[4, 10, 30], n_resamples=400, seed=1)
    pd.testing.assert_frame_equal(out, again)


@pytest.mark.parametrize("test", ["t", "wilcoxon"])
def test_power_of_a_non_discriminating_endpoint_stays_at_false_positive_level(test):
    """Data of model A fitted by A and by an identical copy A2: in the cohort every subject
    (x, y) has a mirror (y, x), so the resampled population is exactly exchangeable and the
    endpoint cannot discriminate. Power and false positives are then equal, and together a
    calibrated two-sided test rejects at rate alpha (t test), a conservative one at most alpha
    (exact/permutation Wilcoxon), within a binomial 99 % interval."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(0.5, 0.1, 200), rng.normal(0.5, 0.1, 200)
    t = _table({"A": np.r_[x, y], "A2": np.r_[y, x]})
    R, alpha = 3000, 0.05
    out = power(t, "A", ["fc_fit"], n_subjects=[10, 20], n_resamples=R, seed=3, test=test)
    fam = out[out.endpoint == "family"]
    for _, row in fam.iterrows():
        k_any = round((row.power + row.false_positive) * R)
        lo, hi = clopper_pearson(k_any, R, level=0.99)
        assert lo <= alpha + 1e-12, (row.n_subjects, row.power, row.false_positive)
        if test == "t":
            assert alpha <= hi
        kp, kf = round(row.power * R), round(row.false_positive * R)
        # equal rates: the split of significant calls is Binomial(k_any, 1/2)
        assert stats.binomtest(kp, kp + kf, 0.5).pvalue > 0.01


def test_power_groups_by_length_and_needs_generator_among_fitted():
    rng = np.random.default_rng(4)
    a = rng.normal(0.5, 0.1, 10)
    t = pd.concat(
        [
            _table({"cmf": a + 0.05, "homogeneous": a}, length_s=60.0),
            _table({"cmf": a + 0.2, "homogeneous": a}, length_s=180.0),
        ]
    )
    out = power(t, "cmf", ["fc_fit"], n_subjects=[5], n_resamples=200)
    assert sorted(out.length_s.unique()) == [60.0, 180.0]
    with pytest.raises(CmftvbError, match="not one of the fitted models"):
        power(t, "other", ["fc_fit"], n_subjects=[5], n_resamples=10)


def test_recovery_figure_draws_curves_and_heatmap(tmp_path):
    from cmftvb.figures.recovery import make_recovery

    rng = np.random.default_rng(6)
    a = rng.normal(0.5, 0.1, 8)
    parts = []
    for gen, shift in (("cmf", 0.1), ("homogeneous", -0.1)):
        for length in (60.0, 180.0):
            parts.append(
                _table({"cmf": a + shift * length / 180, "homogeneous": a}, length_s=length).assign(
                    generator=gen
                )
            )
    t = pd.concat(parts)
    pw = power(t, endpoints=["fc_fit"], n_subjects=[3, 5, 8], n_resamples=100)
    conf = confusion(t, endpoints=["fc_fit"])
    fig = make_recovery(pw, conf)
    # two power panels (one per generator), a heatmap and its colour bar
    assert len(fig.axes) == 4
    curves = fig.axes[0].get_lines()
    assert sum(1 for ln in curves if ln.get_linestyle() == "-" and len(ln.get_xdata()) == 3) == 2
    fam = pw[(pw.endpoint == "family") & (pw.generator == "cmf") & (pw.length_s == 180.0)]
    solid = [ln for ln in curves if ln.get_label() == "180 s: power"][0]
    assert np.allclose(solid.get_ydata(), fam.sort_values("n_subjects")["power"])
    img = fig.axes[2].get_images()[0].get_array()
    assert img.shape == (2, 1) and np.allclose(img, 1.0)  # every subject favours its generator
    from cmftvb.figures import save_figure

    paths = save_figure(fig, tmp_path / "recovery.png")
    assert all(p.stat().st_size > 0 for p in paths)


def test_masked_run_table_scores_the_kept_nodes_only():
    from cmftvb import fitness
    from cmftvb.recovery import masked_run_table

    rng = np.random.default_rng(7)
    sim, emp = rng.normal(size=(120, 6)), rng.normal(size=(120, 6))
    sim[:, 1] += sim[:, 0]
    emp[:, 1] += emp[:, 0]
    keep = np.array([True, True, True, True, False, False])
    out = masked_run_table(
        keep=keep, subject="s", model="cmf", preset="corrected", G=0.3, seed=1, sim_bold=sim,
        emp_bold=emp, labels=[f"n{i}" for i in range(6)], has_empirical=np.ones(6, bool),
        fcd_window=20, fcd_step=5,
    )  # fmt: skip
    fit = out[out.metric == "fc_fit_cerebral"]["value"].item()
    assert fit == pytest.approx(fitness.fc_fit(fitness.fc(sim[:, :4]), fitness.fc(emp[:, :4])))
    assert set(out[out.metric == "bold_mae_cerebral"].region) == {"n0", "n1", "n2", "n3"}
    prof = fitness.regional_fc_profile_error(fitness.fc(sim[:, :4]), fitness.fc(emp[:, :4]))
    got = out[out.metric == "fc_profile_error_cerebral"].set_index("region")["value"]
    assert np.allclose(got[["n0", "n1", "n2", "n3"]], prof)
