"""The compiled integration loop: one numba function for a heterogeneous network.

Conventions follow tvb-library 2.10 (docs/TVB-CONVENTIONS.md), in float64:

- State ``x[N, V, L]``: node, local state variable, lane (seed, or seed and G) innermost, so
  one visit of an edge serves every lane with contiguous loads. Wong-Wang nodes use variables
  0-1 (S_E, S_I), cerebellar nodes 0-3 (GrC, GoC, MLI, PC, kHz) and 4 (the Ornstein-Uhlenbeck
  background variable, dimensionless, when the preset's background is ``ou``).
- Ring buffer ``hist[C, 2 D, L]`` (flat) of the C coupled source variables (channels), D = longest
  delay + 1 steps, each state stored twice (slots ``s mod D`` and ``s mod D + D``) so that a
  delayed read is ``pos + D - delay`` without a wrap-around test. After step s the state is
  stored in slot ``s mod D``; the coupling that advances
  the state from step s-1 to s is ``c_k = sum_j w_kj x_j(s - 1 - d_kj)`` (TVB: coupling at step
  s reads the history at s - 1 - delay), computed once per step and used in both Heun stages.
  Edges are visited grouped by source channel, so each source's history stays in cache. With
  one lane, edges whose delay is at least ``BLOCK - 1`` steps are summed for ``BLOCK`` steps
  at once (the states they read are already stored and adjacent in the ring), the few shorter
  ones step by step; every coupling input is the sum of its long edges then its short ones, in
  source order, in both lane layouts (so a lane's bits do not depend on the layout).
- The local models are inlined into the loop (``inline="always"``); each step runs the Heun
  predictor for every node, then the corrector for every node, so that the processor overlaps
  the independent node evaluations.
- Stochastic Heun (tvb ``HeunStochastic`` with ``Additive``): one draw z = sigma sqrt(dt) N(0,1)
  per integrated variable per step, the same z in the predictor and the corrector; the state
  bounds (preset ``bounds``) are applied by clipping after each stage.
- Mossy background (MODEL.md §4; published code ``parallel_crbl_multimf_ww.py``: a state
  variable ``noise`` with ``d noise/dt = -noise / tau_OU`` driven by the same additive noise as
  every state variable, entering the mossy input of GrC and GoC as ``weight_noise * noise``):
  ``mf_total = mf + weight * ou`` (kind ``ou``), ``mf + mean`` (``constant``) or ``mf``
  (``none``), evaluated at each Heun stage from that stage's state.

The local models are :func:`cmftvb.models.wongwang.dfun` and :func:`cmftvb.models.crbl.dfun`,
compiled into this loop. Numba's on-disk cache does not track functions inlined from other
modules, so :func:`_guard_cache` flushes this module's cache when the model sources change.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cmftvb import _jitcache
from cmftvb.models import crbl, wongwang

KIND_WW = 0
KIND_CRBL = 1
BG_NONE = 0
BG_OU = 1
BG_CONSTANT = 2
MON_RAW = 0
MON_MEAN = 1
#: steps of long-edge coupling computed at once (edges with delay >= BLOCK - 1 steps)
BLOCK = 8


@njit(cache=True, error_model="numpy")
def run_steps(
    x,
    hist,
    D,
    state_i,
    cin,
    noise,
    n_steps,
    dt,
    sig_sqdt,
    kind,
    noff,
    ch_node,
    ch_var,
    el_base,
    el_slot,
    el_w,
    es_base,
    es_slot,
    es_w,
    pw,
    pc,
    lo,
    hi,
    bg,
    mon_mode,
    every,
    acc,
    outslot,
    mon,
    err,
):
    """Advance ``n_steps`` steps in place; returns the number of steps completed.

    ``hist``: flat ring buffer ``[C, 2 D, L]`` (D = longest delay + 1) holding every state
    twice (slots ``s mod D`` and ``s mod D + D``) so that a delayed read needs no wrap-around
    test. ``state_i`` (int64[3]): [last completed global step, ring slot of that step, next
    monitor sample]. ``cin``: flat ``[N, 2, L]`` scratch for the coupling inputs (slot = node * 2
    + input). ``noise[L, S, M]`` standard normals, ``noff[k]`` node k's first noise column.
    Edges in source order, split into long (``el_*``, delay >= ``BLOCK`` - 1 steps) and short
    (``es_*``): ``*_base`` = channel * 2D + D - delay, ``*_slot`` = target * 2 + input (both
    uint32), ``*_w`` weight; each coupling input sums the long edges, then the short ones.
    Channel c is variable ``ch_var[c]`` of node ``ch_node[c]``. ``pw[L, :]``: Wong-Wang
    parameters per lane, ``pc`` cerebellar parameters; ``lo``/``hi[N, V]`` bounds; ``bg`` =
    [kind, weight (kHz), mean (kHz), tau (ms)].
    Monitors: compact samples ``mon[L, T, S]``, column ``outslot[k, v]`` for variable v of node
    k (-1: not monitored, e.g. the background); ``acc[N, V, L]`` running sums of the ``mean``
    monitor. On a non-finite state ``err`` = [step, node, variable, lane] and the function
    returns early.
    """
    N, V, L = x.shape
    C = ch_node.size
    D2 = 2 * D
    T = mon.shape[1]
    bg_kind = int(bg[0])
    bg_w = bg[1]
    bg_mean = bg[2]
    inv_tau_ou = 1.0 / bg[3]
    half_dt = 0.5 * dt
    step = state_i[0]
    pos = state_i[1]
    tmon = state_i[2]
    inv_every = 1.0 / every
    uB = np.uint64(BLOCK)
    cblk = np.empty(cin.size * BLOCK if L == 1 else 0)  # long-edge coupling of a block
    p0 = pw[0]  # the Wong-Wang parameters of a single lane (no view per node and step)
    dsc = np.empty((N, V, L))  # Heun scratch: first-stage derivatives
    asc = np.empty((N, V, L))  # Heun scratch: predictor states (bounds applied)
    for i in range(n_steps):
        step += 1
        # delayed coupling, from the history up to step - 1: edges with a delay >= BLOCK - 1
        # ("long", most of them) first, then the short ones, each set in source order.
        # Unsigned indices spare numba's negative-index wrap-around test on every load.
        upos = np.uint64(pos)
        if L == 1:
            # long edges for BLOCK steps at once: the states they read for steps
            # step .. step + BLOCK - 1 (at most step - 1) are all stored already, and adjacent
            # in the ring (pos + e_base + t never wraps for delay >= BLOCK - 1)
            t_blk = (step - 1) % BLOCK
            if t_blk == 0:
                for q in range(cblk.size):
                    cblk[q] = 0.0
                for e in range(el_base.size):
                    hb = upos + el_base[e]
                    cb = el_slot[e] * uB
                    w = el_w[e]
                    for t in range(BLOCK):
                        ut = np.uint64(t)
                        cblk[cb + ut] += w * hist[hb + ut]
            elif i == 0:  # a chunk that starts inside a block: its remaining steps only
                for q in range(cblk.size):
                    cblk[q] = 0.0
                for e in range(el_base.size):
                    hb = upos + el_base[e]
                    cb = el_slot[e] * uB
                    w = el_w[e]
                    for t in range(t_blk, BLOCK):
                        ut = np.uint64(t)
                        cblk[cb + ut] += w * hist[hb + ut - np.uint64(t_blk)]
            for q in range(cin.size):
                cin[q] = cblk[q * BLOCK + t_blk]
            for e in range(es_base.size):
                cin[es_slot[e]] += es_w[e] * hist[upos + es_base[e]]
        else:
            for q in range(cin.size):
                cin[q] = 0.0
            uL = np.uint64(L)
            for part in range(2):
                eb = el_base if part == 0 else es_base
                es = el_slot if part == 0 else es_slot
                ew = el_w if part == 0 else es_w
                for e in range(eb.size):
                    hb = (upos + eb[e]) * uL
                    cb = es[e] * uL
                    w = ew[e]
                    ln = np.uint64(0)
                    while ln + np.uint64(8) <= uL:  # blocks of 8 lanes, unrolled (vectorised)
                        a = cb + ln
                        b = hb + ln
                        cin[a] += w * hist[b]
                        cin[a + np.uint64(1)] += w * hist[b + np.uint64(1)]
                        cin[a + np.uint64(2)] += w * hist[b + np.uint64(2)]
                        cin[a + np.uint64(3)] += w * hist[b + np.uint64(3)]
                        cin[a + np.uint64(4)] += w * hist[b + np.uint64(4)]
                        cin[a + np.uint64(5)] += w * hist[b + np.uint64(5)]
                        cin[a + np.uint64(6)] += w * hist[b + np.uint64(6)]
                        cin[a + np.uint64(7)] += w * hist[b + np.uint64(7)]
                        ln += np.uint64(8)
                    while ln < uL:
                        cin[cb + ln] += w * hist[hb + ln]
                        ln += np.uint64(1)
        # stochastic Heun in two sweeps over the nodes (the local models only see their own
        # node): first every predictor, then every corrector. Each sweep is a run of independent
        # node evaluations the processor overlaps, where one node's predictor -> corrector chain
        # would wait on its own transcendentals. Arithmetic per node is unchanged.
        for k in range(N):
            o = noff[k]
            if kind[k] == KIND_WW:
                for ln in range(L):
                    c = cin[2 * k * L + ln]
                    p = p0 if L == 1 else pw[ln]
                    s0 = x[k, 0, ln]
                    s1 = x[k, 1, ln]
                    d0, d1 = wongwang.dfun(s0, s1, c, p)
                    a0 = s0 + dt * d0 + sig_sqdt * noise[ln, i, o]
                    a1 = s1 + dt * d1 + sig_sqdt * noise[ln, i, o + 1]
                    a0 = min(max(a0, lo[k, 0]), hi[k, 0]) if np.isfinite(a0) else a0
                    a1 = min(max(a1, lo[k, 1]), hi[k, 1]) if np.isfinite(a1) else a1
                    dsc[k, 0, ln] = d0
                    dsc[k, 1, ln] = d1
                    asc[k, 0, ln] = a0
                    asc[k, 1, ln] = a1
            else:
                for ln in range(L):
                    mf = cin[2 * k * L + ln]
                    pf = cin[(2 * k + 1) * L + ln]
                    g0 = x[k, 0, ln]
                    g1 = x[k, 1, ln]
                    g2 = x[k, 2, ln]
                    g3 = x[k, 3, ln]
                    if bg_kind == BG_OU:
                        u = x[k, 4, ln]
                        zu = sig_sqdt * noise[ln, i, o + 4]
                        b = bg_w * u
                    elif bg_kind == BG_CONSTANT:
                        u = 0.0
                        zu = 0.0
                        b = bg_mean
                    else:
                        u = 0.0
                        zu = 0.0
                        b = 0.0
                    d0, d1, d2, d3 = crbl.dfun(g0, g1, g2, g3, mf + b, pf, pc)
                    du = -u * inv_tau_ou
                    a0 = g0 + dt * d0 + sig_sqdt * noise[ln, i, o]
                    a1 = g1 + dt * d1 + sig_sqdt * noise[ln, i, o + 1]
                    a2 = g2 + dt * d2 + sig_sqdt * noise[ln, i, o + 2]
                    a3 = g3 + dt * d3 + sig_sqdt * noise[ln, i, o + 3]
                    au = u + dt * du + zu
                    a0 = min(max(a0, lo[k, 0]), hi[k, 0]) if np.isfinite(a0) else a0
                    a1 = min(max(a1, lo[k, 1]), hi[k, 1]) if np.isfinite(a1) else a1
                    a2 = min(max(a2, lo[k, 2]), hi[k, 2]) if np.isfinite(a2) else a2
                    a3 = min(max(a3, lo[k, 3]), hi[k, 3]) if np.isfinite(a3) else a3
                    dsc[k, 0, ln] = d0
                    dsc[k, 1, ln] = d1
                    dsc[k, 2, ln] = d2
                    dsc[k, 3, ln] = d3
                    dsc[k, 4, ln] = du
                    asc[k, 0, ln] = a0
                    asc[k, 1, ln] = a1
                    asc[k, 2, ln] = a2
                    asc[k, 3, ln] = a3
                    asc[k, 4, ln] = au
        for k in range(N):
            o = noff[k]
            if kind[k] == KIND_WW:
                for ln in range(L):
                    a0 = asc[k, 0, ln]
                    a1 = asc[k, 1, ln]
                    if not (np.isfinite(a0) and np.isfinite(a1)):
                        err[0] = step
                        err[1] = k
                        err[2] = 0 if not np.isfinite(a0) else 1
                        err[3] = ln
                        state_i[0] = step
                        return i + 1
                    c = cin[2 * k * L + ln]
                    p = p0 if L == 1 else pw[ln]
                    s0 = x[k, 0, ln]
                    s1 = x[k, 1, ln]
                    z0 = sig_sqdt * noise[ln, i, o]
                    z1 = sig_sqdt * noise[ln, i, o + 1]
                    e0, e1 = wongwang.dfun(a0, a1, c, p)
                    n0 = s0 + half_dt * (dsc[k, 0, ln] + e0) + z0
                    n1 = s1 + half_dt * (dsc[k, 1, ln] + e1) + z1
                    n0 = min(max(n0, lo[k, 0]), hi[k, 0]) if np.isfinite(n0) else n0
                    n1 = min(max(n1, lo[k, 1]), hi[k, 1]) if np.isfinite(n1) else n1
                    x[k, 0, ln] = n0
                    x[k, 1, ln] = n1
                    if not (np.isfinite(n0) and np.isfinite(n1)):
                        err[0] = step
                        err[1] = k
                        err[2] = 0 if not np.isfinite(n0) else 1
                        err[3] = ln
                        state_i[0] = step
                        return i + 1
            else:
                for ln in range(L):
                    a0 = asc[k, 0, ln]
                    a1 = asc[k, 1, ln]
                    a2 = asc[k, 2, ln]
                    a3 = asc[k, 3, ln]
                    au = asc[k, 4, ln]
                    bad = -1
                    if not np.isfinite(a0):
                        bad = 0
                    elif not np.isfinite(a1):
                        bad = 1
                    elif not np.isfinite(a2):
                        bad = 2
                    elif not np.isfinite(a3):
                        bad = 3
                    elif not np.isfinite(au):
                        bad = 4
                    if bad >= 0:
                        err[0] = step
                        err[1] = k
                        err[2] = bad
                        err[3] = ln
                        state_i[0] = step
                        return i + 1
                    mf = cin[2 * k * L + ln]
                    pf = cin[(2 * k + 1) * L + ln]
                    if bg_kind == BG_OU:
                        u = x[k, 4, ln]
                        zu = sig_sqdt * noise[ln, i, o + 4]
                        b = bg_w * au
                    elif bg_kind == BG_CONSTANT:
                        u = 0.0
                        zu = 0.0
                        b = bg_mean
                    else:
                        u = 0.0
                        zu = 0.0
                        b = 0.0
                    e0, e1, e2, e3 = crbl.dfun(a0, a1, a2, a3, mf + b, pf, pc)
                    eu = -au * inv_tau_ou
                    n0 = x[k, 0, ln] + half_dt * (dsc[k, 0, ln] + e0) + sig_sqdt * noise[ln, i, o]
                    n1 = (
                        x[k, 1, ln]
                        + half_dt * (dsc[k, 1, ln] + e1)
                        + sig_sqdt * noise[ln, i, o + 1]
                    )
                    n2 = (
                        x[k, 2, ln]
                        + half_dt * (dsc[k, 2, ln] + e2)
                        + sig_sqdt * noise[ln, i, o + 2]
                    )
                    n3 = (
                        x[k, 3, ln]
                        + half_dt * (dsc[k, 3, ln] + e3)
                        + sig_sqdt * noise[ln, i, o + 3]
                    )
                    nu = u + half_dt * (dsc[k, 4, ln] + eu) + zu
                    n0 = min(max(n0, lo[k, 0]), hi[k, 0]) if np.isfinite(n0) else n0
                    n1 = min(max(n1, lo[k, 1]), hi[k, 1]) if np.isfinite(n1) else n1
                    n2 = min(max(n2, lo[k, 2]), hi[k, 2]) if np.isfinite(n2) else n2
                    n3 = min(max(n3, lo[k, 3]), hi[k, 3]) if np.isfinite(n3) else n3
                    x[k, 0, ln] = n0
                    x[k, 1, ln] = n1
                    x[k, 2, ln] = n2
                    x[k, 3, ln] = n3
                    if bg_kind == BG_OU:
                        x[k, 4, ln] = nu
                    bad = -1
                    if not np.isfinite(n0):
                        bad = 0
                    elif not np.isfinite(n1):
                        bad = 1
                    elif not np.isfinite(n2):
                        bad = 2
                    elif not np.isfinite(n3):
                        bad = 3
                    elif not np.isfinite(nu):
                        bad = 4
                    if bad >= 0:
                        err[0] = step
                        err[1] = k
                        err[2] = bad
                        err[3] = ln
                        state_i[0] = step
                        return i + 1
        # history of the coupled variables (each state twice: slots pos and pos + D)
        pos += 1
        if pos == D:
            pos = 0
        for ch in range(C):
            kk = ch_node[ch]
            vv = ch_var[ch]
            h0 = (ch * D2 + pos) * L
            h1 = h0 + D * L
            for ln in range(L):
                hist[h0 + ln] = x[kk, vv, ln]
                hist[h1 + ln] = x[kk, vv, ln]
        # streaming monitors
        if mon_mode == MON_MEAN:
            for k in range(N):
                for v in range(V):
                    for ln in range(L):
                        acc[k, v, ln] += x[k, v, ln]
        if step % every == 0 and tmon < T:
            for k in range(N):
                for v in range(V):
                    r = outslot[k, v]
                    for ln in range(L):
                        if mon_mode == MON_MEAN:
                            val = acc[k, v, ln] * inv_every
                            acc[k, v, ln] = 0.0
                        else:
                            val = x[k, v, ln]
                        if r >= 0:
                            mon[ln, tmon, r] = val
            tmon += 1
    state_i[0] = step
    state_i[1] = pos
    state_i[2] = tmon
    return n_steps


def _guard_cache() -> None:
    """Flush ``run_steps``'s on-disk cache when the model kernels compiled into it changed.

    Numba keys a cached function on its own source file only; see :mod:`cmftvb._jitcache`.
    """
    _jitcache.guard(run_steps, [wongwang, crbl])


_guard_cache()
