"""Cerebellar mean field (Lorenzi et al. 2023, PLoS Comput Biol 19:e1011434; MODEL.md §2).

Four populations per node: granule cells (GrC), Golgi cells (GoC), molecular-layer
interneurons (MLI), Purkinje cells (PC). Rates are in kHz, time in ms.

Transfer function (MODEL.md §2.3), for a population with input channels ``s`` (rate ``nu_s``,
convergence ``K_s``, quantal conductance ``Q_s`` nS, decay ``tau_s`` ms, reversal ``E_s`` mV)::

    mu_Gs = Q_s K_s tau_s nu_s                       nS
    mu_G  = g_L + sum_s mu_Gs
    mu_V  = e (sum_s mu_Gs E_s + g_L E_L) / mu_G     mV   (e = Euler's number)
    tau_m = C_m / mu_G                                ms
    U_s   = Q_s (E_s - mu_V) / mu_G                   mV
    sigma_V^2 = sum_s K_s nu_s (2 tau_m + tau_s) (e U_s tau_s / (2 (tau_s + tau_m)))^2
    tau_V = 1/2 sum_s K_s nu_s (e U_s tau_s)^2 / sigma_V^2
    T_N   = tau_V g_L / C_m
    V_thr = 1000 [P0 + P1 (mu_V + 60)/10 + P2 (sigma_V - 4)/6 + P3 (T_N - 0.5) + P4 ln(mu_G/g_L)]
    F     = alpha / (2 T_N) (g_L / C_m) erfc((V_thr - mu_V) / (sqrt(2) sigma_V))     kHz

Channels of each population (index constants ``E1``, ``E2``, ``I1`` of a block):

=====  ==========================  ==========================  ==================
pop    E1 (excitatory)             E2 (excitatory)             I1 (inhibitory)
=====  ==========================  ==========================  ==================
GrC    mf->GrC   (nu_mf)           absent (K = 0)              GoC->GrC (nu_GoC)
GoC    mf->GoC   (nu_mf)           GrC->GoC (nu_GrC [+ pf])    GoC->GoC (nu_GoC)
MLI    GrC->MLI  (nu_GrC + nu_pf)  absent                      MLI->MLI (nu_MLI)
PC     GrC->PC   (nu_GrC + nu_pf)  absent                      MLI->PC  (nu_MLI)
=====  ==========================  ==========================  ==================

Parallel fibres and the Golgi cell: MODEL.md §4 routes the parallel-fibre input to GoC, MLI and
PC, while §2.1 writes GoC's GrC input as the local nu_GrC only. The corrected preset follows §4
(switch ``pf_to_goc`` true) and adds nu_pf to the GoC's GrC->GoC channel, exactly as MLI and PC
receive it on their GrC channel (parallel fibres *are* GrC axons). Under ``pf_goc_mossy_synapse``
(published, MODEL.md §6.6 "c0 + c0 at GoC") nu_pf enters the mossy channel E1 instead. In the
single-node checks of MODEL.md §2.6 nu_pf = 0, so the choice does not affect them.

Guards. ``corrected`` (``published_guards`` false) evaluates the formulas exactly, with the
inputs clamped at 0. tau_V is computed from the weights ``K_s nu_s`` normalised by their
maximum (scale-free, so tiny rates do not underflow). With no synaptic input at all (every
channel rate exactly 0) the cell has no fluctuations and F is defined as 0: the formulas give
0/0 there and their limit depends on the direction of approach, because the fitted threshold
polynomial, extrapolated to vanishing input, lies far below mu_V = e E_L for some channels
(e.g. F_GrC(nu_mf -> 0+, nu_GoC = 0) -> 74 Hz, but F_GrC(0, nu_GoC -> 0+) -> 0). So F is finite
and >= 0 for every non-negative input, but not continuous at the silent point.
``published_guards`` reproduces the guards of the authors' code instead (MODEL.md §6.9).

Packed vector (:func:`pack`): global entries ``T``, ``GUARD_MODE``, ``PF_GOC_GAIN``,
``PF_GOC_CHANNEL``, ``PF_DOUBLE``, ``N_GRC``..``N_PC``, ``FD_STEP``, ``FD_STEP2``, then one block of
``BLOCK`` entries per population at ``BASE[pop]`` (pop = ``GRC, GOC, MLI, PC``) with offsets
``B_GL, B_CM, B_EL, B_ALPHA, B_P (5), E1, E2, I1 (each K, Q, TAU, E, EPS), B_TVEPS,
B_SIGEPS``. See ``layout()`` for the full table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numba import njit

from cmftvb import _jitcache
from cmftvb import _vmath as vmath
from cmftvb.models.base import LocalModel

# ---- population indices -------------------------------------------------------------------
GRC, GOC, MLI, PC = 0, 1, 2, 3
POPS = ("GrC", "GoC", "MLI", "PC")
#: Range of constant mossy input (Hz) over which the transfer functions were fitted and the
#: single-node input-output relation was validated (Lorenzi et al. 2023; docs/MODEL.md).
MOSSY_VALIDITY_HZ = (0.0, 70.0)

#: This model's declaration (collected by :mod:`cmftvb.models.registry`). The state variables
#: are the four population rates (kHz); order 2 adds the covariances (``COV_PAIRS``), which
#: stay inside the engine (never monitored or coupled).
MODEL = LocalModel(
    name="crbl",
    description="cerebellar mean field, GrC/GoC/MLI/PC (Lorenzi et al. 2023; MODEL.md §2)",
    state_vars=POPS,
    rate_vars=POPS,
    # mf: mossy-fibre input (GrC and the GoC mossy channel); pf: parallel-fibre input
    # (GoC, MLI, PC); both kHz, MODEL.md §2.1 and §4
    inputs=("mf", "pf"),
    # MODEL.md §6 item 8: the first state variable, GrC (kHz), in both presets
    bold_var="GrC",
    units={**dict.fromkeys(POPS, "kHz"), "mf": "kHz", "pf": "kHz"},
)

# ---- global entries -----------------------------------------------------------------------
T = 0  #: ms, time constant of the rate equations (§2.1)
GUARD_MODE = 1  #: 0 exact formulas with explicit limits; 1 published guards (§6.9)
PF_GOC_GAIN = 2  #: 1.0 if parallel fibres reach GoC (switch pf_to_goc), else 0.0
PF_GOC_CHANNEL = 3  #: 0: pf on GoC's GrC->GoC channel (E2); 1: on its mossy channel (E1)
PF_DOUBLE = 4  #: 1.0: pf counted twice in mu_Ge of MLI and PC (§6.4), else 0.0
N_GRC, N_GOC, N_MLI, N_PC = 5, 6, 7, 8  #: population sizes (§2.2)
FD_STEP = 9  #: kHz, finite-difference step of the first derivatives (Jacobian)
FD_STEP2 = 10  #: kHz, finite-difference step of the second derivatives (Hessians)
NGLOBAL = 11

# ---- per-population block -----------------------------------------------------------------
B_GL = 0  #: nS leak conductance
B_CM = 1  #: pF capacitance
B_EL = 2  #: mV leak reversal
B_ALPHA = 3  #: gain alpha
B_P = 4  #: P0..P4 (V), entries 4..8
E1 = 9  #: first excitatory channel: K, Q (nS), TAU (ms), E (mV), EPS (kHz rate guard)
E2 = 14  #: second excitatory channel (K = 0 where absent)
I1 = 19  #: inhibitory channel
C_K, C_Q, C_TAU, C_E, C_EPS = 0, 1, 2, 3, 4  #: offsets inside a channel
B_TVEPS = 24  #: kHz added to rates in tau_V's numerator (published guards)
B_SIGEPS = 25  #: mV added to sigma_V in tau_V's denominator (published guards)
B_GLCM = 26  #: 1/ms, g_L / C_m (derived at pack time)
B_INVGL = 27  #: 1/nS, 1 / g_L (derived at pack time)
BLOCK = 28
BASE = (NGLOBAL, NGLOBAL + BLOCK, NGLOBAL + 2 * BLOCK, NGLOBAL + 3 * BLOCK)
NP = NGLOBAL + 4 * BLOCK  #: length of the packed vector (123)

#: second-order state: 4 rates then the 10 covariances c_ij (i <= j, row-major).
COV_PAIRS = tuple((i, j) for i in range(4) for j in range(i, 4))
NSTATE2 = 4 + len(COV_PAIRS)  #: 14

_EULER = math.e
_SQRT2 = math.sqrt(2.0)
_DBL_MAX = 1.7976931348623157e308

# population -> (E1 synapse, E2 synapse, I1 synapse); None = absent channel
_CHANNELS = {
    "GrC": ("mf_GrC", None, "GoC_GrC"),
    "GoC": ("mf_GoC", "GrC_GoC", "GoC_GoC"),
    "MLI": ("GrC_MLI", None, "MLI_MLI"),
    "PC": ("GrC_PC", None, "MLI_PC"),
}


def pack(preset: Mapping) -> np.ndarray:
    """Pack a preset's cerebellar parameters into a float64 vector of length ``NP``.

    Applies the switches of MODEL.md §6 that act inside the node: ``goc_exc_reversal_m80``
    (GoC E1/E2 reversal = E_i), ``grc_inh_K35`` (GrC I1 K = mf->GoC K), ``rounded_P``
    (``crbl.P_published``), ``pf_double_counted``, ``pf_goc_mossy_synapse``, ``pf_to_goc`` and
    ``published_guards``.
    """
    cr = preset["crbl"]
    sw = preset["switches"]
    p = np.zeros(NP, dtype=np.float64)
    p[T] = float(cr["T"])
    p[GUARD_MODE] = 1.0 if sw["published_guards"] else 0.0
    p[PF_GOC_GAIN] = 1.0 if sw["pf_to_goc"] else 0.0
    p[PF_GOC_CHANNEL] = 1.0 if sw["pf_goc_mossy_synapse"] else 0.0
    p[PF_DOUBLE] = 1.0 if sw["pf_double_counted"] else 0.0
    for i, pop in enumerate(POPS):
        p[N_GRC + i] = float(cr["N"][pop])
    p[FD_STEP] = float(cr["fd_step"])
    p[FD_STEP2] = float(cr["fd_step2"])
    coeffs = cr["P_published"] if sw["rounded_P"] else cr["P"]
    guards = cr["published_guards"]
    pub = bool(sw["published_guards"])
    E_e = float(cr["reversal"]["E_e"])
    E_i = float(cr["reversal"]["E_i"])
    for ip, pop in enumerate(POPS):
        b = BASE[ip]
        cell = cr["cells"][pop]
        p[b + B_GL] = float(cell["g_L"])
        p[b + B_CM] = float(cell["C_m"])
        p[b + B_EL] = float(cell["E_L"])
        p[b + B_ALPHA] = float(cr["alpha"][pop])
        p[b + B_P : b + B_P + 5] = [float(x) for x in coeffs[pop]]
        for ch, syn in zip((E1, E2, I1), _CHANNELS[pop], strict=True):
            if syn is None:
                continue
            s = cr["synapses"][syn]
            k = float(s["K"])
            if pop == "GrC" and ch == I1 and sw["grc_inh_K35"]:
                k = float(cr["synapses"]["mf_GoC"]["K"])
            rev = E_i if ch == I1 else E_e
            if pop == "GoC" and ch != I1 and sw["goc_exc_reversal_m80"]:
                rev = E_i
            eps = float(guards["rate_eps"]) if pub else 0.0
            if pop == "GoC" and ch == E1:
                eps = 0.0  # the published GoC mossy input has no guard (MODEL.md §6.9)
            p[b + ch + C_K] = k
            p[b + ch + C_Q] = float(s["Q"])
            p[b + ch + C_TAU] = float(s["tau"])
            p[b + ch + C_E] = rev
            p[b + ch + C_EPS] = eps
        if pub:
            p[b + B_TVEPS] = float(guards["tv_eps_goc" if pop == "GoC" else "tv_eps"])
            p[b + B_SIGEPS] = float(guards["sigma_eps"])
        for ch in (E1, E2, I1):
            if p[b + ch + C_TAU] == 0.0:
                p[b + ch + C_TAU] = 1.0  # absent channel (K = 0): any positive tau
        p[b + B_GLCM] = p[b + B_GL] / p[b + B_CM]
        p[b + B_INVGL] = 1.0 / p[b + B_GL]
    return p


def layout() -> list[tuple[int, str]]:
    """The packed vector's entries as ``(index, description)`` (for documentation and tests)."""
    rows = [
        (T, "T (ms)"),
        (GUARD_MODE, "guard mode (0 exact, 1 published)"),
        (PF_GOC_GAIN, "pf reaches GoC (0/1)"),
        (PF_GOC_CHANNEL, "GoC pf channel (0 GrC synapse, 1 mossy synapse)"),
        (PF_DOUBLE, "pf double counted in MLI/PC mu_Ge (0/1)"),
        (N_GRC, "N_GrC"),
        (N_GOC, "N_GoC"),
        (N_MLI, "N_MLI"),
        (N_PC, "N_PC"),
        (FD_STEP, "Jacobian finite-difference step (kHz)"),
        (FD_STEP2, "Hessian finite-difference step (kHz)"),
    ]
    for ip, pop in enumerate(POPS):
        b = BASE[ip]
        rows += [
            (b + B_GL, f"{pop} g_L (nS)"),
            (b + B_CM, f"{pop} C_m (pF)"),
            (b + B_EL, f"{pop} E_L (mV)"),
            (b + B_ALPHA, f"{pop} alpha"),
        ]
        rows += [(b + B_P + k, f"{pop} P{k} (V)") for k in range(5)]
        for ch, name, syn in zip((E1, E2, I1), ("E1", "E2", "I1"), _CHANNELS[pop], strict=True):
            label = f"{pop} {name} ({syn or 'absent'})"
            rows += [
                (b + ch + C_K, f"{label} K"),
                (b + ch + C_Q, f"{label} Q (nS)"),
                (b + ch + C_TAU, f"{label} tau (ms)"),
                (b + ch + C_E, f"{label} E (mV)"),
                (b + ch + C_EPS, f"{label} rate guard (kHz)"),
            ]
        rows += [
            (b + B_TVEPS, f"{pop} tau_V rate guard (kHz)"),
            (b + B_SIGEPS, f"{pop} sigma guard"),
            (b + B_GLCM, f"{pop} g_L / C_m (1/ms, derived)"),
            (b + B_INVGL, f"{pop} 1 / g_L (1/nS, derived)"),
        ]
    return rows


# ---- the transfer function ----------------------------------------------------------------


@njit(cache=True, error_model="numpy", inline="always")
def pop_params(pop, p):
    """The parameters of population ``pop`` read from the packed vector ``p``, as a tuple of
    floats (the order :func:`transfer_q` unpacks; units as in :func:`layout`)."""
    # the block offset BASE[pop] as arithmetic: indexing the global tuple compiles to a call of
    # numba's getitem_literal_idx, which in some compile orders (a cache=True caller compiled
    # first in the process) is still an opaque call when LLVM's loop vectoriser runs, and
    # kept every loop over the transfer functions scalar
    b = NGLOBAL + pop * BLOCK
    return (
        p[b + B_GL],
        p[b + B_CM],
        p[b + B_EL],
        p[b + B_ALPHA],
        p[b + B_P],
        p[b + B_P + 1],
        p[b + B_P + 2],
        p[b + B_P + 3],
        p[b + B_P + 4],
        p[b + E1],
        p[b + E1 + C_Q],
        p[b + E1 + C_TAU],
        p[b + E1 + C_E],
        p[b + E1 + C_EPS],
        p[b + E2],
        p[b + E2 + C_Q],
        p[b + E2 + C_TAU],
        p[b + E2 + C_E],
        p[b + E2 + C_EPS],
        p[b + I1],
        p[b + I1 + C_Q],
        p[b + I1 + C_TAU],
        p[b + I1 + C_E],
        p[b + I1 + C_EPS],
        p[b + B_TVEPS],
        p[b + B_SIGEPS],
        p[b + B_GLCM],
        p[b + B_INVGL],
        p[GUARD_MODE],
    )


@njit(cache=True, error_model="numpy", inline="always")
def node_params(p):
    """Every parameter the rate equations read, from the packed vector ``p``, as a tuple
    ``(GrC, GoC, MLI, PC, T, PF_GOC_GAIN, PF_GOC_CHANNEL, PF_DOUBLE)`` of scalars, with one
    :func:`pop_params` tuple per population.

    Read once before a loop over nodes (as :func:`cmftvb.engine.core._crbl_stage` does), the
    parameters are values in registers rather than loads from an array the loop might also
    write: LLVM's vectoriser then needs no run-time overlap checks for them, which otherwise
    (one check per parameter against each stored array) made the vector loop unprofitable for
    fewer than about 30 (node, lane) pairs, a single seed's 27 cerebellar nodes among them.
    """
    return (
        pop_params(GRC, p),
        pop_params(GOC, p),
        pop_params(MLI, p),
        pop_params(PC, p),
        p[T],
        p[PF_GOC_GAIN],
        p[PF_GOC_CHANNEL],
        p[PF_DOUBLE],
    )


@njit(cache=True, error_model="numpy", inline="always")
def transfer(pop, nu_e1, nu_e2, nu_i, nu_x, p):
    """Transfer function F of population ``pop`` (0 GrC, 1 GoC, 2 MLI, 3 PC) in kHz.

    ``nu_e1``, ``nu_e2``, ``nu_i``: presynaptic rates (kHz) on the channels E1, E2, I1 of the
    population (module docstring); negative rates are clamped at 0. ``nu_x`` (kHz) adds to the
    mean conductance of E1 only (the published pf double counting, MODEL.md §6.4; 0 otherwise).
    MODEL.md §2.3. ``p``: the packed vector; :func:`transfer_q` takes the parameters unpacked.
    """
    return transfer_q(nu_e1, nu_e2, nu_i, nu_x, pop_params(pop, p))


@njit(cache=True, error_model="numpy", inline="always")
def transfer_q(nu_e1, nu_e2, nu_i, nu_x, q):
    """:func:`transfer` with the population's parameters as the tuple ``q`` of
    :func:`pop_params` (bitwise the same result)."""
    return transfer_qs(nu_e1, nu_e2, nu_i, nu_x, q, True, -1)


@njit(cache=True, error_model="numpy", inline="always")
def transfer_qs(nu_e1, nu_e2, nu_i, nu_x, q, e2, mode):
    """:func:`transfer_q` specialised where the caller knows it, for loops that run SIMD
    (both arms of a branch in such a loop are computed, then one is selected):

    - ``e2``: False for a population without a second excitatory channel (GrC, MLI, PC; K_E2
      is 0 by construction, :func:`pack`), so that the E2 terms are not computed at all; True:
      the test ``K_E2 != 0`` at run time (GoC).
    - ``mode``: 0 the corrected guards, 1 the published ones (``p[GUARD_MODE]``, the same for
      every node: the caller branches once outside its loop), -1 read from ``q``.

    With literal flags (the compiler folds them once inlined) the result is bitwise that of
    :func:`transfer_q`: the arithmetic of the branch taken is the same."""
    (
        g_l,
        c_m,
        el,
        alpha,
        pp0,
        pp1,
        pp2,
        pp3,
        pp4,
        k1,
        q1,
        t1,
        v1,
        e1eps,
        k2,
        q2,
        t2,
        v2,
        e2eps,
        k3,
        q3,
        t3,
        v3,
        i1eps,
        ev,
        seps,
        glcm,
        invgl,
        guard,
    ) = q
    # presynaptic rates with their guards
    r1 = vmath.fmax(nu_e1, 0.0) + e1eps
    r3 = vmath.fmax(nu_i, 0.0) + i1eps
    rx = vmath.fmax(nu_x, 0.0)
    m1 = q1 * k1 * t1 * (r1 + rx)
    m3 = q3 * k3 * t3 * r3
    # an absent channel (K = 0: E2 of GrC, MLI, PC) contributes exact zeros. The branches only
    # compute (the compiler turns them into selects), and sqrt, log and erfc are
    # cmftvb._vmath's plain arithmetic, not calls into the C library: a loop over nodes and
    # lanes of this function runs SIMD (see cmftvb.engine.core._crbl_stage), and a lane gets
    # the same bits alone or in a batch.
    has2 = (k2 != 0.0) if e2 else False
    published_guards = (guard != 0.0) if mode < 0 else (mode == 1)
    r2 = vmath.fmax(nu_e2, 0.0) + e2eps if has2 else 0.0
    m2 = q2 * k2 * t2 * r2 if has2 else 0.0
    mu_g = g_l + m1 + m2 + m3
    inv_g = 1.0 / mu_g
    mu_v = _EULER * (m1 * v1 + m2 * v2 + m3 * v3 + g_l * el) * inv_g
    tau_m = c_m * inv_g
    # per-channel contributions per unit K*rate: a_s = e U_s tau_s, U_s = Q_s (E_s - mu_V) / mu_G
    a1 = _EULER * (q1 * (v1 - mu_v) * inv_g) * t1
    a3 = _EULER * (q3 * (v3 - mu_v) * inv_g) * t3
    h1 = a1 / (2.0 * (t1 + tau_m))
    h3 = a3 / (2.0 * (t3 + tau_m))
    s1 = (2.0 * tau_m + t1) * (h1 * h1)
    s3 = (2.0 * tau_m + t3) * (h3 * h3)
    w1 = k1 * r1
    w3 = k3 * r3
    if has2:
        a2 = _EULER * (q2 * (v2 - mu_v) * inv_g) * t2
        h2 = a2 / (2.0 * (t2 + tau_m))
        s2 = (2.0 * tau_m + t2) * (h2 * h2)
        w2 = k2 * r2
    else:
        a2 = 0.0
        s2 = 0.0
        w2 = 0.0
    sig2 = w1 * s1 + w2 * s2 + w3 * s3
    sigma = vmath.sqrt(sig2)
    # tau_V = num / (2 den); the rate prefactor alpha / (2 T_N) (g_L / C_m) = alpha / (2 tau_V)
    wmax = vmath.fmax(w1, vmath.fmax(w2, w3))
    if published_guards:
        num = k1 * (r1 + ev) * a1 * a1 + k3 * (r3 + ev) * a3 * a3
        if has2:
            num += k2 * (r2 + ev) * a2 * a2
        den = sigma + seps
        den = den * den
    else:
        inv_w = 1.0 / wmax
        n1 = w1 * inv_w
        n2 = w2 * inv_w
        n3 = w3 * inv_w
        num = n1 * a1 * a1 + n2 * a2 * a2 + n3 * a3 * a3
        den = n1 * s1 + n2 * s2 + n3 * s3
    tau_v = 0.5 * num / den
    t_n = tau_v * glcm
    v_thr = 1000.0 * (
        pp0
        + pp1 * (mu_v + 60.0) * 0.1
        + pp2 * (sigma - 4.0) * (1.0 / 6.0)
        + pp3 * (t_n - 0.5)
        + pp4 * vmath.log(mu_g * invgl)
    )
    ef = vmath.erfc((v_thr - mu_v) / (_SQRT2 * sigma))
    # fluctuations underflowed: the deterministic limit
    ef = vmath.select(sigma > 0.0, ef, vmath.select(v_thr > mu_v, 0.0, 2.0))
    f = alpha * den / num * ef
    # no synaptic input at all: no fluctuations, the cell rests (see module docstring)
    f = vmath.select((not published_guards) & (not wmax > 0.0), 0.0, f)
    # NaN or inf (cannot happen for finite inputs) -> 0; written as one range test on
    # purpose (the compiler once folded "not f >= 0 or f == inf" into a test it could not
    # vectorise)
    return vmath.select((f >= 0.0) & (f <= _DBL_MAX), f, 0.0)


@njit(cache=True, error_model="numpy", inline="always")
def f_grc(mf, goc, p):
    """F_GrC(nu_e = nu_mf, nu_i = nu_GoC) in kHz (MODEL.md §2.1, §2.3)."""
    return transfer(GRC, mf, 0.0, goc, 0.0, p)


@njit(cache=True, error_model="numpy", inline="always")
def f_goc(mf, grc, goc, pf, p):
    """F_GoC(nu_mf, nu_g = nu_GrC [+ pf], nu_i = nu_GoC) in kHz (MODEL.md §2.1, §4, §6.6)."""
    x = p[PF_GOC_GAIN] * vmath.fmax(pf, 0.0)
    # one call with the inputs selected (no branch around two inlined copies)
    if p[PF_GOC_CHANNEL] != 0.0:
        e1 = vmath.fmax(mf, 0.0) + x
        e2 = grc
    else:
        e1 = mf
        e2 = vmath.fmax(grc, 0.0) + x
    return transfer(GOC, e1, e2, goc, 0.0, p)


@njit(cache=True, error_model="numpy", inline="always")
def f_mli(grc, pf, mli, p):
    """F_MLI(nu_e = nu_GrC + nu_pf, nu_i = nu_MLI) in kHz (MODEL.md §2.1; §6.4 under PF_DOUBLE)."""
    pf = vmath.fmax(pf, 0.0)
    return transfer(MLI, vmath.fmax(grc, 0.0) + pf, 0.0, mli, p[PF_DOUBLE] * pf, p)


@njit(cache=True, error_model="numpy", inline="always")
def f_pc(grc, pf, mli, p):
    """F_PC(nu_e = nu_GrC + nu_pf, nu_i = nu_MLI) in kHz (MODEL.md §2.1; §6.4 under PF_DOUBLE)."""
    pf = vmath.fmax(pf, 0.0)
    return transfer(PC, vmath.fmax(grc, 0.0) + pf, 0.0, mli, p[PF_DOUBLE] * pf, p)


@njit(cache=True, error_model="numpy", inline="always")
def transfer_all(grc, goc, mli, pc, mf, pf, p):
    """The four transfer functions at network state (rates kHz) -> (F_GrC, F_GoC, F_MLI, F_PC).

    ``pc`` is unused (no population receives PC input inside the node); kept for symmetry.
    The same operations as :func:`f_grc`, :func:`f_goc`, :func:`f_mli`, :func:`f_pc`.
    """
    return transfer_all_q(grc, goc, mli, pc, mf, pf, node_params(p))


@njit(cache=True, error_model="numpy", inline="always")
def transfer_all_q(grc, goc, mli, pc, mf, pf, prm, mode=-1):
    """:func:`transfer_all` with the parameters as the tuple ``prm`` of :func:`node_params`;
    ``mode`` the guards as in :func:`transfer_qs` (-1: read from ``prm``)."""
    q_grc, q_goc, q_mli, q_pc, _t, pf_gain, pf_channel, pf_double = prm
    f0 = transfer_qs(mf, 0.0, goc, 0.0, q_grc, False, mode)
    # GoC: one call with the inputs selected (no branch around two inlined copies)
    x = pf_gain * vmath.fmax(pf, 0.0)
    mossy = pf_channel != 0.0
    e1 = vmath.select(mossy, vmath.fmax(mf, 0.0) + x, mf)
    e2 = vmath.select(mossy, grc, vmath.fmax(grc, 0.0) + x)
    f1 = transfer_qs(e1, e2, goc, 0.0, q_goc, True, mode)
    pfc = vmath.fmax(pf, 0.0)
    f2 = transfer_qs(vmath.fmax(grc, 0.0) + pfc, 0.0, mli, pf_double * pfc, q_mli, False, mode)
    f3 = transfer_qs(vmath.fmax(grc, 0.0) + pfc, 0.0, mli, pf_double * pfc, q_pc, False, mode)
    return f0, f1, f2, f3


@njit(cache=True, error_model="numpy", inline="always")
def dfun(GrC, GoC, MLI, PC, mf, pf, p):
    """First-order derivatives (kHz/ms) of the four rates (MODEL.md §2.1).

    ``mf``: mossy input to GrC and the GoC mossy channel; ``pf``: parallel-fibre input (both
    kHz, background included by the caller, clamped at 0 from below).
    """
    return dfun_q(GrC, GoC, MLI, PC, mf, pf, node_params(p))


@njit(cache=True, error_model="numpy", inline="always")
def dfun_q(GrC, GoC, MLI, PC, mf, pf, prm, mode=-1):
    """:func:`dfun` with the parameters as the tuple ``prm`` of :func:`node_params` (read
    once before a loop over nodes; bitwise the same result); ``mode`` as in
    :func:`transfer_qs`."""
    mf = vmath.fmax(mf, 0.0)
    pf = vmath.fmax(pf, 0.0)
    f0, f1, f2, f3 = transfer_all_q(GrC, GoC, MLI, PC, mf, pf, prm, mode)
    inv_t = 1.0 / prm[4]
    return (f0 - GrC) * inv_t, (f1 - GoC) * inv_t, (f2 - MLI) * inv_t, (f3 - PC) * inv_t


# ---- second order (MODEL.md §2.2) ---------------------------------------------------------


@njit(cache=True, error_model="numpy")
def _f_vec(nu, mf, pf, p, out):
    f0, f1, f2, f3 = transfer_all(nu[0], nu[1], nu[2], nu[3], mf, pf, p)
    out[0] = f0
    out[1] = f1
    out[2] = f2
    out[3] = f3


@njit(cache=True, error_model="numpy")
def derivatives(nu, mf, pf, p, f, jac, hess):
    """F, its Jacobian and Hessians with respect to the four rates, by central differences.

    ``f`` (4,), ``jac[l, m] = dF_l/dnu_m`` (4, 4), ``hess[l, m, n]`` (4, 4, 4): outputs.
    Jacobian step ``p[FD_STEP]`` (kHz; the authors' 1e-4 Hz), Hessian step ``p[FD_STEP2]``
    (kHz): a second difference with the authors' step has a rounding error of about
    ``eps F / h^2`` (1e-3 of the Hessian here), which makes the second-order node jitter; the
    larger default step (1e-5 kHz) has truncation and rounding errors below 1e-6 relative.
    Each stencil is centred at ``max(nu_m, h)`` so that it never reaches negative rates (an
    O(h) shift of the point at which the derivatives are taken).
    """
    _f_vec(nu, mf, pf, p, f)
    x = np.empty(4)
    c = np.empty(4)
    fa = np.empty(4)
    fb = np.empty(4)
    fc = np.empty(4)
    fd = np.empty(4)
    # Jacobian
    h = p[FD_STEP]
    for m in range(4):
        c[m] = max(nu[m], h)
    for m in range(4):
        for k in range(4):
            x[k] = c[k]
        x[m] = c[m] + h
        _f_vec(x, mf, pf, p, fa)
        x[m] = c[m] - h
        _f_vec(x, mf, pf, p, fb)
        for lam in range(4):
            jac[lam, m] = (fa[lam] - fb[lam]) / (2.0 * h)
    # Hessians
    h = p[FD_STEP2]
    for m in range(4):
        c[m] = max(nu[m], h)
    f0 = np.empty(4)
    _f_vec(c, mf, pf, p, f0)
    for m in range(4):
        for k in range(4):
            x[k] = c[k]
        x[m] = c[m] + h
        _f_vec(x, mf, pf, p, fa)
        x[m] = c[m] - h
        _f_vec(x, mf, pf, p, fb)
        for lam in range(4):
            hess[lam, m, m] = (fa[lam] - 2.0 * f0[lam] + fb[lam]) / (h * h)
    for m in range(4):
        for n in range(m + 1, 4):
            for k in range(4):
                x[k] = c[k]
            x[m] = c[m] + h
            x[n] = c[n] + h
            _f_vec(x, mf, pf, p, fa)  # (+, +)
            x[n] = c[n] - h
            _f_vec(x, mf, pf, p, fb)  # (+, -)
            x[m] = c[m] - h
            _f_vec(x, mf, pf, p, fd)  # (-, -)
            x[n] = c[n] + h
            _f_vec(x, mf, pf, p, fc)  # (-, +)
            for lam in range(4):
                v = (fa[lam] - fb[lam] - fc[lam] + fd[lam]) / (4.0 * h * h)
                hess[lam, m, n] = v
                hess[lam, n, m] = v


@njit(cache=True, error_model="numpy")
def dfun2(x, mf, pf, p, dx):
    """Second-order derivatives (El Boustani & Destexhe 2009; MODEL.md §2.2), one node.

    ``x`` (14,): rates GrC, GoC, MLI, PC (kHz) then the covariances ``c_ij`` (kHz^2) in the
    order of ``COV_PAIRS``. Writes d/dt into ``dx`` (14,)::

        T dnu_l/dt = F_l - nu_l + 1/2 sum_mn c_mn d2F_l/dnu_m dnu_n
        T dc_lh/dt = delta_lh F_l (1/T - F_l) / N_l + (F_l - nu_l)(F_h - nu_h)
                     + sum_m (c_lm dF_h/dnu_m + c_hm dF_l/dnu_m) - 2 c_lh

    With every covariance 0 the rate derivatives equal :func:`dfun` exactly.
    """
    mf = max(mf, 0.0)
    pf = max(pf, 0.0)
    t = p[T]
    nu = x[:4]
    cov = np.empty((4, 4))
    k = 4
    for i in range(4):
        for j in range(i, 4):
            cov[i, j] = x[k]
            cov[j, i] = x[k]
            k += 1
    f = np.empty(4)
    jac = np.empty((4, 4))
    hess = np.empty((4, 4, 4))
    any_cov = False
    for i in range(4):
        for j in range(4):
            if cov[i, j] != 0.0:
                any_cov = True
    if any_cov:
        derivatives(nu, mf, pf, p, f, jac, hess)
    else:
        _f_vec(nu, mf, pf, p, f)
    for lam in range(4):
        corr = 0.0
        if any_cov:
            for m in range(4):
                for n in range(4):
                    corr += cov[m, n] * hess[lam, m, n]
        dx[lam] = (f[lam] - nu[lam] + 0.5 * corr) * (1.0 / t)  # as dfun, bit for bit
    k = 4
    for lam in range(4):
        for eta in range(lam, 4):
            v = (f[lam] - nu[lam]) * (f[eta] - nu[eta]) - 2.0 * cov[lam, eta]
            if lam == eta:
                v += f[lam] * (1.0 / t - f[lam]) / p[N_GRC + lam]
            if any_cov:
                for m in range(4):
                    v += cov[lam, m] * jac[eta, m] + cov[eta, m] * jac[lam, m]
            dx[k] = v / t
            k += 1


# ---- vectorised wrappers over nodes -------------------------------------------------------


@njit(cache=True, error_model="numpy")
def _dfun_loop(grc, goc, mli, pc, mf, pf, p, out):
    prm = node_params(p)
    for k in range(grc.size):
        a, b, c, d = dfun_q(grc[k], goc[k], mli[k], pc[k], mf[k], pf[k], prm)
        out[0, k] = a
        out[1, k] = b
        out[2, k] = c
        out[3, k] = d


@njit(cache=True, error_model="numpy")
def _transfer_loop(grc, goc, mli, pc, mf, pf, p, out):
    prm = node_params(p)
    for k in range(grc.size):
        a, b, c, d = transfer_all_q(grc[k], goc[k], mli[k], pc[k], mf[k], pf[k], prm)
        out[0, k] = a
        out[1, k] = b
        out[2, k] = c
        out[3, k] = d


@njit(cache=True, error_model="numpy")
def _dfun2_loop(x, mf, pf, p, out):
    for k in range(x.shape[0]):
        dfun2(x[k], mf[k], pf[k], p, out[k])


def _flat(*arrays):
    bc = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in arrays))
    return [np.ascontiguousarray(a).ravel() for a in bc], bc[0].shape


def dfun_nodes(GrC, GoC, MLI, PC, mf, pf, p) -> np.ndarray:
    """Vectorised :func:`dfun`: inputs broadcast together; returns an array (4, *shape)."""
    flat, shape = _flat(GrC, GoC, MLI, PC, mf, pf)
    out = np.empty((4, flat[0].size))
    _dfun_loop(*flat, np.asarray(p, dtype=np.float64), out)
    return out.reshape((4, *shape))


def transfer_nodes(GrC, GoC, MLI, PC, mf, pf, p) -> np.ndarray:
    """Vectorised :func:`transfer_all`: (F_GrC, F_GoC, F_MLI, F_PC) as an array (4, *shape)."""
    flat, shape = _flat(GrC, GoC, MLI, PC, mf, pf)
    out = np.empty((4, flat[0].size))
    _transfer_loop(*flat, np.asarray(p, dtype=np.float64), out)
    return out.reshape((4, *shape))


def dfun2_nodes(x, mf, pf, p) -> np.ndarray:
    """Vectorised :func:`dfun2` over nodes: ``x`` (n, 14), ``mf``, ``pf`` (n,) -> (n, 14)."""
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    if x.ndim != 2 or x.shape[1] != NSTATE2:
        raise ValueError(f"x must have shape (n, {NSTATE2}), got {x.shape}")
    n = x.shape[0]
    mf = np.ascontiguousarray(np.broadcast_to(np.asarray(mf, dtype=np.float64), (n,)))
    pf = np.ascontiguousarray(np.broadcast_to(np.asarray(pf, dtype=np.float64), (n,)))
    out = np.empty_like(x)
    _dfun2_loop(x, mf, pf, np.asarray(p, dtype=np.float64), out)
    return out


# numba's disk cache keys these on this file only; they compile in cmftvb._vmath
for _f in (_f_vec, derivatives, dfun2, _dfun_loop, _transfer_loop, _dfun2_loop):
    _jitcache.guard(_f, [vmath])
