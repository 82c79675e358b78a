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
    tab = F.run_table(
        subject="s1",
        model="cmf",
        preset="corrected",
        G=2.0,
        seed=3,
        sim_bold=sim,
        emp_bold=emp_sub,
        labels=labels,
        has_empirical=has,
        fcd_window=30,
        fcd_step=5,
        extra=extra,
    )
    assert list(tab.columns) == F.TABLE_COLUMNS
    regional = tab[tab.metric.isin(["bold_mae", "fc_profile_error"])]
    assert set(regional.region) == {"n0", "n1", "n2", "n3"}  # n4, n5 absent, not invented
    full = np.full((210, N), np.nan)
    full[:, :4] = emp_sub
    tab2 = F.run_table(
        subject="s1",
        model="cmf",
        preset="corrected",
        G=2.0,
        seed=3,
        sim_bold=sim,
        emp_bold=full,
        labels=labels,
        has_empirical=has,
        fcd_window=30,
        fcd_step=5,
    )
    pd.testing.assert_frame_equal(tab.iloc[: len(tab2)], tab2)
    g = tab2.set_index(["metric", "region"])["value"]
    assert g["fc_fit", "global"] == pytest.approx(F.fc_fit(F.fc(sim), F.fc(full), has), rel=1e-12)
    assert g["bold_mae", "n2"] == pytest.approx(F.regional_bold_mae(sim, full, has)[2])
    assert (tab.subject == "s1").all() and (tab.seed == 3).all() and (tab.G == 2.0).all()
    with pytest.raises(CmftvbError, match="columns"):
        F.run_table(
            subject="s1",
            model="cmf",
            preset="corrected",
            G=2.0,
            seed=3,
            sim_bold=sim,
            emp_bold=emp_sub[:, :3],
            labels=labels,
            has_empirical=has,
        )
