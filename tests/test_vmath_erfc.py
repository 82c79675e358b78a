"""cmftvb._vmath.erfc: plain-arithmetic erfc against mpmath, scipy and the C library."""

from __future__ import annotations

import math
import platform
import re

import mpmath as mp
import numpy as np
import pytest
import scipy.special as sp
from numba import njit

from cmftvb import _vmath as vm

MIN_NORMAL = np.finfo(float).tiny
RNG = np.random.default_rng(20261206)


@njit(error_model="numpy")
def _erfc(x, out):
    for i in range(x.size):
        out[i] = vm.erfc(x[i])


def _apply(x):
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    _erfc(x, out)
    return out


def _erfcx_coefficients(n=28, nodes=64, dps=50):
    """Independent recomputation of ``vm.ERFCX_COEFFS``: Chebyshev interpolation of
    h(s) = erfcx(x) (x + KAPPA), x = K (1 + s) / (C - s), converted to monomials, in mpmath."""
    with mp.workdps(dps):
        k = mp.mpf(vm.ERFC_K)
        c = 1 + 2 * k / mp.mpf(vm.ERFC_X)
        kap = mp.mpf(vm.ERFC_KAPPA)

        def h(s):
            x = k * (1 + s) / (c - s)
            return mp.erfc(x) * mp.exp(x * x) * (x + kap)

        th = [mp.pi * (i + mp.mpf(1) / 2) / nodes for i in range(nodes)]
        fs = [h(mp.cos(t)) for t in th]
        ch = [
            2 * mp.fsum(f * mp.cos(j * t) for f, t in zip(fs, th, strict=True)) / nodes
            for j in range(n)
        ]
        ch[0] /= 2
        mono = [mp.mpf(0)] * n
        t0, t1 = [mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]  # T_j and T_(j+1) as monomials
        for j in range(n):
            for i, v in enumerate(t0):
                mono[i] += ch[j] * v
            nxt = [mp.mpf(0)] + [2 * v for v in t1]
            for i, v in enumerate(t0):
                nxt[i] -= v
            t0, t1 = t1, nxt
        return tuple(float(v) for v in mono)


def test_coefficients_are_the_stated_interpolant():
    assert vm.ERFC_C == 1.125
    assert _erfcx_coefficients() == vm.ERFCX_COEFFS


def _grid():
    return np.r_[
        np.linspace(-6.0, 27.3, 40_001),
        RNG.uniform(0.0, 27.3, 20_000),
        RNG.uniform(-1.0, 1.0, 5_000),
        np.geomspace(1e-300, 1.0, 3_000),
        -np.geomspace(1e-300, 6.0, 3_000),
    ]


def test_erfc_within_3_ulp_of_mpmath():
    x = _grid()
    with mp.workdps(30):
        want = np.array([float(mp.erfc(mp.mpf(v))) for v in x])
    got = _apply(x)
    normal = want >= MIN_NORMAL
    ulps = np.abs(got - want)[normal] / np.spacing(want[normal])
    assert ulps.max() <= 3.0
    assert ulps.mean() < 1.0
    # subnormal results (x > 26.55): absolute error of at most one unit 2^-1074
    sub = ~normal
    assert sub.sum() > 100
    assert (np.abs(got - want)[sub] <= 5e-324).all()
    # the C library (numba's math.erfc) and scipy (Cephes; up to ~500 ulp in the far tail,
    # where e^(-x^2) is not formed exactly) agree within their own errors
    lib = np.array([math.erfc(v) for v in x])
    assert (np.abs(got - lib)[normal] / np.spacing(want[normal])).max() <= 5.0
    np.testing.assert_allclose(got[normal], sp.erfc(x[normal]), rtol=2e-13, atol=0)


def test_erfc_special_values():
    x = [0.0, -0.0, np.inf, -np.inf, 27.3, 30.0, 1e300, -1e300, -27.0, 5e-324]
    np.testing.assert_array_equal(_apply(x), [1, 1, 0, 2, 0, 0, 0, 2, 2, 1])
    assert np.isnan(_apply([np.nan])[0])


def test_scalar_and_simd_give_the_same_bits():
    """A value computed alone (loop of 1: scalar code) equals it inside a long (vectorised) loop."""
    z = np.r_[RNG.uniform(-8, 30, 4096), RNG.uniform(-1, 1, 1024)]
    batch = _apply(z)
    alone = np.array([_apply(z[i : i + 1])[0] for i in range(0, z.size, 37)])
    np.testing.assert_array_equal(alone, batch[::37])


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 assembly")
def test_a_loop_of_erfc_compiles_to_packed_code():
    """No library call and no branch on the data: LLVM vectorises the loop (packed multiplies
    of doubles, SSE2 at least), and no call to the C library's erfc remains."""
    _apply([0.5])
    asm = _erfc.inspect_asm(_erfc.signatures[0])
    assert len(re.findall(r"\bv?mulpd\b", asm)) >= 20
    assert "erfc" not in asm.replace("_erfc", "")
