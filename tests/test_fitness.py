"""Fitness metrics on small, hand-checkable inputs and against scipy/numpy references."""

import numpy as np
import pandas as pd
import pytest
from scipy import signal, stats

from cmftvb import CmftvbError
from cmftvb import fitness as F


def test_fc_matches_corrcoef_with_nan_diagonal():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 5))
    c = F.fc(x)
    ref = np.corrcoef(x.T)
    assert np.all(np.isnan(np.diag(c)))
    off = ~np.eye(5, dtype=bool)
    np.testing.assert_allclose(c[off], ref[off], rtol=1e-12)


def test_fc_fit_hand_example_and_mask():
    # 3 masked nodes -> upper triangle (0,1),(0,2),(1,2)
    sim = np.array([[1, 0.1, 0.2, 9], [0.1, 1, 0.3, 9], [0.2, 0.3, 1, 9], [9, 9, 9, 1.0]])
    emp = np.array([[1, 0.2, 0.4, -5], [0.2, 1, 0.5, -5], [0.4, 0.5, 1, -5], [-5, -5, -5, 1.0]])
    mask = np.array([True, True, True, False])
    r = F.fc_fit(sim, emp, mask)
    assert r == pytest.approx(np.corrcoef([0.1, 0.2, 0.3], [0.2, 0.4, 0.5])[0, 1], rel=1e-12)
    assert F.fc_fit(sim, emp, [0, 1, 2]) == r
    # including node 3 (which has no empirical data) changes the answer
    assert F.fc_fit(sim, emp) != pytest.approx(r)
    assert np.isnan(F.fc_fit(sim, emp, [0, 1]))


def test_fcd_by_hand_and_ks():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 4))
    M = F.fcd(x, window=10, step=5)
    starts = range(0, 31, 5)
    iu = np.triu_indices(4, 1)
    vecs = [np.corrcoef(x[s : s + 10].T)[iu] for s in starts]
    assert M.shape == (7, 7)
    assert M[1, 4] == pytest.approx(np.corrcoef(vecs[1], vecs[4])[0, 1], rel=1e-12)
    np.testing.assert_allclose(np.diag(M), 1.0)
    y = rng.standard_normal((40, 4))
    N2 = F.fcd(y, window=10, step=5)
    ks = F.fcd_ks(M, N2)
    ref = stats.ks_2samp(M[np.triu_indices(7, 1)], N2[np.triu_indices(7, 1)]).statistic
    assert ks == pytest.approx(ref)
    assert F.fcd_ks(M, M) == 0.0
    with pytest.raises(CmftvbError, match="too few"):
        F.fcd(x, window=39, step=2)


def test_regional_bold_mae_hand():
    t = np.arange(4.0)
    a = np.c_[t, t, t]  # z = [-1.342, -0.447, 0.447, 1.342]
    b = np.c_[t, -t, 2 * t + 7]
    mae = F.regional_bold_mae(a, b, mask=[True, True, False])
    z = (t - t.mean()) / t.std()
    assert mae[0] == pytest.approx(0.0, abs=1e-15)
    assert mae[1] == pytest.approx(np.mean(np.abs(2 * z)))
    assert np.isnan(mae[2])
    # lengths differ: truncated to the shorter, z-scored after truncation
    mae2 = F.regional_bold_mae(np.r_[a, [[100, 100, 100]]], b)
    assert mae2[0] == pytest.approx(0.0, abs=1e-15)


def test_regional_fc_profile_error():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((300, 6))
    x[:, 1] += x[:, 0]
    emp = F.fc(x)
    np.testing.assert_allclose(F.regional_fc_profile_error(emp, emp)[:6], 0.0, atol=1e-12)
    sim = emp.copy()
    sim[0, 1:] = sim[1:, 0] = -emp[0, 1:]
    err = F.regional_fc_profile_error(sim, emp, mask=[0, 1, 2, 3, 4])
    assert err[0] == pytest.approx(2.0)
    assert np.isnan(err[5])
    # node 1's row to the other masked nodes 0, 2, 3, 4
    r = stats.pearsonr(sim[1, [0, 2, 3, 4]], emp[1, [0, 2, 3, 4]]).statistic
    assert err[1] == pytest.approx(1 - r)
    mae = F.regional_fc_profile_error(sim, emp, mask=[0, 1, 2], kind="mae")
    assert mae[0] == pytest.approx(np.mean(np.abs(2 * emp[0, [1, 2]])))


def test_preprocess_bold_against_scipy_chain():
    rng = np.random.default_rng(3)
    tr = 0.72
    t = np.arange(1200) * tr
    raw = (
        9500
        + 3 * t[:, None]
        + 50 * np.sin(2 * np.pi * 0.05 * t)[:, None]
        + 20 * (rng.standard_normal((1200, 3)))
    )
    out = F.preprocess_bold(raw, tr)
    d = signal.detrend(raw, axis=0)
    z = (d - d.mean(0)) / d.std(0)
    sos = signal.butter(4, [0.01, 0.1], btype="bandpass", fs=1 / tr, output="sos")
    np.testing.assert_allclose(out, signal.sosfiltfilt(sos, z, axis=0), rtol=1e-12, atol=1e-12)
    # the 0.05 Hz component survives, the trend and the mean are gone
    assert abs(out.mean()) < 0.05
    f, P = signal.welch(out[:, 0], fs=1 / tr, nperseg=256)
    assert abs(f[np.argmax(P)] - 0.05) < 0.01
    with pytest.raises(CmftvbError, match="Nyquist"):
        F.preprocess_bold(raw, 0.72, band=(0.01, 1.0))


def test_run_table_absent_nodes_and_columns():
    rng = np.random.default_rng(4)
    N = 6
    sim = rng.standard_normal((200, N))
    has = np.array([True, True, True, True, False, False])
    emp_sub = rng.standard_normal((210, 4))
    labels = [f"n{i}" for i in range(N)]
    extra = pd.DataFrame({"metric": ["pc_rate_hz"], "region": ["n5"], "value": [55.0]})
    run = dict(
        subject="s1", model="cmf", preset="corrected", G=2.0, seed=3, sim_bold=sim,
        labels=labels, has_empirical=has,
    )  # fmt: skip
    tab = F.run_table(**run, emp_bold=emp_sub, fcd_window=30, fcd_step=5, extra=extra)
    assert list(tab.columns) == F.TABLE_COLUMNS
    regional = tab[tab.metric.isin(["bold_mae", "fc_profile_error"])]
    assert set(regional.region) == {"n0", "n1", "n2", "n3"}  # n4, n5 absent, not invented
    full = np.full((210, N), np.nan)
    full[:, :4] = emp_sub
    tab2 = F.run_table(**run, emp_bold=full, fcd_window=30, fcd_step=5)
    pd.testing.assert_frame_equal(tab.iloc[: len(tab2)], tab2)
    g = tab2.set_index(["metric", "region"])["value"]
    assert g["fc_fit", "global"] == pytest.approx(F.fc_fit(F.fc(sim), F.fc(full), has), rel=1e-12)
    assert g["bold_mae", "n2"] == pytest.approx(F.regional_bold_mae(sim, full, has)[2])
    assert (tab.subject == "s1").all() and (tab.seed == 3).all() and (tab.G == 2.0).all()
    with pytest.raises(CmftvbError, match="columns"):
        F.run_table(**run, emp_bold=emp_sub[:, :3])


# ------------------------------------------------- batch scoring (rule fitness)
def _features(seed=1):
    """Per-node features of 4 nodes: two cerebral, one cerebellar cortex, one DCN."""
    rows = []
    for region, base in (("ctx1", 1.0), ("ctx2", 3.0), ("crb", 10.0), ("dcn1", 20.0)):
        rows.append((seed, "r_E_alpha_rel_area", region, base / 100))
        rows.append((seed, "r_E_rate_hz", region, base))
        rows.append((seed, "coh_r_E_GrC_beta", region, base / 10))
    return pd.DataFrame(rows, columns=["seed", "metric", "region", "value"])


LABELS = np.array(["ctx1", "ctx2", "crb", "dcn1"])
ROLES = np.array(["cortex", "thalamus", "crbl_hemisphere", "dcn"])


def test_summarise_features_keeps_rates_per_node_and_averages_the_rest_per_group():
    out = F.summarise_features(_features(), LABELS, ROLES)
    got = {(m, r): v for m, r, v in out[["metric", "region", "value"]].itertuples(index=False)}
    assert got == {
        ("coh_r_E_GrC_beta", "cerebral"): pytest.approx((0.1 + 0.3) / 2),
        ("coh_r_E_GrC_beta", "crbl_cortex"): pytest.approx(1.0),
        ("coh_r_E_GrC_beta", "dcn"): pytest.approx(2.0),
        ("r_E_alpha_rel_area", "cerebral"): pytest.approx((0.01 + 0.03) / 2),
        ("r_E_alpha_rel_area", "crbl_cortex"): pytest.approx(0.1),
        ("r_E_alpha_rel_area", "dcn"): pytest.approx(0.2),
        ("r_E_rate_hz", "ctx1"): 1.0,
        ("r_E_rate_hz", "ctx2"): 3.0,
        ("r_E_rate_hz", "crb"): 10.0,
        ("r_E_rate_hz", "dcn1"): 20.0,
    }


class _Con:
    labels, roles = LABELS, ROLES
    has_empirical = np.array([True, True, False, False])


def _signals(rng, seeds=(1, 2), T=400, tr_s=0.72):
    return {
        "seeds": np.array(seeds),
        "bold": rng.standard_normal((len(seeds), T, 4)),
        "tr_s": np.float64(tr_s),
        "labels": LABELS,
    }


OPTIONS = {
    "bandpass_hz": [0.01, 0.1],
    "filter_order": 4,
    "filter_simulated": True,
    "fcd_window_s": 20.0,
    "fcd_step_s": 1.44,
}
KEYS = {"subject": "s1", "model": "cmf", "preset": "corrected", "G": "1.5"}


def test_score_batch_scores_each_seed_like_run_table():
    rng = np.random.default_rng(3)
    sig = _signals(rng)
    emp = {"bold": rng.standard_normal((300, 2)), "tr_s": np.float64(0.72)}
    features = pd.concat([_features(1), _features(2)], ignore_index=True)
    table, fcs = F.score_batch(sig, features, emp, _Con(), keys=KEYS, **OPTIONS)
    assert fcs.shape == (2, 4, 4)
    # G_abs (the absolute coupling; here G itself) follows G
    assert list(table.columns) == ["subject", "model", "preset", "G", F.G_ABS, *F.TABLE_COLUMNS[4:]]
    assert set(table[F.G_ABS]) == {1.5}
    table = table.drop(columns=F.G_ABS)
    # 400 simulated volumes, 300 empirical ones: no noise ceiling at that length
    assert F.NOISE_CEILING_METRIC not in set(table.metric)
    assert F.fcd_steps(0.72, 20.0, 1.44) == (28, 2)
    for k, seed in enumerate((1, 2)):
        # the simulated BOLD is band-passed like the empirical one: scipy's Butterworth here
        sos = signal.butter(4, [0.01, 0.1], btype="bandpass", fs=1 / 0.72, output="sos")
        x = signal.detrend(sig["bold"][k], axis=0)
        x = signal.sosfiltfilt(sos, (x - x.mean(0)) / x.std(0), axis=0)
        off = ~np.eye(4, dtype=bool)
        np.testing.assert_allclose(fcs[k][off], np.corrcoef(x.T)[off], rtol=1e-10)
        ref = F.run_table(
            subject="s1",
            model="cmf",
            preset="corrected",
            G=1.5,
            seed=seed,
            sim_bold=x,
            emp_bold=emp["bold"],
            labels=LABELS,
            has_empirical=_Con.has_empirical,
            fcd_window=28,
            fcd_step=2,
            extra=F.summarise_features(_features(seed), LABELS, ROLES),
        )
        mine = table[table.seed == seed].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, ref, rtol=1e-9)


def test_score_batch_without_empirical_bold_gives_features_only():
    rng = np.random.default_rng(4)
    sig = _signals(rng, seeds=(7,))
    emp = {"bold": np.zeros((0, 2)), "tr_s": np.float64(0.72)}
    table, _ = F.score_batch(sig, _features(7), emp, _Con(), keys=KEYS, **OPTIONS)
    assert not table.metric.isin(["fc_fit", "fcd_ks", "bold_mae", F.NOISE_CEILING_METRIC]).any()
    assert len(table) == 10 and set(table.seed) == {7} and set(table.G) == {1.5}
    assert set(table[F.G_ABS]) == {1.5}


def _segment_fit_by_hand(e, n):
    """Mean over non-overlapping n-volume segments of r(upper FC of the segment, upper FC of
    the whole session), with numpy only."""
    iu = np.triu_indices(e.shape[1], 1)
    full = np.corrcoef(e.T)[iu]
    fits = [
        np.corrcoef(np.corrcoef(e[s : s + n].T)[iu], full)[0, 1]
        for s in range(0, len(e) - n + 1, n)
    ]
    return float(np.mean(fits))


def test_score_batch_adds_the_noise_ceiling_at_the_simulated_length_and_G_abs():
    class Con3(_Con):
        has_empirical = np.array([True, True, True, False])

    rng = np.random.default_rng(8)
    sig = _signals(rng, T=100)
    # empirical BOLD with a shared component: 4 segments of 100 volumes (50 left over)
    z = rng.standard_normal((450, 1))
    emp = {"bold": z * [1.0, 0.6, 0.3] + rng.standard_normal((450, 3)), "tr_s": np.float64(0.72)}
    features = pd.concat([_features(1), _features(2)], ignore_index=True)
    keys = {**KEYS, "G": 0.9, F.G_ABS: 0.4437}
    table, _ = F.score_batch(sig, features, emp, Con3(), keys=keys, **OPTIONS)
    assert set(table.G) == {0.9} and set(table[F.G_ABS]) == {0.4437}
    ceil = table[table.metric == F.NOISE_CEILING_METRIC]
    assert list(ceil.seed) == [1, 2] and set(ceil.region) == {"global"}
    expected = _segment_fit_by_hand(emp["bold"], 100)
    assert np.isfinite(expected)
    np.testing.assert_allclose(ceil.value, expected, rtol=1e-12)


def test_ceiling_rows_by_hand():
    rng = np.random.default_rng(9)
    z = rng.standard_normal((500, 1))
    e = z * np.array([1.0, 0.5, 0.2, 0.0, 0.8]) + rng.standard_normal((500, 5))
    rows = F.ceiling_rows(e, 120, "s1")
    assert list(rows.columns) == ["metric", "region", "value"]
    assert list(rows.metric) == [F.NOISE_CEILING_METRIC] and list(rows.region) == ["global"]
    assert rows.value.iloc[0] == pytest.approx(_segment_fit_by_hand(e, 120), rel=1e-12)
    assert F.ceiling_rows(e, 501).empty  # longer than the session: not computed
    assert F.ceiling_rows(np.zeros((0, 5)), 120).empty  # no empirical BOLD


def test_summarise_features_passes_whole_run_rows_through():
    reg = pd.DataFrame(
        {"seed": 1, "metric": ["regime_SE_saturated_share"], "region": ["global"], "value": [0.25]}
    )
    out = F.summarise_features(pd.concat([_features(), reg], ignore_index=True), LABELS, ROLES)
    hit = out[out.region == "global"]
    assert list(hit.metric) == ["regime_SE_saturated_share"] and list(hit.value) == [0.25]
    assert len(out) == len(F.summarise_features(_features(), LABELS, ROLES)) + 1


def test_score_batch_refuses_mismatched_tr():
    rng = np.random.default_rng(5)
    sig = _signals(rng, tr_s=2.0)
    emp = {"bold": rng.standard_normal((300, 2)), "tr_s": np.float64(0.72)}
    with pytest.raises(CmftvbError, match="subject s1: simulated BOLD at TR 2.0 s, empirical"):
        F.score_batch(sig, _features(), emp, _Con(), keys=KEYS, **OPTIONS)


def test_study_table_concatenates_and_sorts():
    def run(subject, seed, value):
        return pd.DataFrame(
            [[subject, "cmf", "corrected", 1.5, seed, "fc_fit", "global", value]],
            columns=F.TABLE_COLUMNS,
        )

    out = F.study_table([run("b", 1, 0.5), run("a", 2, 0.25), run("a", 1, np.nan)])
    assert list(zip(out.subject, out.seed, strict=True)) == [("a", 1), ("a", 2), ("b", 1)]
    assert np.isnan(out.value[0]) and out.value[1] == 0.25 and out.value.dtype == float
    assert list(out.columns) == F.TABLE_COLUMNS
    # G_abs is kept, after G, when every run table has it
    both = [run("b", 1, 0.5).assign(G_abs=0.7), run("a", 1, 0.1).assign(G_abs=0.6)]
    out = F.study_table(both)
    assert list(out.columns[:5]) == ["subject", "model", "preset", "G", F.G_ABS]
    assert list(out[F.G_ABS]) == [0.6, 0.7]


def test_prepare_empirical_from_a_bold_table(tmp_path):
    from cmftvb.connectome import Connectome

    rng = np.random.default_rng(6)
    raw = 100 + rng.standard_normal((200, 3)).cumsum(axis=0)  # time x regions
    path = tmp_path / "bold.tsv"
    path.write_text(
        "A\tB\tC\n" + "\n".join("\t".join(repr(float(v)) for v in row) for row in raw) + "\n"
    )
    w = np.ones((4, 4)) - np.eye(4)
    con = Connectome(
        weights=w,
        tract_lengths=w * 10,
        labels=["A", "B", "C", "Dentate_L"],
        roles=["cortex", "cortex", "thalamus", "dcn"],
        has_empirical=np.array([True, True, True, False]),
    )
    arrays, meta = F.prepare_empirical(
        "participants", "s1", {"bold": str(path)}, con, tr_s=2.0, bandpass_hz=(0.01, 0.2)
    )
    sos = signal.butter(4, [0.01, 0.2], btype="bandpass", fs=0.5, output="sos")
    x = signal.detrend(raw, axis=0)
    ref = signal.sosfiltfilt(sos, (x - x.mean(0)) / x.std(0), axis=0)
    np.testing.assert_allclose(arrays["bold"], ref, rtol=1e-8, atol=1e-10)
    assert list(arrays["labels"]) == ["A", "B", "C"] and float(arrays["tr_s"]) == 2.0
    assert meta["preprocessing"] == "detrended, z-scored, band-pass 0.01-0.2 Hz"
    # the sample subject has none: zero volumes on the nodes with data
    none, meta = F.prepare_empirical("sample", "s1", {}, con, tr_s=2.0)
    assert none["bold"].shape == (0, 3) and meta["preprocessing"].startswith("no empirical")
