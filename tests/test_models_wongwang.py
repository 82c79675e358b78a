"""Wong-Wang kernel (cmftvb.models.wongwang) against tvb-library's ReducedWongWangExcInh."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from tvb.simulator.models.wong_wang_exc_inh import ReducedWongWangExcInh

from cmftvb.engine.tvb import TVB_WW_PARAMS
from cmftvb.models import wongwang as ww
from cmftvb.models.presets import apply_overrides, load_preset


def _tvb_model(preset):
    kw = {tvb: np.array([float(preset["wongwang"][key])]) for key, tvb in TVB_WW_PARAMS.items()}
    model = ReducedWongWangExcInh(G=np.array([float(preset["coupling"]["G"])]), **kw)
    model.configure()
    return model


def _z_both(S_E, S_I, c, p):
    """d*(a x - b) of both populations (distance from H's removable singularity)."""
    cc = p[ww.G_IDX] * p[ww.J_N] * c
    x_e = p[ww.W_PLUS] * p[ww.J_N] * S_E - p[ww.J_I] * S_I + p[ww.W_E] * p[ww.I_0] + cc
    x_e = x_e + p[ww.I_EXT]
    x_i = p[ww.J_N] * S_E - S_I + p[ww.W_I] * p[ww.I_0] + p[ww.LAMDA] * cc
    return (
        p[ww.D_E] * (p[ww.A_E] * x_e - p[ww.B_E]),
        p[ww.D_I] * (p[ww.A_I] * x_i - p[ww.B_I]),
    )


def test_preset_defaults_equal_tvb_defaults():
    pr = load_preset("corrected")
    default = ReducedWongWangExcInh()
    for key, tvb in TVB_WW_PARAMS.items():
        assert pr["wongwang"][key] == float(getattr(default, tvb)[0]), key
    assert pr["coupling"]["G"] == float(default.G[0])


PARAM_CASES = {
    "defaults": [],
    "modified": [
        ("coupling.G", "0.7"),
        ("wongwang.lamda", "0.4"),
        ("wongwang.I_ext", "0.05"),
        ("wongwang.w_plus", "1.1"),
        ("wongwang.J_i", "0.8"),
    ],
}


@pytest.mark.parametrize("case", sorted(PARAM_CASES))
def test_dfun_equals_tvb(case):
    pr = apply_overrides(load_preset("corrected"), PARAM_CASES[case])
    p = ww.pack(pr)
    model = _tvb_model(pr)
    rng = np.random.default_rng(11)
    n = 20000
    S_E = rng.uniform(-0.5, 1.5, n)  # includes states outside [0, 1]
    S_I = rng.uniform(-0.5, 1.5, n)
    c = rng.uniform(-3.0, 6.0, n)
    de, di = ww.dfun_nodes(S_E, S_I, c, p)
    state = np.stack([S_E, S_I])
    z_e, z_i = _z_both(S_E, S_I, c, p)
    away = (np.abs(z_e) > 2 * ww.SERIES_Z) & (np.abs(z_i) > 2 * ww.SERIES_Z)
    assert away.mean() > 0.99
    refs = {
        "numba": model.dfun(state[..., None], c[None, :, None])[..., 0],
        "numpy": model._numpy_dfun(state, c[None, :]),
    }
    for name, ref in refs.items():
        for got, want in ((de, ref[0]), (di, ref[1])):
            rel = np.abs(got - want) / np.maximum(np.abs(want), 1e-300)
            assert rel[away].max() < 1e-12, name


def test_vectorised_equals_scalar():
    p = ww.pack(load_preset("corrected"))
    rng = np.random.default_rng(2)
    S = rng.uniform(0, 1, (2, 7, 3))
    c = rng.uniform(0, 2, (7, 3))
    de, di = ww.dfun_nodes(S[0], S[1], c, p)
    assert de.shape == (7, 3)
    for idx in np.ndindex(7, 3):
        assert (de[idx], di[idx]) == ww.dfun(S[0][idx], S[1][idx], c[idx], p)


def _h_exact(y, d):
    with mpmath.workdps(50):
        y, d = mpmath.mpf(float(y)), mpmath.mpf(float(d))
        if y == 0:
            return float(1 / d)
        return float(y / -mpmath.expm1(-d * y))


@pytest.mark.parametrize("d", [0.16, 0.087])
def test_h_removable_singularity(d):
    ys = np.concatenate(
        [
            [0.0, 5e-324, -5e-324],
            np.logspace(-300, 2, 200),
            -np.logspace(-300, 2, 200),
            ww.SERIES_Z / d * np.array([0.999999, 1.0, 1.000001]),
        ]
    )
    for y in ys:
        got = ww.h(y, d)
        want = _h_exact(y, d)
        # 1e-12 away from the singularity is TVB's expression (cancellation error eps/|z|)
        assert abs(got - want) <= 1e-12 * abs(want), (y, got, want)
    # exactly at the singularity the limit 1/d
    assert ww.h(0.0, d) == pytest.approx(1.0 / d, rel=1e-15)


def test_rates_are_H():
    pr = load_preset("corrected")
    p = ww.pack(pr)
    rng = np.random.default_rng(4)
    S_E, S_I, c = rng.uniform(0, 1, 50), rng.uniform(0, 1, 50), rng.uniform(0, 3, 50)
    h_e, h_i = ww.rates_nodes(S_E, S_I, c, p)
    de, di = ww.dfun_nodes(S_E, S_I, c, p)
    # dS/dt reconstructed from the rates (MODEL.md §3)
    np.testing.assert_allclose(de, -S_E / 100.0 + (1 - S_E) * 0.000641 * h_e, rtol=1e-12)
    np.testing.assert_allclose(di, -S_I / 10.0 + 0.001 * h_i, rtol=1e-12)
    # and the rates against the exact H
    z_e, z_i = _z_both(S_E, S_I, c, p)
    for k in range(50):
        assert h_e[k] == pytest.approx(_h_exact(z_e[k] / 0.16, 0.16), rel=1e-12)
        assert h_i[k] == pytest.approx(_h_exact(z_i[k] / 0.087, 0.087), rel=1e-12)


def test_published_sign_error():
    """MODEL.md §6.5: dS_E/dt = +S_E/tau_E + (1 - S_E) gamma_E H_E."""
    cor = ww.pack(load_preset("corrected"))
    pub = ww.pack(load_preset("published"))
    assert cor[ww.SIGN_DECAY_E] == -1.0 and pub[ww.SIGN_DECAY_E] == 1.0
    S_E, S_I, c = 0.4, 0.2, 0.7
    de_c, di_c = ww.dfun(S_E, S_I, c, cor)
    de_p, di_p = ww.dfun(S_E, S_I, c, pub)
    assert de_p - de_c == pytest.approx(2 * S_E / 100.0, rel=1e-12)
    assert di_p == di_c


def test_pack_G_override_and_layout():
    pr = load_preset("corrected")
    p = ww.pack(pr)
    assert p.shape == (ww.NP,) and p.dtype == np.float64
    assert p[ww.G_IDX] == 2.0
    assert ww.pack(pr, G=0.5)[ww.G_IDX] == 0.5
    assert p[ww.I_0] == 0.382 and p[ww.GAMMA_E] == 0.000641 and p[ww.TAU_I] == 10.0
