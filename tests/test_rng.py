"""The engine's counter-based noise (cmftvb.engine.rng): Philox4x32-10 against Random123's
known-answer vectors, the compiled Box-Muller draws against a numpy recomputation, and the
distribution of the draws against scipy."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from numba import njit
from scipy import stats

from cmftvb.engine import rng

# Random123 (D. E. Shaw Research), tests/kat_vectors, the three "philox4x32 10" lines:
# counter[4] key[2] -> result[4]
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@njit(cache=True, error_model="numpy")
def _philox(c, k):
    return rng.philox4x32(c[0], c[1], c[2], c[3], k[0], k[1])


@njit(cache=True, error_model="numpy")
def _draws(steps, nodes, pairs, k0, k1, out):
    """out[i] = normal_pair(steps[i], nodes[i], pairs[i], k0[i], k1[i]) (a loop LLVM
    vectorises)."""
    for i in range(steps.size):
        a, b = rng.normal_pair(steps[i], nodes[i], pairs[i], k0[i], k1[i])
        out[2 * i] = a
        out[2 * i + 1] = b


@njit(cache=True, error_model="numpy")
def _sincos(w, c, s):
    for i in range(w.size):
        c[i], s[i] = rng._sincos_2pi(w[i])


@pytest.mark.parametrize("ctr,key,expected", KAT)
def test_philox_known_answers(ctr, key, expected):
    got = _philox(np.array(ctr, dtype=np.uint64), np.array(key, dtype=np.uint64))
    assert tuple(int(v) for v in got) == expected
    ref = rng.philox4x32_reference(ctr, key)
    assert tuple(int(v) for v in ref) == expected


def _keyed(n, seed=0):
    g = np.random.default_rng(seed)
    steps = g.integers(0, 2**40, n, dtype=np.uint64)
    nodes = g.integers(0, 500, n, dtype=np.uint64)
    pairs = g.integers(0, 3, n, dtype=np.uint64)
    keys = g.integers(0, 2**32, (n, 2), dtype=np.uint64)
    return steps, nodes, pairs, keys


def test_compiled_draws_match_numpy_recomputation():
    """Kernel Box-Muller (own log, sqrt, sin/cos polynomials) vs numpy's log/cos/sin on the
    same Philox words: within 1e-15 relative (2e-15 absolute near 0)."""
    n = 20000
    steps, nodes, pairs, keys = _keyed(n)
    out = np.empty(2 * n)
    _draws(steps, nodes, pairs, keys[:, 0].copy(), keys[:, 1].copy(), out)
    ref = np.empty((n, 2))
    for i in range(n):  # the reference takes one key at a time
        z = rng.normals_reference(keys[i], steps[i : i + 1], int(nodes[i]), 2 * int(pairs[i]) + 2)
        ref[i] = z[0, 2 * int(pairs[i]) :]
    np.testing.assert_allclose(out.reshape(n, 2), ref, rtol=1e-15, atol=2e-15)


def test_simd_and_scalar_draws_are_bitwise_equal():
    """A draw computed alone (scalar code) equals the same draw inside a SIMD loop."""
    n = 1000
    steps, nodes, pairs, keys = _keyed(n, seed=3)
    k0, k1 = keys[:, 0].copy(), keys[:, 1].copy()
    batch = np.empty(2 * n)
    _draws(steps, nodes, pairs, k0, k1, batch)
    alone = np.empty(2 * n)
    for i in range(n):
        o = np.empty(2)
        _draws(steps[i : i + 1], nodes[i : i + 1], pairs[i : i + 1], k0[i : i + 1],
               k1[i : i + 1], o)  # fmt: skip
        alone[2 * i : 2 * i + 2] = o
    assert np.array_equal(batch.view(np.uint64), alone.view(np.uint64))


def test_sine_cosine_at_quadrant_boundaries():
    """The exact quadrant reduction around every multiple of a quarter turn, against mpmath."""
    q = np.uint64(1) << np.uint64(51)  # a quarter turn in units of 2^-53 turns
    w = []
    for k in range(5):
        for d in (-3, -1, 0, 1, 2, 1 << 49, (1 << 50) - 1, 1 << 50):
            v = k * int(q) + d
            if 0 <= v < 2**53:
                w.append(v)
    w = np.array(w, dtype=np.uint64)
    c, s = np.empty(w.size), np.empty(w.size)
    _sincos(w, c, s)
    with mpmath.workdps(40):
        ref_c = [float(mpmath.cospi(mpmath.mpf(int(v)) / 2**52)) for v in w]
        ref_s = [float(mpmath.sinpi(mpmath.mpf(int(v)) / 2**52)) for v in w]
    np.testing.assert_allclose(c, ref_c, rtol=0, atol=2.5e-16)
    np.testing.assert_allclose(s, ref_s, rtol=0, atol=2.5e-16)
    assert c[0] == 1.0 and s[0] == 0.0  # w = 0: exactly (1, 0)


def test_draws_are_standard_normal_and_independent():
    """One million draws of one lane (consecutive steps, 8 nodes, both draws of a pair): the
    Kolmogorov-Smirnov test against N(0, 1) does not reject (p > 1e-3, fixed key, so the
    test is deterministic); mean, variance and kurtosis within 5 standard errors; neighbouring
    steps, nodes, the two draws of a pair and two lanes uncorrelated (|r| < 5 / sqrt(n))."""
    n_steps, n_nodes = 62500, 8
    steps = np.repeat(np.arange(1, n_steps + 1, dtype=np.uint64), n_nodes)
    nodes = np.tile(np.arange(n_nodes, dtype=np.uint64), n_steps)
    pairs = np.zeros_like(steps)
    key = rng.lane_streams("subj", 1.5, 7)[0].astype(np.uint64)
    k0, k1 = np.full(steps.size, key[0]), np.full(steps.size, key[1])
    z = np.empty(2 * steps.size)
    _draws(steps, nodes, pairs, k0, k1, z)
    n = z.size
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(stats.kurtosis(z)) < 5 * np.sqrt(24 / n)
    zz = z.reshape(n_steps, n_nodes, 2)
    lim = 5 / np.sqrt(zz[..., 0].size)
    assert abs(np.corrcoef(zz[:, :, 0].ravel(), zz[:, :, 1].ravel())[0, 1]) < lim  # in a pair
    assert abs(np.corrcoef(zz[1:, :, 0].ravel(), zz[:-1, :, 0].ravel())[0, 1]) < lim  # steps
    assert abs(np.corrcoef(zz[:, 1:, 0].ravel(), zz[:, :-1, 0].ravel())[0, 1]) < lim  # nodes
    other = rng.lane_streams("subj", 1.5, 8)[0].astype(np.uint64)
    z2 = np.empty(2 * steps.size)
    _draws(steps, nodes, pairs, np.full(steps.size, other[0]), np.full(steps.size, other[1]), z2)
    assert abs(np.corrcoef(z, z2)[0, 1]) < 5 / np.sqrt(n)  # two lanes


def test_lane_keys_depend_on_every_part_of_the_key():
    """Subject, G and seed make the key; the network model is not part of it (common random
    numbers across the homogeneous and cMF variants, issue 10)."""
    base = rng.lane_streams("s", 2.0, 1)[0]
    assert base.dtype == np.uint32 and base.shape == (2,)
    assert np.array_equal(base, rng.lane_streams("s", 2, 1)[0])  # 2 and 2.0 alike
    for other in (("t", 2.0, 1), ("s", 2.5, 1), ("s", 2.0, 2)):
        assert not np.array_equal(base, rng.lane_streams(*other)[0])
    assert rng.lane_key("s", 2.0, 1) == '["s", "2.0", 1]'
    with pytest.raises(Exception, match="seed"):
        rng.lane_streams("s", 2.0, 1.5)
