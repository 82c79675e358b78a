"""Random streams: one per (subject, G, seed), independent of model, batch, job and machine.

Each lane's key ``(subject, G, seed)`` (canonical JSON; G written with ``repr`` of the float,
so 2 and 2.0 give the same stream) is hashed (sha256) into the entropy of a
:class:`numpy.random.SeedSequence`, from which two children are spawned: child 0 gives the
lane's 64-bit noise key, child 1 drives the random initial history (a PCG64
:class:`numpy.random.Generator`). The network model (homogeneous or cMF) is deliberately not
part of the key: both variants of a subject at one G and seed get the same numbers at every
node and variable (common random numbers, issue 10), so that a paired difference between the
models carries no sampling noise of its own.

The additive noise is a counter-based generator, computed inside the compiled integration loop
(:func:`normal_pair`): Philox4x32-10 (Salmon, Moraes, Dror & Shaw 2011, "Parallel random
numbers: as easy as 1, 2, 3", SC'11; the generator of the Random123 library, checked here
against Random123's known-answer vectors) maps the 128-bit counter
``(step mod 2^32, step div 2^32, node, pair)`` and the lane's key to four 32-bit words, which
the Box-Muller transform turns into two independent standard normals. A draw is a pure function
of (lane key, step, node, variable), so a lane sees the same numbers whether it runs alone or in
a batch, whatever the chunk size, and the loop computes the draws of many (node, lane) pairs at
once in SIMD code. Variables ``2 j`` and ``2 j + 1`` of a node share pair ``j``.

Box-Muller, with the four words ``r0..r3``: ``u1 = (((r0 2^32 + r1) >> 11) + 1) 2^-53`` in
(0, 1], ``u2 = ((r2 2^32 + r3) >> 11) 2^-53`` in [0, 1), ``R = sqrt(-2 ln u1)``,
``z0 = R cos(2 pi u2)``, ``z1 = R sin(2 pi u2)``. The cosine and sine reduce ``4 u2`` exactly
(integer arithmetic) to a quadrant and an angle in [-pi/4, pi/4], where Taylor polynomials
(to degree 16 and 17) are accurate to about 1e-16; the logarithm is
:func:`cmftvb._vmath.log` (2 ulp). |z| <= sqrt(2 * 53 ln 2) = 8.57. :func:`normals_reference`
recomputes the same draws with numpy's log, cos and sin (tests hold the two within 1e-15).
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
from numba import njit

from cmftvb import CmftvbError
from cmftvb import _vmath as vmath

#: Philox4x32 multipliers and Weyl key increments (Salmon et al. 2011, Random123 philox.h)
PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85
PHILOX_ROUNDS = 10

_M0 = np.uint64(PHILOX_M0)
_M1 = np.uint64(PHILOX_M1)
_W0 = np.uint64(PHILOX_W0)
_W1 = np.uint64(PHILOX_W1)
_MASK = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_S11 = np.uint64(11)
_S51 = np.uint64(51)
_HALF_Q = np.uint64(1 << 50)
_ONE = np.uint64(1)
_ZERO = np.uint64(0)
_TWO = np.uint64(2)
_TWO_M53 = 2.0**-53
_TWO_M51 = 2.0**-51
_PI_2 = np.pi / 2


def lane_key(subject: str, G: float, seed: int) -> str:
    """Canonical text of a lane's key (what is hashed into the entropy); no model in it."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise CmftvbError(f"seed {seed!r}: must be an integer")
    return json.dumps([str(subject), repr(float(G)), int(seed)])


def seed_sequence(subject: str, G: float, seed: int) -> np.random.SeedSequence:
    """SeedSequence whose entropy is the sha256 (256 bits) of :func:`lane_key`."""
    digest = hashlib.sha256(lane_key(subject, G, seed).encode()).digest()
    return np.random.SeedSequence(int.from_bytes(digest, "little"))


def lane_streams(subject: str, G: float, seed: int) -> tuple[np.ndarray, np.random.Generator]:
    """(noise key: two uint32 words, initial-condition generator: PCG64) of one lane."""
    noise_ss, init_ss = seed_sequence(subject, G, seed).spawn(2)
    return noise_ss.generate_state(2, np.uint32), np.random.Generator(np.random.PCG64(init_ss))


@njit(cache=True, error_model="numpy", inline="always")
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of counter (c0, c1, c2, c3) under key (k0, k1).

    Every word is a uint64 holding a 32-bit value, so that each 32 x 32 -> 64-bit product is one
    multiplication (SIMD: ``vpmuludq``); returns four uint64 holding 32-bit words.
    """
    for _ in range(PHILOX_ROUNDS):
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (
            (p1 >> _S32) ^ c1 ^ k0,
            p1 & _MASK,
            (p0 >> _S32) ^ c3 ^ k1,
            p0 & _MASK,
        )
        k0 = (k0 + _W0) & _MASK
        k1 = (k1 + _W1) & _MASK
    return c0, c1, c2, c3


#: Taylor coefficients of sin a = a (1 + sum_i S_i a^(2i)) and cos a = 1 + sum_i C_i a^(2i),
#: i = 1..9 (the first dropped terms are below 2e-19 for |a| <= pi/4)
_S1, _S2, _S3, _S4, _S5, _S6, _S7, _S8, _S9 = (
    (-1) ** i / math.factorial(2 * i + 1) for i in range(1, 10)
)
_C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9 = (
    (-1) ** i / math.factorial(2 * i) for i in range(1, 10)
)


@njit(cache=True, error_model="numpy", inline="always")
def _sincos_2pi(w):
    """(cos, sin) of ``2 pi w 2^-53`` for an integer 0 <= w < 2^53 (uint64)."""
    k = (w + _HALF_Q) >> _S51  # nearest quadrant, 0..4 (4 u2 = w 2^-51)
    f = np.float64(np.int64(w) - np.int64(k << _S51)) * _TWO_M51  # exact, in [-1/2, 1/2)
    a = f * _PI_2
    a2 = a * a
    s = _S8 + a2 * _S9
    s = _S7 + a2 * s
    s = _S6 + a2 * s
    s = _S5 + a2 * s
    s = _S4 + a2 * s
    s = _S3 + a2 * s
    s = _S2 + a2 * s
    s = _S1 + a2 * s
    s = a + a * (a2 * s)
    c = _C8 + a2 * _C9
    c = _C7 + a2 * c
    c = _C6 + a2 * c
    c = _C5 + a2 * c
    c = _C4 + a2 * c
    c = _C3 + a2 * c
    c = _C2 + a2 * c
    c = _C1 + a2 * c
    c = 1.0 + a2 * c
    # rotate by k quarter turns, (cos, sin) -> (-sin, cos) each, without branches: odd k swaps
    # the two, the cosine is negated for k mod 4 in {1, 2}, the sine for k mod 4 in {2, 3}
    odd = (k & _ONE) != _ZERO
    x = vmath.select(odd, s, c)
    y = vmath.select(odd, c, s)
    sgn_c = np.float64(np.int64(1) - np.int64((k + _ONE) & _TWO))
    sgn_s = np.float64(np.int64(1) - np.int64(k & _TWO))
    return sgn_c * x, sgn_s * y


@njit(cache=True, error_model="numpy", inline="always")
def normal_pair(step, node, pair, k0, k1):
    """Two standard normals of draw ``pair`` of ``node`` at ``step`` under key (k0, k1)
    (all uint64; the key words and node below 2^32). Box-Muller (module docstring)."""
    r0, r1, r2, r3 = philox4x32(step & _MASK, step >> _S32, node, pair, k0, k1)
    u1 = np.float64(np.int64((((r0 << _S32) | r1) >> _S11) + _ONE)) * _TWO_M53
    rad = vmath.sqrt(-2.0 * vmath.log(u1))
    c, s = _sincos_2pi(((r2 << _S32) | r3) >> _S11)
    return rad * c, rad * s


def philox4x32_reference(ctr, key, rounds: int = PHILOX_ROUNDS) -> np.ndarray:
    """Philox4x32 in numpy (Python-int constants, uint64 arithmetic) for arrays of counters
    ``ctr[..., 4]`` and keys ``key[..., 2]`` (broadcast); returns uint32 ``[..., 4]``."""
    ctr = np.asarray(ctr, dtype=np.uint64)
    key = np.asarray(key, dtype=np.uint64)
    c = [ctr[..., i].copy() for i in range(4)]
    k0, k1 = key[..., 0].copy(), key[..., 1].copy()
    mask = np.uint64(0xFFFFFFFF)
    for _ in range(rounds):
        p0 = np.uint64(PHILOX_M0) * c[0]
        p1 = np.uint64(PHILOX_M1) * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k0, p1 & mask, (p0 >> np.uint64(32)) ^ c[3] ^ k1,
             p0 & mask]  # fmt: skip
        k0 = (k0 + np.uint64(PHILOX_W0)) & mask
        k1 = (k1 + np.uint64(PHILOX_W1)) & mask
    return np.stack(np.broadcast_arrays(*c), axis=-1).astype(np.uint32)


def normals_reference(key, steps, node: int, n_var: int) -> np.ndarray:
    """The noise draws of one node of one lane, recomputed in numpy: array ``[len(steps),
    n_var]`` of standard normals (variable ``v`` from pair ``v // 2``, cos then sin)."""
    steps = np.asarray(steps, dtype=np.uint64)
    n_pair = (n_var + 1) // 2
    ctr = np.zeros((steps.size, n_pair, 4), dtype=np.uint64)
    ctr[..., 0] = (steps & np.uint64(0xFFFFFFFF))[:, None]
    ctr[..., 1] = (steps >> np.uint64(32))[:, None]
    ctr[..., 2] = node
    ctr[..., 3] = np.arange(n_pair)[None, :]
    r = philox4x32_reference(ctr, np.asarray(key, dtype=np.uint64)).astype(np.uint64)
    s11, s32 = np.uint64(11), np.uint64(32)
    u1 = ((((r[..., 0] << s32) | r[..., 1]) >> s11) + np.uint64(1)).astype(np.float64) * 2.0**-53
    u2 = (((r[..., 2] << s32) | r[..., 3]) >> s11).astype(np.float64) * 2.0**-53
    rad = np.sqrt(-2.0 * np.log(u1))
    z = np.stack([rad * np.cos(2 * np.pi * u2), rad * np.sin(2 * np.pi * u2)], axis=-1)
    return z.reshape(steps.size, 2 * n_pair)[:, :n_var]
