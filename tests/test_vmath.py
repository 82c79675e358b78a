"""cmftvb._vmath: exp and log in plain arithmetic, against numpy."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

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
    for f in (_exp,):
        batch = _apply(f, z)
        alone = np.array([_apply(f, z[i : i + 1])[0] for i in range(0, z.size, 37)])
        np.testing.assert_array_equal(alone, batch[::37])
    pos = np.abs(z) + 1e-3
    batch = _apply(_log, pos)
    alone = np.array([_apply(_log, pos[i : i + 1])[0] for i in range(0, pos.size, 37)])
    np.testing.assert_array_equal(alone, batch[::37])


@njit(cache=True, error_model="numpy")
def _selects(c, a, b, i, j, out, iout):
    for k in range(c.size):
        out[k] = vm.select(c[k], a[k], b[k])
        iout[k] = vm.select(c[k], i[k], j[k])


def test_select_is_the_conditional_expression():
    """``select(c, a, b)`` gives the bits of ``a if c else b`` (floats with NaN, signed zeros
    and infinities; integers), in a loop that LLVM may vectorise."""
    n = 4099
    c = RNG.uniform(size=n) < 0.5
    a = RNG.normal(size=n)
    b = RNG.normal(size=n)
    a[:6] = [np.nan, -0.0, 0.0, np.inf, -np.inf, 5e-324]
    b[:6] = [-0.0, np.nan, -np.inf, 0.0, np.nan, -5e-324]
    i = RNG.integers(-(2**62), 2**62, n)
    j = RNG.integers(-(2**62), 2**62, n)
    out, iout = np.empty(n), np.empty(n, dtype=np.int64)
    _selects(c, a, b, i, j, out, iout)
    want = np.array([a[k] if c[k] else b[k] for k in range(n)])
    np.testing.assert_array_equal(out.view(np.uint64), want.view(np.uint64))
    np.testing.assert_array_equal(iout, [i[k] if c[k] else j[k] for k in range(n)])
