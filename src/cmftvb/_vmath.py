"""exp, log and erfc written in plain float64 arithmetic, so that compiled loops vectorise.

Why: numba calls the C library for ``math.exp``, ``math.log`` and ``math.erfc``. A loop over
the lanes of a batch (seeds, G values) that calls them cannot be turned into SIMD code, so a
batch of 8 lanes costs 8 times one lane in the local models. These functions use only
additions, multiplications, divisions, comparisons (selects) and integer/bit operations, which
LLVM vectorises; a vectorised lane and a scalar lane execute the same IEEE operations in the
same order, so a lane's result is bitwise the same whether it runs alone or in a batch (numba
does not contract a*b+c into a fused multiply-add without ``fastmath``, which we never set).

Accuracy (tests/test_vmath.py, against numpy / scipy / mpmath):

- :func:`exp`: Cody-Waite reduction ``x = k ln2 + r`` (|r| <= ln2/2, ``ln2`` split into a
  32-bit-exact high part and a low part), Taylor polynomial of degree 13 (truncation below
  3e-18 relative), scaled by ``2^k`` built from its bits in two factors, so that subnormal
  results are rounded once. Within 2 ulp of the correctly rounded value; overflow gives
  ``inf``, underflow 0, NaN stays NaN.
- :func:`log`: ``x = m 2^e`` with ``m`` in [sqrt(1/2), sqrt(2)), ``log m = 2 atanh(s)``,
  ``s = (m - 1) / (m + 1)`` (|s| <= 0.1716), odd series to ``s^23`` (truncation below 1e-19);
  subnormals are rescaled first. Within 2 ulp; ``log 0 = -inf``, negative or NaN -> NaN.
- :func:`erfc`: for ``a = |z|``, ``erfc(a) = t exp(-a^2 + f(u))``, ``t = 2 / (2 + a)``,
  ``u = 2t - 1``, with ``f(u) = log(erfcx(a) / t)`` a smooth function on [-1, 1] expanded in
  30 Chebyshev polynomials (computed here with mpmath, see :func:`erfc_coefficients`; the
  first dropped one is below 1e-19), evaluated as a power series in u by Estrin's scheme.
  ``erfc(-a) = 2 - erfc(a)``.
  Relative error about ``a^2 * 1.1e-16`` from rounding ``a^2`` (below 3e-15 for a <= 5, below
  1e-13 where erfc is representable); erfc(+inf) = 0, erfc(-inf) = 2.

All three are ``inline="always"`` numba functions, for use inside other compiled code;
:func:`sqrt` is the correctly rounded square root as an LLVM intrinsic (numba's ``math.sqrt``
calls the C library, which stops vectorisation).
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


def _allow_runtime_alias_checks() -> None:
    """Let LLVM's loop vectoriser emit more run-time pointer-overlap checks than by default.

    numba gives array arguments no ``noalias`` information, so a loop over lanes that reads
    the state, the noise, the coupling and the parameter vector and writes a scratch array
    needs a run-time check per pair of arrays; with the default limits (8 checks) LLVM gives
    up and the loop stays scalar. The options are process-wide LLVM settings read at compile
    time; they only allow vectorisation with checks (the scalar path stays for overlapping
    arrays), so other compiled code is unaffected in its results.
    """
    import llvmlite.binding as llvm

    llvm.set_option("", "-runtime-memory-check-threshold=128")
    llvm.set_option("", "-vectorize-memory-check-threshold=2000")
    llvm.set_option("", "-memory-check-merge-threshold=1000")


_allow_runtime_alias_checks()


@intrinsic
def _bits_to_f64(typingctx, x):
    """Reinterpret the 64 bits of an int64 as a float64 (an LLVM ``bitcast``)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[0], signature.args[0], types.int64)
        return builder.bitcast(v, ir.DoubleType())

    return types.float64(x), codegen


@intrinsic
def _f64_to_bits(typingctx, x):
    """Reinterpret the 64 bits of a float64 as an int64 (an LLVM ``bitcast``)."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[0], signature.args[0], types.float64)
        return builder.bitcast(v, ir.IntType(64))

    return types.int64(x), codegen


@intrinsic
def sqrt(typingctx, x):
    """Square root via LLVM's ``llvm.sqrt.f64`` (correctly rounded, as IEEE requires).

    numba lowers ``math.sqrt`` to a call of the C library's ``sqrt``, which may set ``errno``
    and therefore keeps a loop from being vectorised; the intrinsic gives the same bits.
    """
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[0], signature.args[0], types.float64)
        fn = builder.module.declare_intrinsic("llvm.sqrt", [ir.DoubleType()])
        return builder.call(fn, [v])

    return types.float64(x), codegen


@njit(cache=True, error_model="numpy", inline="always")
def fmax(a, b):
    """``max(a, b)`` with Python's semantics (``a`` unless ``b > a``; NaN in ``a`` is kept).

    numba's builtin ``max`` carries an error path (a call) that stops vectorisation.
    """
    return b if b > a else a


@njit(cache=True, error_model="numpy", inline="always")
def fmin(a, b):
    """``min(a, b)`` with Python's semantics (``a`` unless ``b < a``)."""
    return b if b < a else a


def _split_ln2() -> tuple[float, float]:
    """ln 2 = hi + lo, hi with its low 32 mantissa bits zero (so k * hi is exact for |k| < 2^20)."""
    getcontext().prec = 50
    ln2 = Decimal(2).ln()
    bits = np.array([float(ln2)]).view(np.int64)[0] & ~np.int64(0xFFFFFFFF)
    hi = float(np.array([bits]).view(np.float64)[0])
    lo = float(ln2 - Decimal(hi))
    return hi, lo


LN2_HI, LN2_LO = _split_ln2()
LOG2E = 1.4426950408889634  # 1 / ln 2
#: 1.5 * 2^52: adding and subtracting it rounds a float (|v| < 2^51) to the nearest integer
ROUNDER = 6755399441055744.0
SQRT2 = math.sqrt(2.0)
TWO54 = 18014398509481984.0  # 2^54
MIN_NORMAL = 2.2250738585072014e-308
#: Taylor coefficients 1/n! of exp, n = 2..13 (exact rationals rounded once)
_E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13 = (
    1.0 / math.factorial(n) for n in range(2, 14)
)
#: 2/(2n+1) coefficients of log m = 2 atanh(s) = sum 2 s^(2n+1) / (2n+1), n = 1..11
_L1, _L2, _L3, _L4, _L5, _L6, _L7, _L8, _L9, _L10, _L11 = (2.0 / (2 * n + 1) for n in range(1, 12))


@njit(cache=True, error_model="numpy", inline="always")
def exp(x):
    """e^x for float64 x (see the module docstring for the method and its accuracy)."""
    # clamp without NaN (comparisons with NaN are false): exp(-746) underflows, exp(710)
    # overflows, so the clamped argument still yields 0 / inf; NaN is restored at the end
    xc = x if x > -746.0 else -746.0
    xc = xc if xc < 710.0 else 710.0
    kf = (xc * LOG2E + ROUNDER) - ROUNDER  # nearest integer to x / ln 2
    r = (xc - kf * LN2_HI) - kf * LN2_LO
    q = _E12 + r * _E13
    q = _E11 + r * q
    q = _E10 + r * q
    q = _E9 + r * q
    q = _E8 + r * q
    q = _E7 + r * q
    q = _E6 + r * q
    q = _E5 + r * q
    q = _E4 + r * q
    q = _E3 + r * q
    q = _E2 + r * q
    q = 1.0 + r * (1.0 + r * q)
    k = np.int64(kf)
    k1 = k >> 1
    k2 = k - k1
    y = q * _bits_to_f64((k1 + 1023) << 52) * _bits_to_f64((k2 + 1023) << 52)
    return y if x == x else x


@njit(cache=True, error_model="numpy", inline="always")
def log(x):
    """Natural logarithm of float64 x (see the module docstring)."""
    sub = x < MIN_NORMAL
    xs = x * TWO54 if sub else x
    bits = _f64_to_bits(xs)
    e = (bits >> 52) - 1023 - (54 if sub else 0)
    m = _bits_to_f64((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)  # in [1, 2)
    big = m > SQRT2
    m = 0.5 * m if big else m
    ef = np.float64(e + 1 if big else e)
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    q = _L10 + s2 * _L11
    q = _L9 + s2 * q
    q = _L8 + s2 * q
    q = _L7 + s2 * q
    q = _L6 + s2 * q
    q = _L5 + s2 * q
    q = _L4 + s2 * q
    q = _L3 + s2 * q
    q = _L2 + s2 * q
    q = _L1 + s2 * q
    lm = 2.0 * s + s * (s2 * q)
    y = ef * LN2_HI + (lm + ef * LN2_LO)
    y = y if x < math.inf else x  # +inf (and NaN, kept below)
    y = y if x > 0.0 else (-math.inf if x == 0.0 else math.nan)
    return y if x == x else x


def erfc_coefficients(n: int = 30, nodes: int = 80, digits: int = 50) -> tuple[float, ...]:
    """Power-series coefficients a_0..a_{n-1} of ``f(u) = log(erfcx(a) / t)`` on [-1, 1].

    ``t = (u + 1) / 2 = 2 / (2 + a)``; f(-1) is the limit ``log(1 / (2 sqrt(pi)))``. f is
    interpolated with mpmath (``digits`` significant digits) at ``nodes`` Chebyshev points, its
    Chebyshev series (computed by the discrete cosine transform) truncated to ``n`` terms (the
    first dropped term is below 1e-19) and converted to powers of u in the same precision; the
    conversion is well conditioned here (sum |a_k| = 1.46). Generates :data:`ERFC_POLY` (the
    tests regenerate and compare).
    """
    import mpmath as mp

    with mp.workdps(digits):

        def f(u):
            t = (u + 1) / 2
            if t == 0:
                return mp.log(1 / (2 * mp.sqrt(mp.pi)))
            a = 2 / t - 2
            return mp.log(mp.erfc(a) * mp.exp(a * a) / t)

        th = [mp.pi * (k + mp.mpf(1) / 2) / nodes for k in range(nodes)]
        vals = [f(mp.cos(x)) for x in th]
        cheb = [
            2 * mp.fsum(v * mp.cos(j * x) for v, x in zip(vals, th, strict=True)) / nodes
            for j in range(n)
        ]
        cheb[0] /= 2
        # power coefficients of T_j: T_0 = 1, T_1 = u, T_j = 2u T_{j-1} - T_{j-2}
        t_prev, t_cur = [mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]
        poly = [cheb[0]] + [mp.mpf(0)] * (n - 1)
        for j in range(1, n):
            for k, v in enumerate(t_cur):
                poly[k] += cheb[j] * v
            t_next = [mp.mpf(0)] + [2 * v for v in t_cur]
            for k, v in enumerate(t_prev):
                t_next[k] -= v
            t_prev, t_cur = t_cur, t_next
        return tuple(float(v) for v in poly)


#: erfc_coefficients() (regenerate with ``python -m cmftvb._vmath``; a test checks the values)
ERFC_POLY = (
    -0.6717940840566923,
    0.6726432239776567,
    0.04734330684190441,
    -0.04689561023118475,
    -0.009872689366388684,
    0.00882493855745383,
    0.001758933557766382,
    -0.0023458125081223134,
    -0.0001462468629421063,
    0.0006736788796142943,
    -9.373503465815823e-05,
    -0.0001743035278020314,
    7.140103219748502e-05,
    3.1747859436922955e-05,
    -3.0187948093951486e-05,
    1.2915164139087769e-07,
    8.562779099386524e-06,
    -2.928567024161788e-06,
    -1.2725805279147717e-06,
    1.2186833373805656e-06,
    -1.6817283194044123e-07,
    -2.1376119174178424e-07,
    1.5307318366323928e-07,
    -2.6872987499866794e-08,
    -3.9024931626661816e-08,
    2.589763598195963e-08,
    4.013877704214506e-09,
    -6.421087129613183e-09,
    6.714920393601979e-12,
    6.249457280991351e-10,
)
_C = ERFC_POLY
assert len(_C) == 30  # erfc() below is written out for 30 coefficients


@njit(cache=True, error_model="numpy", inline="always")
def erfc(z):
    """Complementary error function of float64 z (see the module docstring)."""
    a = abs(z)
    t = 2.0 / (2.0 + a)
    u = 2.0 * t - 1.0
    # Estrin's scheme for sum a_k u^k (depth 5 instead of 29 dependent steps), written out:
    # a loop here would stop the compiler from vectorising the caller's loop over lanes
    e0 = _C[0] + _C[1] * u
    e1 = _C[2] + _C[3] * u
    e2 = _C[4] + _C[5] * u
    e3 = _C[6] + _C[7] * u
    e4 = _C[8] + _C[9] * u
    e5 = _C[10] + _C[11] * u
    e6 = _C[12] + _C[13] * u
    e7 = _C[14] + _C[15] * u
    e8 = _C[16] + _C[17] * u
    e9 = _C[18] + _C[19] * u
    e10 = _C[20] + _C[21] * u
    e11 = _C[22] + _C[23] * u
    e12 = _C[24] + _C[25] * u
    e13 = _C[26] + _C[27] * u
    e14 = _C[28] + _C[29] * u
    v2 = u * u
    f0 = e0 + e1 * v2
    f1 = e2 + e3 * v2
    f2 = e4 + e5 * v2
    f3 = e6 + e7 * v2
    f4 = e8 + e9 * v2
    f5 = e10 + e11 * v2
    f6 = e12 + e13 * v2
    v4 = v2 * v2
    g0 = f0 + f1 * v4
    g1 = f2 + f3 * v4
    g2 = f4 + f5 * v4
    g3 = f6 + e14 * v4
    v8 = v4 * v4
    f = (g0 + g1 * v8) + (g2 + g3 * v8) * (v8 * v8)
    y = t * exp(f - a * a)
    return 2.0 - y if z < 0.0 else y


if __name__ == "__main__":  # print the erfc coefficients (to paste into ERFC_POLY)
    for c in erfc_coefficients():
        print(f"    {c!r},")
