"""Regime check of one run: shares counted by hand on made-up per-node means."""

import numpy as np
import pytest

from cmftvb import CmftvbError
from cmftvb.signals import regime as R
from cmftvb.signals.ephys import physiological_ranges


def test_default_band_is_physiology_r_E_range():
    rng = physiological_ranges()["r_E"]
    assert R.DEFAULT_BAND_HZ == (rng["low_hz"], rng["high_hz"])


def test_wong_wang_shares_by_hand():
    # 8 nodes: 0.5 (below), 1.0 (edge, inside), 3, 9.99, 10.0 (edge, inside), 10.5 (above),
    # 472 (above), NaN (diverged: outside)
    r_E = [0.5, 1.0, 3.0, 9.99, 10.0, 10.5, 472.0, np.nan]
    S_E = [0.1, 0.2, 0.3, 0.9, 0.91, 0.95, 0.99, np.nan]  # 0.9 not saturated; 4 above or NaN
    out = R.regime_check(r_E, S_E)
    assert set(out) == {R.REGIME_WW_OUT_OF_BAND, R.REGIME_SE_SATURATED}
    assert out[R.REGIME_WW_OUT_OF_BAND] == pytest.approx(4 / 8)
    assert out[R.REGIME_SE_SATURATED] == pytest.approx(4 / 8)
    # a narrower band (Deco's 3 +- 1 Hz) leaves only the 3 Hz node inside
    narrow = R.regime_check(r_E, S_E, band_hz=(2.0, 4.0), se_saturation=0.5)
    assert narrow[R.REGIME_WW_OUT_OF_BAND] == pytest.approx(7 / 8)
    assert narrow[R.REGIME_SE_SATURATED] == pytest.approx(5 / 8)


def test_cerebellar_populations_against_physiology_yaml():
    ranges = physiological_ranges()
    lo, hi = ranges["PC"]["low_hz"], ranges["PC"]["high_hz"]
    crbl = {
        "GrC": [ranges["GrC"]["low_hz"], ranges["GrC"]["high_hz"] + 1.0],  # 1 of 2 outside
        "GoC": [5.0, 5.0],  # inside
        "MLI": [0.0, 12.0],  # 1 outside (0 < 1 Hz)
        "PC": [lo - 1.0, (lo + hi) / 2],  # 1 outside
    }
    out = R.regime_check([3.0, 3.0], [0.2, 0.2], crbl_rates_hz=crbl)
    assert out[R.REGIME_WW_OUT_OF_BAND] == 0.0 and out[R.REGIME_SE_SATURATED] == 0.0
    assert out[R.REGIME_CRBL_OUT_OF_RANGE] == pytest.approx(3 / 8)
    rows = R.regime_rows(out)
    assert list(rows.metric) == list(R.REGIME_METRICS)
    assert set(rows.region) == {"global"}
    assert rows.value.iloc[2] == pytest.approx(3 / 8)
    # homogeneous network: no cerebellar row at all
    assert len(R.regime_rows(R.regime_check([3.0], [0.2]))) == 2


def test_bad_input():
    with pytest.raises(CmftvbError, match="r_E means but"):
        R.regime_check([1.0, 2.0], [0.1])
    with pytest.raises(CmftvbError, match="1-D"):
        R.regime_check(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(CmftvbError, match="'Purkinje'"):
        R.regime_check([3.0], [0.1], crbl_rates_hz={"Purkinje": [50.0]})
    with pytest.raises(CmftvbError, match="band_hz"):
        R.regime_check([3.0], [0.1], band_hz=(10.0, 1.0))
