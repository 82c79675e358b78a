"""cmftvb._vmath: exp, log, erfc in plain arithmetic, against numpy / scipy / mpmath."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import special

from cmftvb import _vmath as vm


@njit(error_model="numpy")
def _exp(x, out):
    for i in range(x.size):
        out[i] = vm.exp(x[i])


@njit(error_model="numpy")
def _log(x, out):
    for i in range(x.size):
        out[i] = vm.log(x[i])


@njit(error_model="numpy")
def _erfc(x, out):
    for i in range(x.size):
        out[i] = vm.erfc(x[i])


@njit(error_model="numpy")
def _misc(x, y, out):
    for i in range(x.size):
        out[0, i] = vm.sqrt(x[i])
        out[1, i] = vm.fmax(x[i], y[i])
        out[2, i] = vm.fmin(x[i], y[i])


def _apply(f, x):
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    f(x, out)
    return out


def _ulps(got, want):
    return np.abs(got - want) / np.spacing(np.abs(want))


RNG = np.random.default_rng(20261129)


def test_exp_within_2_ulp_of_numpy():
    x = np.r_[RNG.uniform(-745, 709.7, 400_000), RNG.uniform(-1, 1, 100_000)]
    got, want = _apply(_exp, x), np.exp(x)
    assert _ulps(got, want).max() <= 2.0
    special_x = [0.0, -0.0, np.inf, -np.inf, 709.78, 709.79, -745.1, -745.2, 1e-300, 800.0]
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(_apply(_exp, special_x), np.exp(special_x))
    assert np.isnan(_apply(_exp, [np.nan])[0])


def test_log_within_2_ulp_of_numpy():
    x = np.r_[np.exp(RNG.uniform(-700, 700, 400_000)), RNG.uniform(0.5, 2.0, 100_000)]
    x = np.r_[x, RNG.uniform(5e-324, 1e-308, 1000)]  # subnormals
    got, want = _apply(_log, x), np.log(x)
    assert _ulps(got, want).max() <= 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        special_x = np.array([0.0, 1.0, np.inf, np.finfo(float).max, 5e-324])
        np.testing.assert_array_equal(_apply(_log, special_x), np.log(special_x))
        assert np.isnan(_apply(_log, [-1.0, np.nan, -np.inf])).all()


@pytest.mark.parametrize(
    "lo, hi, rtol",
    [(-6.0, 0.0, 1e-15), (0.0, 1.0, 3e-15), (1.0, 5.0, 3e-15), (5.0, 10.0, 1.2e-14),
     (10.0, 26.5, 1e-13), (-30.0, -6.0, 1e-16)],
)  # fmt: skip
def test_erfc_against_scipy(lo, hi, rtol):
    """Relative error grows as a^2 * 1.1e-16 (rounding of a^2), as documented."""
    z = RNG.uniform(lo, hi, 200_000)
    np.testing.assert_allclose(_apply(_erfc, z), special.erfc(z), rtol=rtol, atol=0)


def test_erfc_special_values_and_mpmath():
    import mpmath as mp

    z = np.array([0.0, -0.0, np.inf, -np.inf, 27.3, 40.0, 0.5, 3.0, 12.0])
    got = _apply(_erfc, z)
    assert abs(got[0] - 1.0) <= 2.3e-16 and got[1] == got[0]  # erfc(0) = 1 within one ulp
    assert got[2] == 0.0 and got[3] == 2.0
    assert got[4] == 0.0 and got[5] == 0.0  # below the smallest double
    for zi, g in zip(z[6:], got[6:], strict=True):
        want = float(mp.erfc(mp.mpf(float(zi))))
        assert abs(g - want) <= max(3e-15, 1.2e-16 * zi * zi) * want  # documented bound
    assert np.isnan(_apply(_erfc, [np.nan])[0])


def test_erfc_coefficients_regenerate():
    """ERFC_POLY is what erfc_coefficients() computes with mpmath (the generator is the source)."""
    fresh = vm.erfc_coefficients()
    assert len(fresh) == len(vm.ERFC_POLY) == 30
    np.testing.assert_allclose(fresh, vm.ERFC_POLY, rtol=0, atol=1e-18)


def test_sqrt_fmax_fmin_match_python():
    x = np.r_[RNG.uniform(0, 1e6, 10_000), 0.0, -0.0, np.inf, 1e-310]
    y = np.r_[RNG.uniform(0, 1e6, 10_000), -0.0, 0.0, 1.0, np.nan]
    out = np.empty((3, x.size))
    _misc(x, y, out)
    np.testing.assert_array_equal(out[0], np.sqrt(x))  # correctly rounded: bitwise
    for i in range(x.size):
        for k, f in ((1, max), (2, min)):
            want = f(x[i], y[i])
            assert out[k, i] == want or (math.isnan(out[k, i]) and math.isnan(want))
            assert math.copysign(1, out[k, i]) == math.copysign(1, want)


def test_scalar_and_simd_give_the_same_bits():
    """A value computed alone (loop of 1: scalar code) equals it inside a long (vectorised) loop."""
    z = RNG.uniform(-8, 30, 4096)
    for f in (_exp, _erfc):
        batch = _apply(f, z)
        alone = np.array([_apply(f, z[i : i + 1])[0] for i in range(0, z.size, 37)])
        np.testing.assert_array_equal(alone, batch[::37])
    pos = np.abs(z) + 1e-3
    batch = _apply(_log, pos)
    alone = np.array([_apply(_log, pos[i : i + 1])[0] for i in range(0, pos.size, 37)])
    np.testing.assert_array_equal(alone, batch[::37])
