"""Cerebellar mean field kernels (cmftvb.models.crbl) against an independent reference.

The reference below re-implements MODEL.md §2.3 from the preset dict (not from the packed
vector), one input channel per list entry, in plain Python with a pluggable math module
(``math`` for float64, ``mpmath`` for high-precision derivatives). The published quirks
(MODEL.md §6.1-6.4, 6.9) are written the way the authors' code states them.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from cmftvb.models import crbl
from cmftvb.models.presets import apply_overrides, load_preset

POPS = ("GrC", "GoC", "MLI", "PC")


class _MP:
    """mpmath with the names of the math module used by the reference."""

    e = mpmath.e
    sqrt = staticmethod(mpmath.sqrt)
    log = staticmethod(mpmath.log)
    erfc = staticmethod(mpmath.erfc)


def ref_channels(pop, nu, mf, pf, pr):
    """Input channels of ``pop``: list of (rate, K, Q, tau, E, guard) and a mean-only extra.

    ``nu``: dict of the four rates (kHz). Follows MODEL.md §2.1, §2.5, §4 and the switches.
    """
    sw = pr["switches"]
    cr = pr["crbl"]
    syn = cr["synapses"]
    e_e, e_i = cr["reversal"]["E_e"], cr["reversal"]["E_i"]
    pub = sw["published_guards"]
    eps = cr["published_guards"]["rate_eps"] if pub else 0.0
    mf, pf = max(mf, 0.0), max(pf, 0.0)

    def ch(rate, name, rev, guard=eps, K=None):
        s = syn[name]
        return [max(rate, 0.0) + guard, s["K"] if K is None else K, s["Q"], s["tau"], rev]

    extra = 0.0
    if pop == "GrC":
        k_inh = syn["mf_GoC"]["K"] if sw["grc_inh_K35"] else None
        chans = [ch(mf, "mf_GrC", e_e), ch(nu["GoC"], "GoC_GrC", e_i, K=k_inh)]
    elif pop == "GoC":
        rev = e_i if sw["goc_exc_reversal_m80"] else e_e
        pf_goc = pf if sw["pf_to_goc"] else 0.0
        if sw["pf_goc_mossy_synapse"]:
            m_in, g_in = mf + pf_goc, nu["GrC"]
        else:
            m_in, g_in = mf, nu["GrC"] + pf_goc
        chans = [
            ch(m_in, "mf_GoC", rev, guard=0.0),
            ch(g_in, "GrC_GoC", rev),
            ch(nu["GoC"], "GoC_GoC", e_i),
        ]
    else:
        inh = "MLI_MLI" if pop == "MLI" else "MLI_PC"
        exc = "GrC_MLI" if pop == "MLI" else "GrC_PC"
        chans = [ch(nu["GrC"] + pf, exc, e_e), ch(nu["MLI"], inh, e_i)]
        if sw["pf_double_counted"]:
            extra = pf
    return chans, extra


def ref_F(pop, nu, mf, pf, pr, m=math):
    """F of MODEL.md §2.3 (kHz), independent of cmftvb.models.crbl."""
    cr = pr["crbl"]
    sw = pr["switches"]
    cell = cr["cells"][pop]
    g_l, c_m, e_l = cell["g_L"], cell["C_m"], cell["E_L"]
    coeffs = (cr["P_published"] if sw["rounded_P"] else cr["P"])[pop]
    alpha = cr["alpha"][pop]
    chans, extra = ref_channels(pop, nu, mf, pf, pr)
    if not sw["published_guards"] and all(row[0] * row[1] == 0 for row in chans):
        return 0.0 * m.e  # no input at all: defined as silent (crbl module docstring)
    chans = [[m.e * 0 + c for c in row] for row in chans]  # promote to the math module's type
    mu_gs = [q * k * tau * r for r, k, q, tau, _ in chans]
    # published double counting: the first (excitatory) channel's conductance again
    r0, k0, q0, t0, e0 = chans[0]
    mu_x = q0 * k0 * t0 * extra
    mu_g = g_l + sum(mu_gs) + mu_x
    mu_v = m.e * (sum(g * row[4] for g, row in zip(mu_gs, chans, strict=True)) + mu_x * e0)
    mu_v = (mu_v + m.e * g_l * e_l) / mu_g
    tau_m = c_m / mu_g
    sv2 = 0
    tv_num = 0
    if sw["published_guards"]:
        tv_eps = cr["published_guards"]["tv_eps_goc" if pop == "GoC" else "tv_eps"]
    else:
        tv_eps = 0.0
    for r, k, q, tau, e_rev in chans:
        u = q * (e_rev - mu_v) / mu_g
        sv2 += k * r * (2 * tau_m + tau) * (m.e * u * tau / (2 * (tau + tau_m))) ** 2
        tv_num += k * (r + tv_eps) * (m.e * u * tau) ** 2
    sigma = m.sqrt(sv2)
    if sw["published_guards"]:
        tau_v = 0.5 * tv_num / (sigma + cr["published_guards"]["sigma_eps"]) ** 2
    else:
        tau_v = 0.5 * tv_num / sv2
    t_n = tau_v * g_l / c_m
    p0, p1, p2, p3, p4 = coeffs
    v_thr = 1000 * (
        p0
        + p1 * (mu_v - (-60.0)) / 10.0
        + p2 * (sigma - 4.0) / 6.0
        + p3 * (t_n - 0.5) / 1.0
        + p4 * m.log(mu_g / g_l)
    )
    return alpha / (2 * t_n) * (g_l / c_m) * m.erfc((v_thr - mu_v) / (m.sqrt(2) * sigma))


def _preset(name, **switches):
    pr = load_preset(name)
    return apply_overrides(pr, [(f"switches.{k}", str(v).lower()) for k, v in switches.items()])


PRESET_CASES = {
    "corrected": _preset("corrected"),
    "published": _preset("published"),
    "corrected_pf_off": _preset("corrected", pf_to_goc=False),
    "published_exact_guards": _preset("published", published_guards=False),
    "corrected_mixed": _preset(
        "corrected", pf_double_counted=True, grc_inh_K35=True, rounded_P=True
    ),
}


def _random_states(rng, n):
    """Rates in kHz spanning silence to ~300 Hz, some exactly zero."""
    x = rng.uniform(0.0, 0.3, size=(6, n)) * rng.choice([0.0, 1e-3, 0.1, 1.0], size=(6, n))
    x[:, 0] = 0.0
    return x


@pytest.mark.parametrize("case", sorted(PRESET_CASES))
def test_transfer_matches_reference(case):
    """Kernel F equals the reference to 1e-12 relative.

    The reference is evaluated at 30 digits (mpmath): in the erfc tail two float64
    implementations can differ by more than 1e-12 because erfc(x) amplifies the round-off of
    its argument by about 2 x^2; the exact value is the fair yardstick.
    """
    pr = PRESET_CASES[case]
    p = crbl.pack(pr)
    rng = np.random.default_rng(1)
    x = _random_states(rng, 200)
    got = crbl.transfer_nodes(*x, p)
    worst = 0.0
    with mpmath.workdps(30):
        for k in range(x.shape[1]):
            grc, goc, mli, pc, mf, pf = (mpmath.mpf(float(v)) for v in x[:, k])
            nu = {"GrC": grc, "GoC": goc, "MLI": mli, "PC": pc}
            for i, pop in enumerate(POPS):
                want = ref_F(pop, nu, mf, pf, pr, m=_MP)
                if want > 1e-12:
                    worst = max(worst, float(abs(got[i, k] - want) / want))
                else:  # below 1e-9 Hz: absolute
                    assert 0.0 <= got[i, k] and abs(got[i, k] - want) < 1e-24
    assert worst < 1e-12, worst


def test_float_reference_agrees():
    """The float64 (math module) reference itself agrees with the kernel in the bulk."""
    pr = PRESET_CASES["published"]
    p = crbl.pack(pr)
    rng = np.random.default_rng(2)
    x = rng.uniform(0.001, 0.1, size=(6, 100))
    got = crbl.transfer_nodes(*x, p)
    for k in range(100):
        nu = dict(zip(POPS, x[:4, k], strict=True))
        for i, pop in enumerate(POPS):
            want = ref_F(pop, nu, x[4, k], x[5, k], pr)
            if want > 1e-6:
                assert got[i, k] == pytest.approx(want, rel=1e-12)


def test_transfer_scalar_functions_agree_with_wrapper():
    p = crbl.pack(PRESET_CASES["corrected"])
    args = (0.002, 0.01, 0.012, 0.05, 0.02, 0.003)
    grc, goc, mli, pc, mf, pf = args
    want = crbl.transfer_nodes(*args, p)
    assert crbl.f_grc(mf, goc, p) == want[0]
    assert crbl.f_goc(mf, grc, goc, pf, p) == want[1]
    assert crbl.f_mli(grc, pf, mli, p) == want[2]
    assert crbl.f_pc(grc, pf, mli, p) == want[3]
    # the raw channel-level transfer: MLI channel E1 carries GrC + pf
    assert crbl.transfer(crbl.MLI, grc + pf, 0.0, mli, 0.0, p) == want[2]


@pytest.mark.parametrize("case", ["corrected", "published"])
def test_transfer_finite_nonnegative_for_any_nonnegative_input(case):
    p = crbl.pack(PRESET_CASES[case])
    vals = np.array([0.0, 1e-300, 1e-12, 1e-6, 1e-3, 0.05, 1.0, 1e3, 1e6])
    grid = np.array(np.meshgrid(*([vals] * 6), indexing="ij")).reshape(6, -1)
    out = crbl.transfer_nodes(*grid, p)
    assert np.all(np.isfinite(out))
    assert np.all(out >= 0)
    d = crbl.dfun_nodes(*grid, p)
    assert np.all(np.isfinite(d))


def test_silent_node_is_silent():
    """No input at all: F = 0 (no fluctuations; the 0/0 limit is direction-dependent)."""
    p = crbl.pack(PRESET_CASES["corrected"])
    np.testing.assert_array_equal(crbl.transfer_nodes(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, p), 0.0)
    # with input on any channel the exact formulas apply again
    assert crbl.f_grc(0.0, 1e-9, p) >= 0.0
    assert crbl.f_mli(0.0, 0.0, 1e-9, p) > 0.0


def test_dfun_is_relaxation_to_F_and_clamps_inputs():
    pr = PRESET_CASES["corrected"]
    p = crbl.pack(pr)
    state = (0.003, 0.012, 0.011, 0.06)
    d = crbl.dfun(*state, 0.02, 0.004, p)
    f = crbl.transfer_nodes(*state, 0.02, 0.004, p)
    for i in range(4):
        assert d[i] == pytest.approx((f[i] - state[i]) / pr["crbl"]["T"], rel=1e-14, abs=0)
    # negative inputs are clamped at 0 (MODEL.md §2.1)
    assert crbl.dfun(*state, -0.5, -0.1, p) == crbl.dfun(*state, 0.0, 0.0, p)


def test_switches_act_in_the_pack():
    cor = crbl.pack(PRESET_CASES["corrected"])
    pub = crbl.pack(PRESET_CASES["published"])
    gb, grcb = crbl.BASE[crbl.GOC], crbl.BASE[crbl.GRC]
    assert cor[gb + crbl.E1 + crbl.C_E] == 0.0 and cor[gb + crbl.E2 + crbl.C_E] == 0.0
    assert pub[gb + crbl.E1 + crbl.C_E] == -80.0 and pub[gb + crbl.E2 + crbl.C_E] == -80.0
    assert cor[grcb + crbl.I1 + crbl.C_K] == 2.5 and pub[grcb + crbl.I1 + crbl.C_K] == 35.0
    assert cor[grcb + crbl.B_P] == -0.4257668171 and pub[grcb + crbl.B_P] == -0.426
    assert cor[crbl.GUARD_MODE] == 0.0 and pub[crbl.GUARD_MODE] == 1.0
    assert pub[gb + crbl.E1 + crbl.C_EPS] == 0.0  # the GoC mossy input has no guard (§6.9)
    assert pub[gb + crbl.E2 + crbl.C_EPS] == 1e-6
    assert len(crbl.layout()) == crbl.NP
    assert sorted(i for i, _ in crbl.layout()) == list(range(crbl.NP))


def test_pf_routing_switches():
    state = (0.003, 0.012, 0.011, 0.06)
    mf, pf = 0.02, 0.005
    cor = crbl.pack(PRESET_CASES["corrected"])
    # corrected: pf adds to the GoC's GrC channel
    f = crbl.transfer_nodes(*state, mf, pf, cor)
    assert f[1] == crbl.transfer(crbl.GOC, mf, state[0] + pf, state[1], 0.0, cor)
    # pf_to_goc off: GoC does not see pf
    off = crbl.pack(PRESET_CASES["corrected_pf_off"])
    assert crbl.transfer_nodes(*state, mf, pf, off)[1] == crbl.transfer_nodes(*state, mf, 0, off)[1]
    # published: pf on the GoC mossy channel; double counting changes MLI/PC only when pf > 0
    dbl = crbl.pack(_preset("corrected", pf_double_counted=True, pf_goc_mossy_synapse=True))
    g = crbl.transfer_nodes(*state, mf, pf, dbl)
    assert g[1] == crbl.transfer(crbl.GOC, mf + pf, state[0], state[1], 0.0, dbl)
    assert g[2] != f[2] and g[3] != f[3]
    np.testing.assert_array_equal(
        crbl.transfer_nodes(*state, mf, 0.0, dbl)[2:], crbl.transfer_nodes(*state, mf, 0.0, cor)[2:]
    )


def test_published_goc_silenced():
    """MODEL.md §6.1: E_e = -80 mV at the GoC silences it."""
    p = crbl.pack(PRESET_CASES["published"])
    f = crbl.transfer_nodes(0.01, 0.0, 0.05, 0.05, 0.04, 0.0, p)
    assert f[1] < 1e-3  # kHz
    c = crbl.pack(PRESET_CASES["corrected"])
    assert crbl.transfer_nodes(0.01, 0.0, 0.05, 0.05, 0.04, 0.0, c)[1] > 0.01


def test_vectorised_dfun_equals_scalar():
    p = crbl.pack(PRESET_CASES["published"])
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 0.1, size=(6, 50))
    got = crbl.dfun_nodes(*x, p)
    for k in range(50):
        assert tuple(got[:, k]) == crbl.dfun(*x[:, k], p)
    assert crbl.dfun_nodes(*(x.reshape(6, 5, 10)), p).shape == (4, 5, 10)


# ---- second order ---------------------------------------------------------------------------


def _mp_F_vec(nu, mf, pf, pr):
    names = dict(zip(POPS, nu, strict=True))
    return [ref_F(pop, names, mf, pf, pr, m=_MP) for pop in POPS]


def _mp_derivatives(nu, mf, pf, pr):
    """Jacobian and Hessians of the reference F at 40 digits (central differences)."""
    with mpmath.workdps(40):
        return _mp_derivatives_inner(nu, mf, pf, pr, mpmath.mpf("1e-12"))


def _mp_derivatives_inner(nu, mf, pf, pr, h):
    nu = [mpmath.mpf(v) for v in nu]
    f0 = _mp_F_vec(nu, mf, pf, pr)
    jac = np.zeros((4, 4))
    hess = np.zeros((4, 4, 4))
    for mm in range(4):
        up, dn = list(nu), list(nu)
        up[mm] += h
        dn[mm] -= h
        fu, fd = _mp_F_vec(up, mf, pf, pr), _mp_F_vec(dn, mf, pf, pr)
        for lam in range(4):
            jac[lam, mm] = float((fu[lam] - fd[lam]) / (2 * h))
            hess[lam, mm, mm] = float((fu[lam] - 2 * f0[lam] + fd[lam]) / h**2)
        for nn in range(mm + 1, 4):
            vals = []
            for sm, sn in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                x = list(nu)
                x[mm] += sm * h
                x[nn] += sn * h
                vals.append(_mp_F_vec(x, mf, pf, pr))
            for lam in range(4):
                v = float((vals[0][lam] - vals[1][lam] - vals[2][lam] + vals[3][lam]) / (4 * h**2))
                hess[lam, mm, nn] = hess[lam, nn, mm] = v
    return np.array([float(v) for v in f0]), jac, hess


@pytest.fixture(scope="module")
def second_order_point():
    pr = PRESET_CASES["corrected"]
    nu = (0.002, 0.02, 0.014, 0.063)
    mf, pf = 0.02, 0.001
    return pr, nu, mf, pf, _mp_derivatives(nu, mf, pf, pr)


def test_finite_difference_derivatives(second_order_point):
    pr, nu, mf, pf, (f_ref, jac_ref, hess_ref) = second_order_point
    p = crbl.pack(pr)
    f = np.empty(4)
    jac = np.empty((4, 4))
    hess = np.empty((4, 4, 4))
    crbl.derivatives(np.array(nu), mf, pf, p, f, jac, hess)
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    scale_j = np.abs(jac_ref).max()
    assert np.abs(jac - jac_ref).max() < 1e-6 * scale_j
    scale_h = np.abs(hess_ref).max()
    assert np.abs(hess - hess_ref).max() < 1e-5 * scale_h


def test_dfun2_equations(second_order_point):
    """dfun2 against MODEL.md §2.2 written out with the high-precision derivatives."""
    pr, nu, mf, pf, (f, jac, hess) = second_order_point
    p = crbl.pack(pr)
    t = pr["crbl"]["T"]
    n_pop = np.array([pr["crbl"]["N"][pop] for pop in POPS], dtype=float)
    rng = np.random.default_rng(5)
    a = rng.normal(size=(4, 4)) * 1e-3
    cov = a @ a.T * 1e-2  # a valid covariance matrix (kHz^2)
    x = np.concatenate([nu, [cov[i, j] for i, j in crbl.COV_PAIRS]])
    dx = np.empty(crbl.NSTATE2)
    crbl.dfun2(x, mf, pf, p, dx)
    nu = np.array(nu)
    want_nu = (f - nu + 0.5 * np.einsum("mn,lmn->l", cov, hess)) / t
    resid = f - nu
    want_c = (
        np.diag(f * (1 / t - f) / n_pop)
        + np.outer(resid, resid)
        + cov @ jac.T
        + (cov @ jac.T).T
        - 2 * cov
    ) / t
    np.testing.assert_allclose(dx[:4], want_nu, rtol=1e-6, atol=1e-12)
    got_c = np.array(dx[4:])
    want_c = np.array([want_c[i, j] for i, j in crbl.COV_PAIRS])
    np.testing.assert_allclose(got_c, want_c, rtol=1e-5, atol=1e-15)


def test_dfun2_reduces_to_first_order_with_zero_covariances():
    p = crbl.pack(PRESET_CASES["published"])
    rng = np.random.default_rng(7)
    x = np.zeros((30, crbl.NSTATE2))
    x[:, :4] = rng.uniform(0, 0.1, size=(30, 4))
    mf = rng.uniform(0, 0.06, 30)
    pf = rng.uniform(0, 0.01, 30)
    d2 = crbl.dfun2_nodes(x, mf, pf, p)
    d1 = crbl.dfun_nodes(*x[:, :4].T, mf, pf, p)
    np.testing.assert_array_equal(d2[:, :4], d1.T)
    # covariance sources: only the diagonal finite-size term and the residual products
    f = crbl.transfer_nodes(*x[:, :4].T, mf, pf, p).T
    t = p[crbl.T]
    k = 4 + 0  # c_00 (GrC, GrC)
    res = f[:, 0] - x[:, 0]
    np.testing.assert_allclose(
        d2[:, k], (f[:, 0] * (1 / t - f[:, 0]) / 28615 + res * res) / t, rtol=1e-13
    )
