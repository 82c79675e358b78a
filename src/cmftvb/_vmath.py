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
- :func:`erfc`: ``erfc(a) = e^(-a^2) h(s) / (a + 3/4)`` for ``a = |x|`` (clamped at 27.5,
  where erfc has underflowed to 0), ``h(s) = erfcx(a) (a + 3/4)`` a polynomial of degree 27
  in ``s = (9/8 a - 2) / (a + 2)`` (which maps [0, 32] onto [-1, 1]; Chebyshev interpolant
  computed with mpmath, truncation below 1e-18), ``e^(-a^2)`` from the exact split
  ``a^2 = hi + lo`` (the tail enters exp's reduced argument, so the large argument costs no
  accuracy), and ``erfc(-a) = 2 - erfc(a)``. Within 3 ulp of the correctly rounded value
  (mean 0.4) for normal results, within 2^-1074 for subnormal ones (a > 26.55); measured on
  70 000 points in [-6, 27.3] against mpmath (tests/test_vmath_erfc.py). The C library's
  erfc is within 1 ulp; scipy's (Cephes) is off by up to ~500 ulp in the far tail.
All are ``inline="always"`` numba functions, for use inside other compiled code;
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


def _bitcast(name: str, src_kind: type, src: types.Type, dst: types.Type, dst_ir: ir.Type):
    """An intrinsic that reinterprets the 64 bits of a ``src`` value (any ``src_kind``
    argument, cast to ``src`` first) as a ``dst`` value (an LLVM ``bitcast`` to ``dst_ir``)."""

    def typer(typingctx, x):
        if not isinstance(x, src_kind):
            return None

        def codegen(context, builder, signature, args):
            v = context.cast(builder, args[0], signature.args[0], src)
            return builder.bitcast(v, dst_ir)

        return dst(x), codegen

    typer.__name__ = typer.__qualname__ = name
    typer.__doc__ = f"Reinterpret the 64 bits of a {src} as a {dst} (an LLVM ``bitcast``)."
    return intrinsic(typer)


_bits_to_f64 = _bitcast("_bits_to_f64", types.Integer, types.int64, types.float64, ir.DoubleType())
_f64_to_bits = _bitcast("_f64_to_bits", types.Float, types.float64, types.int64, ir.IntType(64))


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


@intrinsic
def select(typingctx, c, a, b):
    """``a if c else b`` for a boolean ``c`` as one LLVM ``select`` of two values that are
    both computed (int64 if both are integers, else float64).

    Why: numba turns every conditional expression into branches, i.e. new basic blocks, and
    inlining an ``inline="always"`` function copies its whole variable scope once per block
    (numba 0.6x, ``InlineWorker.inline_ir``), so compiling the engine, whose loops inline the
    transfer functions many times, grew with the square of their size. The same values as
    the conditional expression for arguments without side effects, which is all that the
    compiled models pass; LLVM turned those branches into selects anyway to vectorise."""
    if not isinstance(c, types.Boolean):
        return None
    if isinstance(a, types.Integer) and isinstance(b, types.Integer):
        ty = types.int64
    elif isinstance(a, types.Float | types.Integer) and isinstance(b, types.Float | types.Integer):
        ty = types.float64
    else:
        return None

    def codegen(context, builder, signature, args):
        cv = context.cast(builder, args[0], signature.args[0], types.boolean)
        av = context.cast(builder, args[1], signature.args[1], ty)
        bv = context.cast(builder, args[2], signature.args[2], ty)
        return builder.select(cv, av, bv)

    return ty(c, a, b), codegen


@njit(cache=True, error_model="numpy", inline="always")
def fmax(a, b):
    """``max(a, b)`` with Python's semantics (``a`` unless ``b > a``; NaN in ``a`` is kept).

    numba's builtin ``max`` carries an error path (a call) that stops vectorisation.
    """
    return select(b > a, b, a)


@njit(cache=True, error_model="numpy", inline="always")
def fmin(a, b):
    """``min(a, b)`` with Python's semantics (``a`` unless ``b < a``)."""
    return select(b < a, b, a)


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
def _exp_reduced(r, kf):
    """e^(r + kf ln 2) for the reduced argument |r| <= ln2/2 (plus a tiny tail) and the
    integer-valued float kf: the Taylor polynomial of e^r times 2^kf, built in two factors."""
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
    return q * _bits_to_f64((k1 + 1023) << 52) * _bits_to_f64((k2 + 1023) << 52)


@njit(cache=True, error_model="numpy", inline="always")
def exp(x):
    """e^x for float64 x (see the module docstring for the method and its accuracy)."""
    # clamp without NaN (comparisons with NaN are false): exp(-746) underflows, exp(710)
    # overflows, so the clamped argument still yields 0 / inf; NaN is restored at the end
    xc = select(x > -746.0, x, -746.0)
    xc = select(xc < 710.0, xc, 710.0)
    kf = (xc * LOG2E + ROUNDER) - ROUNDER  # nearest integer to x / ln 2
    r = (xc - kf * LN2_HI) - kf * LN2_LO
    y = _exp_reduced(r, kf)
    return select(x == x, y, x)


@njit(cache=True, error_model="numpy", inline="always")
def log(x):
    """Natural logarithm of float64 x (see the module docstring)."""
    sub = x < MIN_NORMAL
    xs = select(sub, x * TWO54, x)
    bits = _f64_to_bits(xs)
    e = (bits >> 52) - 1023 - select(sub, 54, 0)
    m = _bits_to_f64((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)  # in [1, 2)
    big = m > SQRT2
    m = select(big, 0.5 * m, m)
    ef = np.float64(select(big, e + 1, e))
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
    y = select(x < math.inf, y, x)  # +inf (and NaN, kept below)
    y = select(x > 0.0, y, select(x == 0.0, -math.inf, math.nan))
    return select(x == x, y, x)


#: erfc: x = ERFC_K (1 + s) / (ERFC_C - s) maps s in [-1, 1] onto x in [0, ERFC_X]
ERFC_K = 2.0
ERFC_X = 32.0
ERFC_C = 1.0 + 2.0 * ERFC_K / ERFC_X  # 9/8, exact
#: erfcx(x) (x + ERFC_KAPPA) varies only between 0.56 and 0.75 on [0, inf), so its polynomial
#: has little cancellation (sum of |a_k| below 1)
ERFC_KAPPA = 0.75
#: beyond this |x| erfc(x) rounds to 0 (erfc(27.3) < 2^-1075), so |x| is clamped there
ERFC_XMAX = 27.5
#: low 27 mantissa bits cleared: the high half of a float64 (26 significant bits)
_HALF_MASK = ~np.int64((1 << 27) - 1)
#: monomial coefficients a_0..a_27 of h(s) = erfcx(x) (x + 3/4) = e^(x^2) erfc(x) (x + 3/4),
#: x = 2 (1 + s) / (9/8 - s): the Chebyshev interpolant of degree 27 at 64 Chebyshev nodes,
#: computed with mpmath at 50 digits, converted to monomials and rounded once (recomputed and
#: compared in tests/test_vmath_erfc.py). Last Chebyshev coefficient kept 3e-18, the first
#: dropped 7e-19.
ERFCX_COEFFS = (
    0.7112574111451282,
    -0.14103698871202805,
    -0.030232379603526188,
    0.0569797289775682,
    -0.019850307164054008,
    -0.002729489917492137,
    0.0027265766938008745,
    0.0004595921318174293,
    -0.000372808804513998,
    -0.0001363046654238701,
    3.580937630058545e-05,
    3.452436555466976e-05,
    3.5933142149220856e-06,
    -5.71213489915734e-06,
    -2.8950004813893812e-06,
    5.296278666627355e-08,
    6.6373668031703e-07,
    2.954512215368703e-07,
    -7.233384016487818e-09,
    -7.617080935649098e-08,
    -4.4149018354008354e-08,
    -3.1332118586844306e-09,
    1.4037539761127743e-08,
    7.1329417911882945e-09,
    -1.8828042972067193e-09,
    -1.9545048632056656e-09,
    7.042635950779322e-11,
    2.0278774687587346e-10,
)
(
    _A0,
    _A1,
    _A2,
    _A3,
    _A4,
    _A5,
    _A6,
    _A7,
    _A8,
    _A9,
    _A10,
    _A11,
    _A12,
    _A13,
    _A14,
    _A15,
    _A16,
    _A17,
    _A18,
    _A19,
    _A20,
    _A21,
    _A22,
    _A23,
    _A24,
    _A25,
    _A26,
    _A27,
) = ERFCX_COEFFS


@njit(cache=True, error_model="numpy", inline="always")
def erfc(x):
    """Complementary error function of float64 x (see the module docstring)."""
    a = select(x < 0.0, -x, x)
    a = select(a < ERFC_XMAX, a, ERFC_XMAX)  # erfc is 0 beyond (NaN: restored at the end)
    # e^(-a^2) with a^2 = hi + lo exactly (a = ah + al, ah with 26 significant bits, so ah^2
    # and 2 ah al are exact; al^2 is below 2^-100 a^2): the tail lo enters the reduced
    # argument, so e^(-a^2) has exp's accuracy although a^2 (up to 756) is rounded
    hi = a * a
    ah = _bits_to_f64(_f64_to_bits(a) & _HALF_MASK)
    al = a - ah
    lo = ((ah * ah - hi) + 2.0 * ah * al) + al * al
    kf = (hi * -LOG2E + ROUNDER) - ROUNDER  # nearest integer to -a^2 / ln 2
    r = ((-hi - kf * LN2_HI) - kf * LN2_LO) - lo
    e = _exp_reduced(r, kf)
    # erfcx(a) = h(s) / (a + 3/4), s = (9/8 a - 2) / (a + 2)
    s = (ERFC_C * a - ERFC_K) / (a + ERFC_K)
    q = _A26 + s * _A27
    q = _A25 + s * q
    q = _A24 + s * q
    q = _A23 + s * q
    q = _A22 + s * q
    q = _A21 + s * q
    q = _A20 + s * q
    q = _A19 + s * q
    q = _A18 + s * q
    q = _A17 + s * q
    q = _A16 + s * q
    q = _A15 + s * q
    q = _A14 + s * q
    q = _A13 + s * q
    q = _A12 + s * q
    q = _A11 + s * q
    q = _A10 + s * q
    q = _A9 + s * q
    q = _A8 + s * q
    q = _A7 + s * q
    q = _A6 + s * q
    q = _A5 + s * q
    q = _A4 + s * q
    q = _A3 + s * q
    q = _A2 + s * q
    q = _A1 + s * q
    q = _A0 + s * q
    y = e * (q / (a + ERFC_KAPPA))
    y = select(x >= 0.0, y, 2.0 - y)  # erfc(-a) = 2 - erfc(a), in [1, 2]: no cancellation
    return select(x == x, y, x)
