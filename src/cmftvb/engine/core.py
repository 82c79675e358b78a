"""The compiled integration loop: one numba function for a heterogeneous network.

Conventions follow tvb-library 2.10 (docs/TVB-CONVENTIONS.md), in float64:

- State ``x[V, N, L]``: local state variable, node, lane (seed, or seed and G) innermost.
  Wong-Wang nodes use variables 0-1 (S_E, S_I), cerebellar nodes 0-3 (GrC, GoC, MLI, PC, kHz)
  and 4 (the Ornstein-Uhlenbeck background variable, dimensionless, when the preset's
  background is ``ou``). Variable-major, so that the lanes of a run of consecutive nodes of one
  model (``runs``) are one contiguous range per variable: the local models sweep a run in one
  loop of (nodes x lanes) iterations, which the compiler vectorises (SIMD over lanes and
  nodes). The coupling inputs ``cin[2, N, L]`` share that layout.
- Ring buffer ``hist[C, 2 D, L]`` (flat) of the C coupled source variables (channels), D = longest
  delay + 1 steps, each state stored twice (slots ``s mod D`` and ``s mod D + D``) so that a
  delayed read is ``pos + D - delay`` without a wrap-around test. After step s the state is
  stored in slot ``s mod D``; the coupling that advances
  the state from step s-1 to s is ``c_k = sum_j w_kj x_j(s - 1 - d_kj)`` (TVB: coupling at step
  s reads the history at s - 1 - delay), computed once per step and used in both Heun stages.
  Edges are visited grouped by source channel, so each source's history stays in cache. Edges
  whose delay is at least ``BLOCK - 1`` steps are summed for ``BLOCK`` steps at once (the states
  they read are already stored and adjacent in the ring: one contiguous run of BLOCK x L values
  per edge), two edges of two consecutive channels into one target in one pass (one load and
  store of the running sum for both, :func:`cmftvb.engine.numba_runner._long_pairs`), the few
  shorter ones step by step; every coupling input is the sum of its long edges then its short
  ones, in source order, whatever the number of lanes (so a lane's bits do not depend on its
  batch). Without long edges the coupling of a step starts at +0 (no block). When the short
  edges are many (a network without delays: every edge is short), they are summed as a dense
  matrix, rows (channel, delay) in channel order by columns (target inputs), SIMD over the
  targets, eight rows per pass with one lane; the same sums in the same order,
  so bitwise the sparse path's (:func:`cmftvb.engine.numba_runner._dense_short`).
- The local models are inlined into the loop (``inline="always"``); each step runs the Heun
  predictor for every node, then the corrector for every node. The Wong-Wang model uses
  :mod:`cmftvb._vmath`'s exp (no library call), the sweeps index 1-d arrays with unsigned
  offsets and have no early exit, so LLVM turns the Wong-Wang sweeps into SIMD code; a lane
  computes the same IEEE operations whether it runs alone (scalar code) or in a batch (SIMD
  code), so its result is bitwise the same. The cerebellar sweep uses _vmath's sqrt, log and
  erfc (plain arithmetic) and runs SIMD once a run has more than about 12 (node, lane) pairs
  (see :func:`_crbl_stage`); the runner sweeps the nodes in an engine order that makes every
  cerebellar node one run, padded to whole vectors
  (:func:`cmftvb.engine.numba_runner.node_order`).
- Stochastic Heun (tvb ``HeunStochastic`` with ``Additive``): one draw z = sigma sqrt(dt) N(0,1)
  per integrated variable per step, the same z in the predictor and the corrector; the state
  bounds (preset ``bounds``, the same for every node of a model) are applied by clipping after
  each stage. The normals are computed in the predictor sweep itself, from the counter-based
  generator of :mod:`cmftvb.engine.rng` (Philox4x32-10 and Box-Muller, keyed per lane, counted
  by step, node and variable pair), so the Wong-Wang sweep draws them in SIMD code too.
- Mossy background (MODEL.md §4; published code ``parallel_crbl_multimf_ww.py``: a state
  variable ``noise`` with ``d noise/dt = -noise / tau_OU`` driven by the same additive noise as
  every state variable, entering the mossy input of GrC and GoC as ``weight_noise * noise``):
  ``mf_total = mf + weight * ou`` (kind ``ou``), ``mf + mean`` (``constant``) or ``mf``
  (``none``), evaluated at each Heun stage from that stage's state.

The local models are the Wong-Wang rates with a per-node J_i
(:func:`cmftvb.models.wongwang.rates_gj`, with :func:`cmftvb.models.wongwang.dfun_rates`) and
:func:`cmftvb.models.crbl.dfun`, compiled into this loop. Numba's on-disk cache does not track
functions inlined from other modules, so :func:`_guard_cache` flushes this module's cache when
the model sources change.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cmftvb import _jitcache
from cmftvb import _vmath as vmath
from cmftvb.engine import rng
from cmftvb.models import crbl, wongwang

KIND_WW = 0
KIND_CRBL = 1
BG_NONE = 0
BG_OU = 1
BG_CONSTANT = 2
MON_RAW = 0
MON_MEAN = 1
#: steps of long-edge coupling computed at once (edges with delay >= BLOCK - 1 steps)
BLOCK = 32
#: noise draw pairs (counter word 3): variables 0-1, 2-3, 4 of a node
_P0 = np.uint64(0)
_P1 = np.uint64(1)
_P2 = np.uint64(2)
_ONE = np.uint64(1)


@njit(cache=True, error_model="numpy")
def run_steps(n_steps, dt, state, net, par, noise, monitor):
    """Advance ``n_steps`` steps of ``dt`` ms in place; returns the number of steps completed.

    Arguments are packed by role (tuples, built by :mod:`cmftvb.engine.numba_runner`):

    - ``state = (x, hist, state_i, cin, cblk, err)``, the mutable state of a group of lanes:
      ``x[V, N, L]`` (module docstring); ``hist`` the flat ring buffer ``[C, 2 D, L]``;
      ``state_i`` (int64[3]) = [last completed global step, ring slot of that step, next
      monitor sample]; ``cin`` flat ``[2, N, L]`` coupling inputs (slot = input * N + node);
      ``cblk`` flat ``[2 N, BLOCK, L]`` long-edge coupling of a block; on a non-finite state
      ``err`` = [step, node, variable, lane] and the function returns early.
    - ``net = (D, runs, ch_node, ch_var, el_base, el_slot, el_w, es_base, es_slot, es_w,
      ed_base, ed_slot, ed_w)``:
      D = longest delay + 1 steps; ``runs[R, 3]`` = [first node, end node, kind] of each run of
      consecutive nodes of one model; channel c is variable ``ch_var[c]`` of node
      ``ch_node[c]``; edges in source order, split into long (``el_*``, delay >= ``BLOCK`` - 1
      steps) and short (``es_*``): ``*_base`` = channel * 2D + D - delay, ``*_slot`` = target
      input slot (both uint32), ``*_w`` weight; the long edges as P pairs into one target
      (``el_base[2 P]``, ``el_slot[P]``, ``el_w[2 P]``; a pad of weight 0 completes a lone
      edge); then ``ed_base, ed_slot, ed_w``: the short edges as a dense matrix instead
      (``es_*`` then empty; a network without delays): row r reads the history at base
      ``ed_base[r]``, column t is input slot ``ed_slot[t]``, ``ed_w[r * T + t]`` the weight
      (0: no edge), rows in channel order.
    - ``par = (pw, lq, pc, lo, hi, bg)``: Wong-Wang parameters ``pw`` (its G and J_i entries
      unread), ``lq`` flat ``[2, N, L]``: the G and the J_i (nA) of each (node, lane) (one
      array: one pointer less for the vectoriser's run-time overlap checks than two),
      ``pc`` cerebellar parameters, ``lo``/``hi[2, 5]`` bounds per model kind and variable,
      ``bg`` = [kind, weight (kHz), mean (kHz), tau (ms)].
    - ``noise = (qnode, qk0, qk1, sig_sqdt)``: the node and the lane's Philox key words of each
      (node, lane) pair (uint64 ``[N L]``; draws from :func:`cmftvb.engine.rng.normal_pair`),
      and sigma sqrt(dt).
    - ``monitor = (mode, every, acc, rt, accr, outslot, rslot, mon)``: compact samples
      ``mon[L, T, S]`` every ``every`` steps, column ``outslot[k, v]`` for variable v of node k
      and ``rslot[k, j]`` for rate j (-1: not monitored); ``rt[2, N, L]`` the Wong-Wang rates
      H_E, H_I (Hz) of the predictor evaluation of the last step (the state at t - dt with the
      coupling of step t); ``acc`` (layout of x) and ``accr`` (of rt) the running sums of the
      ``mean`` monitor.
    """
    x, hist, state_i, cin, cblk, err = state
    D, runs, ch_node, ch_var, el_base, el_slot, el_w, es_base, es_slot, es_w = net[:10]
    ed_base, ed_slot, ed_w = net[10:]
    pw, lq, pc, lo, hi, bg = par
    qnode, qk0, qk1, sig_sqdt = noise
    mon_mode, every, acc, rt, accr, outslot, rslot, mon = monitor
    V, N, L = x.shape
    C = ch_node.size
    D2 = 2 * D
    T = mon.shape[1]
    bg_kind = int(bg[0])
    is_ou = bg_kind == BG_OU
    bg_w = bg[1]
    bg_c = bg[2] if bg_kind == BG_CONSTANT else 0.0  # constant background (kHz), else 0
    inv_tau_ou = 1.0 / bg[3]
    half_dt = 0.5 * dt
    step = state_i[0]
    pos = state_i[1]
    tmon = state_i[2]
    inv_every = 1.0 / every
    uL = np.uint64(L)
    uBL = np.uint64(BLOCK * L)
    uNL = np.uint64(N * L)  # offset of the next variable (or input)
    uBLOCK = np.uint64(BLOCK)
    uD = np.uint64(D)
    uD2 = np.uint64(D2)
    ch_src = np.empty(C, dtype=np.uint64)  # state index (variable, node) of each channel
    for ch in range(C):
        ch_src[ch] = np.uint64(ch_var[ch] * N + ch_node[ch])
    nrow = ed_base.size
    nT = ed_slot.size
    unT = np.uint64(nT)
    dacc = np.empty(nT * L)  # dense short-edge coupling of each target slot
    dsc = np.empty(V * N * L)  # Heun scratch: first-stage derivatives (layout of x)
    asc = np.empty(V * N * L)  # Heun scratch: predictor states (bounds applied)
    zsc = np.zeros(V * N * L)  # Heun scratch: the step's noise, sigma sqrt(dt) z
    xf = x.reshape(-1)
    rtf = rt.reshape(-1)
    accf = acc.reshape(-1)
    accrf = accr.reshape(-1)
    w_lo0, w_hi0, w_lo1, w_hi1 = lo[KIND_WW, 0], hi[KIND_WW, 0], lo[KIND_WW, 1], hi[KIND_WW, 1]
    # cerebellar bounds: lo, hi of variables 0-3, as values (read once)
    clim = (
        lo[KIND_CRBL, 0], hi[KIND_CRBL, 0], lo[KIND_CRBL, 1], hi[KIND_CRBL, 1],
        lo[KIND_CRBL, 2], hi[KIND_CRBL, 2], lo[KIND_CRBL, 3], hi[KIND_CRBL, 3],
    )  # fmt: skip
    bufs = (N * L, xf, cin, dsc, asc, zsc)  # for _crbl_stage
    cpar = (pc, clim, is_ou, bg_w, bg_c, inv_tau_ou)
    for i in range(n_steps):
        step += 1
        # delayed coupling, from the history up to step - 1: edges with a delay >= BLOCK - 1
        # ("long", most of them) for BLOCK steps at once: the states they read for steps
        # step .. step + BLOCK - 1 (at most step - 1) are all stored already, and adjacent in
        # the ring (pos + e_base + t never wraps), so one visit of an edge reads one contiguous
        # run of BLOCK x L values. Then the few short edges, step by step. Each set in source
        # order, whatever L. Unsigned indices spare numba's negative-index wrap-around test.
        upos = np.uint64(pos)
        t_blk = (step - 1) % BLOCK
        if el_slot.size == 0:  # no long edges (no delays): the coupling starts at +0
            for q in range(cin.size):
                cin[q] = 0.0
        else:
            if t_blk == 0 or i == 0:
                t0 = t_blk if i == 0 else 0  # a chunk that starts inside a block: its steps only
                ut0 = np.uint64(t0 * L)
                nq = (BLOCK - t0) * L
                for q in range(cblk.size):
                    cblk[q] = 0.0
                for e in range(el_slot.size):  # edge pairs: two sources, one target
                    k = np.uint64(2 * e)
                    hb0 = (upos + el_base[k]) * uL
                    hb1 = (upos + el_base[k + _ONE]) * uL
                    cb = el_slot[e] * uBL + ut0
                    w0 = el_w[k]
                    w1 = el_w[k + _ONE]
                    for q in range(nq):  # the two additions in edge order: one load and store
                        uq = np.uint64(q)
                        a = cblk[cb + uq] + w0 * hist[hb0 + uq]
                        cblk[cb + uq] = a + w1 * hist[hb1 + uq]
            if L == 1:  # one lane: a strided copy without an inner loop (half the time)
                ut_blk = np.uint64(t_blk)
                for q in range(2 * N):
                    uq = np.uint64(q)
                    cin[uq] = cblk[uq * uBLOCK + ut_blk]
            else:
                for q in range(2 * N):
                    src = (q * BLOCK + t_blk) * L
                    for ln in range(L):
                        cin[q * L + ln] = cblk[src + ln]
        for e in range(es_base.size):
            hb = (upos + es_base[e]) * uL
            cb = es_slot[e] * uL
            w = es_w[e]
            for ln in range(L):
                uln = np.uint64(ln)
                cin[cb + uln] += w * hist[hb + uln]
        if nrow > 0:  # short edges as a dense matrix: SIMD over targets (and lanes)
            if L == 1:
                for t in range(nT):
                    dacc[t] = cin[ed_slot[t]]
            else:
                for t in range(nT):
                    cb = ed_slot[t] * uL
                    for ln in range(L):
                        dacc[t * L + ln] = cin[cb + np.uint64(ln)]
            r0 = 0
            if L == 1:  # eight rows per pass over the targets: an eighth of the dacc traffic
                for r0 in range(0, nrow - 7, 8):
                    x0 = hist[upos + ed_base[r0]]
                    x1 = hist[upos + ed_base[r0 + 1]]
                    x2 = hist[upos + ed_base[r0 + 2]]
                    x3 = hist[upos + ed_base[r0 + 3]]
                    x4 = hist[upos + ed_base[r0 + 4]]
                    x5 = hist[upos + ed_base[r0 + 5]]
                    x6 = hist[upos + ed_base[r0 + 6]]
                    x7 = hist[upos + ed_base[r0 + 7]]
                    w0 = np.uint64(r0 * nT)
                    w1 = w0 + unT
                    w2 = w1 + unT
                    w3 = w2 + unT
                    w4 = w3 + unT
                    w5 = w4 + unT
                    w6 = w5 + unT
                    w7 = w6 + unT
                    for t in range(nT):
                        ut = np.uint64(t)
                        a = dacc[ut] + ed_w[w0 + ut] * x0  # rows in order, as the sparse path
                        a = a + ed_w[w1 + ut] * x1
                        a = a + ed_w[w2 + ut] * x2
                        a = a + ed_w[w3 + ut] * x3
                        a = a + ed_w[w4 + ut] * x4
                        a = a + ed_w[w5 + ut] * x5
                        a = a + ed_w[w6 + ut] * x6
                        dacc[ut] = a + ed_w[w7 + ut] * x7
                r0 = nrow - nrow % 8
            for r in range(r0, nrow):
                hb = (upos + ed_base[r]) * uL
                wr = np.uint64(r * nT)
                if L == 1:
                    xv = hist[hb]
                    for t in range(nT):
                        dacc[t] += ed_w[wr + np.uint64(t)] * xv
                else:
                    for t in range(nT):
                        w = ed_w[wr + np.uint64(t)]
                        for ln in range(L):
                            dacc[t * L + ln] += w * hist[hb + np.uint64(ln)]
            if L == 1:
                for t in range(nT):
                    cin[ed_slot[t]] = dacc[t]
            else:
                for t in range(nT):
                    cb = ed_slot[t] * uL
                    for ln in range(L):
                        cin[cb + np.uint64(ln)] = dacc[t * L + ln]
        # stochastic Heun in two sweeps (the local models only see their own node): every
        # predictor, then every corrector. Each run of nodes of one model is one loop over
        # (node, lane) pairs q: variable v at v N L + q, input j at j N L + q.
        nbad = 0
        ustep = np.uint64(step)  # the noise counter: (step, node, pair)
        for r in range(runs.shape[0]):
            q0 = runs[r, 0] * L
            q1 = runs[r, 1] * L
            if runs[r, 2] == KIND_WW:
                for q in range(q0, q1):
                    u = np.uint64(q)
                    c = cin[u]
                    s0 = xf[u]
                    s1 = xf[uNL + u]
                    h_e, h_i = wongwang.rates_gj(s0, s1, c, lq[u], lq[uNL + u], pw)
                    d0, d1 = wongwang.dfun_rates(s0, s1, h_e, h_i, pw)
                    z0, z1 = rng.normal_pair(ustep, qnode[u], _P0, qk0[u], qk1[u])
                    z0 = sig_sqdt * z0
                    z1 = sig_sqdt * z1
                    a0 = s0 + dt * d0 + z0
                    a1 = s1 + dt * d1 + z1
                    a0 = _clip(a0, w_lo0, w_hi0)
                    a1 = _clip(a1, w_lo1, w_hi1)
                    dsc[u] = d0
                    dsc[uNL + u] = d1
                    zsc[u] = z0
                    zsc[uNL + u] = z1
                    asc[u] = a0
                    asc[uNL + u] = a1
                    rtf[u] = h_e
                    rtf[uNL + u] = h_i
                    # x - x is 0 for a finite x and NaN otherwise (no branch)
                    nbad += vmath.select((a0 - a0) + (a1 - a1) == 0.0, 0, 1)
            else:
                nbad += _crbl_stage(0, q0, q1, ustep, dt, bufs, noise, cpar)
        if nbad > 0:
            _report(asc, runs, V, N, L, step, err)
            state_i[0] = step
            return i + 1
        for r in range(runs.shape[0]):
            q0 = runs[r, 0] * L
            q1 = runs[r, 1] * L
            if runs[r, 2] == KIND_WW:
                for q in range(q0, q1):
                    u = np.uint64(q)
                    a0 = asc[u]
                    a1 = asc[uNL + u]
                    c = cin[u]
                    z0 = zsc[u]
                    z1 = zsc[uNL + u]
                    h_e, h_i = wongwang.rates_gj(a0, a1, c, lq[u], lq[uNL + u], pw)
                    e0, e1 = wongwang.dfun_rates(a0, a1, h_e, h_i, pw)
                    n0 = xf[u] + half_dt * (dsc[u] + e0) + z0
                    n1 = xf[uNL + u] + half_dt * (dsc[uNL + u] + e1) + z1
                    n0 = _clip(n0, w_lo0, w_hi0)
                    n1 = _clip(n1, w_lo1, w_hi1)
                    xf[u] = n0
                    xf[uNL + u] = n1
                    nbad += vmath.select((n0 - n0) + (n1 - n1) == 0.0, 0, 1)
            else:
                nbad += _crbl_stage(1, q0, q1, ustep, half_dt, bufs, noise, cpar)
        if nbad > 0:
            _report(xf, runs, V, N, L, step, err)
            state_i[0] = step
            return i + 1
        # history of the coupled variables (each state twice: slots pos and pos + D)
        pos += 1
        if pos == D:
            pos = 0
        if L == 1:  # one lane: no inner loop, the source index read once (7x faster)
            upos1 = np.uint64(pos)
            for ch in range(C):
                uc = np.uint64(ch)
                h0 = uc * uD2 + upos1
                xv = xf[ch_src[uc]]
                hist[h0] = xv
                hist[h0 + uD] = xv
        else:
            for ch in range(C):
                h0 = (ch * D2 + pos) * L
                h1 = h0 + D * L
                xs = (ch_var[ch] * N + ch_node[ch]) * L
                for ln in range(L):
                    hist[h0 + ln] = xf[xs + ln]
                    hist[h1 + ln] = xf[xs + ln]
        # streaming monitors
        if mon_mode == MON_MEAN:  # acc / accr have the layout of x / rt
            for q in range(xf.size):
                accf[q] += xf[q]
            for q in range(rtf.size):
                accrf[q] += rtf[q]
        if step % every == 0 and tmon < T:
            for k in range(N):
                for v in range(V + 2):
                    col = outslot[k, v] if v < V else rslot[k, v - V]
                    if col < 0:
                        continue
                    for ln in range(L):
                        if v < V:
                            j = (v * N + k) * L + ln
                            val = accf[j] * inv_every if mon_mode == MON_MEAN else xf[j]
                        else:
                            j = ((v - V) * N + k) * L + ln
                            val = accrf[j] * inv_every if mon_mode == MON_MEAN else rtf[j]
                        mon[ln, tmon, col] = val
            if mon_mode == MON_MEAN:  # restart every running sum for the next period
                for q in range(accf.size):
                    accf[q] = 0.0
                for q in range(accrf.size):
                    accrf[q] = 0.0
            tmon += 1
    state_i[0] = step
    state_i[1] = pos
    state_i[2] = tmon
    return n_steps


@njit(cache=True, error_model="numpy", inline="always")
def _clip(a, lo, hi):
    """``a`` clipped to [lo, hi] when finite; a non-finite value passes unchanged (the runner
    reports it). Branch-free: one select (:func:`cmftvb._vmath.select`)."""
    return vmath.select(np.isfinite(a), vmath.fmin(vmath.fmax(a, lo), hi), a)


@njit(cache=True, error_model="numpy", inline="always")
def _offsets(NL):
    """Offsets of variables (or inputs) 1-4 in a flat array of layout [V, N, L], NL = N L."""
    return np.uint64(NL), np.uint64(2 * NL), np.uint64(3 * NL), np.uint64(4 * NL)


@njit(cache=True, error_model="numpy")
def _crbl_stage(stage, q0, q1, ustep, h, bufs, noise, cpar):
    """One Heun stage of a run of cerebellar nodes, (node, lane) pairs q0..q1 (layout of
    :func:`run_steps`) at step ``ustep``: ``stage`` 0 the predictor (``h`` = dt; draws the
    step's noise, pairs 0 and 1 for GrC..PC and pair 2 for the background; writes dsc, asc,
    zsc), 1 the corrector (``h`` = dt / 2; updates xf). ``bufs = (NL, xf, cin, dsc, asc,
    zsc)``: N L and the flat state, coupling and Heun scratch arrays; ``noise`` as in
    :func:`run_steps`; ``cpar = (pc, clim, is_ou, bg_w, bg_c, inv_tau_ou)``: parameters,
    bounds (lo, hi of variables 0-3), background switch, weight (kHz), constant (kHz) and
    1 / tau (1/ms). Returns the number of pairs whose new state is not finite.

    Every loop here runs SIMD over (node, lane) pairs (numba 0.68, AVX2: 4 pairs per
    instruction, checked with ``inspect_asm`` and LLVM's vectoriser remarks): the noise
    (Philox and Box-Muller), and the transfer functions, whose sqrt, log and erfc are
    :mod:`cmftvb._vmath` arithmetic (no call into the C library) and whose branches the
    compiler turns into selects. A lane computes the same IEEE operations alone (scalar code,
    or the loop's scalar remainder) or in a batch, so its result is bitwise the same. Since
    erfc and log are no longer the C library's (within 3 and 2 ulp of it), the last bits of
    every cMF run differ from those of earlier versions. The parameters are read once
    (``crbl.node_params``), not inside the loops. Measured (numba 0.68, one thread, this
    loop over q pairs): about 180 ns per pair and step (both stages) from 16 pairs up, but
    the vector loop runs only above a trip count LLVM derives from its run-time overlap checks
    (between 10 and 16 pairs); below it the scalar loop runs (335 ns at 10 pairs, 470 at 7,
    against 366 and 380 with the C library's erfc). The sample subject's cerebellar nodes
    come as runs of 10, 7 and 10 nodes, so the runner sweeps them in engine order as one run
    padded to whole vectors (:func:`cmftvb.engine.numba_runner.node_order`). Populations
    without a second excitatory channel skip its terms, and the guard mode is a literal in
    each of two copies of the loops (:func:`cmftvb.models.crbl.transfer_qs`): 211 -> 178 ns
    per pair and step (216 pairs), one padded run of 28 pairs 5.5 us per step against
    10.0 us for the three runs before (one thread, this function alone in a compiled loop).

    Why the sweep used to stay scalar: erfc (about 54 of the 188 ms of CPU per simulated
    second of a cMF run went to the C library's erfc, called once per transfer function) and,
    independently, ``crbl.BASE[pop]``: indexing that global tuple compiled to a call of
    numba's ``getitem_literal_idx``, which was still an opaque call when LLVM's loop
    vectoriser ran whenever a ``cache=True`` function was the first in the process to compile
    the transfer function ("loop not vectorized: call instruction cannot be vectorized"), but
    was inlined in time when an uncached one was (the vectorised variant once seen under
    ``cache=False``). The block offset is now arithmetic, so the order no longer matters.

    Neither this function nor its two sweeps (:func:`_crbl_predict`, :func:`_crbl_correct`)
    are inlined into their callers; each sweep is compiled on its own, once per guard mode
    (a literal argument, so a constant in the compiled code). Only the model functions are
    inlined (numba's ``inline="always"``), into the sweep's loop, where LLVM needs them to
    vectorise it. Numba inlines at the level of its own IR and copies a callee's whole
    variable scope for each of its basic blocks, so the cost of compiling grows with the
    square of what one function inlines: with the sweeps inlined here and every conditional
    expression a branch, compiling the engine took 447 s (quiet machine; 887 s beside another
    compilation) and 1.47 GB; with the sweeps apart and the conditionals as selects
    (:func:`cmftvb._vmath.select`) 64 s beside another compilation (the 5-node smoke network,
    cold cache, 2026-12-07), with bitwise the same results. Inlining this function into
    :func:`run_steps` made the cMF 4 % faster (2026-12-06) but its compilation passed 12 GB.
    """
    NL, xf, cin, dsc, asc, zsc = bufs
    qnode, qk0, qk1, sig_sqdt = noise
    pc, clim, is_ou, bg_w, bg_c, inv_tau_ou = cpar
    uNL, uNL2, uNL3, uNL4 = _offsets(NL)
    # every parameter as a value, read once: no loads from pc inside the loops below (each
    # would need a run-time overlap check against every stored array; see crbl.node_params)
    prm = crbl.node_params(pc)
    # the guard mode (the same for every node) as a literal in each copy of the loop: a SIMD
    # loop computes both arms of a branch, so a run-time test would cost both guard variants
    published = prm[0][28] != 0.0  # crbl.pop_params: the last entry is p[GUARD_MODE]
    if stage == 0:
        # the step's noise first, in loops of their own: Philox and Box-Muller are plain
        # arithmetic (cmftvb._vmath), so these loops run SIMD over (node, lane) pairs; the
        # same IEEE operations either way, so the draws are bitwise those of a scalar loop
        for q in range(q0, q1):
            u = np.uint64(q)
            node, k0, k1 = qnode[u], qk0[u], qk1[u]
            z0, z1 = rng.normal_pair(ustep, node, _P0, k0, k1)
            z2, z3 = rng.normal_pair(ustep, node, _P1, k0, k1)
            zsc[u] = sig_sqdt * z0
            zsc[uNL + u] = sig_sqdt * z1
            zsc[uNL2 + u] = sig_sqdt * z2
            zsc[uNL3 + u] = sig_sqdt * z3
        if is_ou:
            for q in range(q0, q1):
                u = np.uint64(q)
                zsc[uNL4 + u] = sig_sqdt * rng.normal_pair(ustep, qnode[u], _P2, qk0[u], qk1[u])[0]
        else:
            for q in range(q0, q1):
                zsc[uNL4 + np.uint64(q)] = 0.0
        if published:
            return _crbl_predict(q0, q1, h, bufs, cpar, prm, 1)
        return _crbl_predict(q0, q1, h, bufs, cpar, prm, 0)
    if published:
        return _crbl_correct(q0, q1, h, bufs, cpar, prm, 1)
    return _crbl_correct(q0, q1, h, bufs, cpar, prm, 0)


@njit(cache=True, error_model="numpy")
def _crbl_predict(q0, q1, h, bufs, cpar, prm, mode):
    """The predictor sweep of :func:`_crbl_stage` (its noise drawn), guard ``mode`` as in
    :func:`cmftvb.models.crbl.transfer_qs` (a literal at each call: numba compiles one
    version per mode, in which it is a constant)."""
    NL, xf, cin, dsc, asc, zsc = bufs
    pc, clim, is_ou, bg_w, bg_c, inv_tau_ou = cpar
    uNL, uNL2, uNL3, uNL4 = _offsets(NL)
    c_lo0, c_hi0, c_lo1, c_hi1, c_lo2, c_hi2, c_lo3, c_hi3 = clim
    nbad = 0
    for q in range(q0, q1):
        u = np.uint64(q)
        mf = cin[u]
        pf = cin[uNL + u]
        g0 = xf[u]
        g1 = xf[uNL + u]
        g2 = xf[uNL2 + u]
        g3 = xf[uNL3 + u]
        # background: every load unconditional (no branch in the loop)
        u4 = xf[uNL4 + u]
        z0 = zsc[u]
        z1 = zsc[uNL + u]
        z2 = zsc[uNL2 + u]
        z3 = zsc[uNL3 + u]
        zu = zsc[uNL4 + u]
        ub = vmath.select(is_ou, u4, 0.0)
        b = vmath.select(is_ou, bg_w * ub, bg_c)
        d0, d1, d2, d3 = crbl.dfun_q(g0, g1, g2, g3, mf + b, pf, prm, mode)
        du = -ub * inv_tau_ou
        a0 = g0 + h * d0 + z0
        a1 = g1 + h * d1 + z1
        a2 = g2 + h * d2 + z2
        a3 = g3 + h * d3 + z3
        au = ub + h * du + zu
        a0 = _clip(a0, c_lo0, c_hi0)
        a1 = _clip(a1, c_lo1, c_hi1)
        a2 = _clip(a2, c_lo2, c_hi2)
        a3 = _clip(a3, c_lo3, c_hi3)
        dsc[u] = d0
        dsc[uNL + u] = d1
        dsc[uNL2 + u] = d2
        dsc[uNL3 + u] = d3
        dsc[uNL4 + u] = du
        asc[u] = a0
        asc[uNL + u] = a1
        asc[uNL2 + u] = a2
        asc[uNL3 + u] = a3
        asc[uNL4 + u] = au
        chk = (a0 - a0) + (a1 - a1) + (a2 - a2) + (a3 - a3) + (au - au)
        nbad += vmath.select(chk == 0.0, 0, 1)
    return nbad


@njit(cache=True, error_model="numpy")
def _crbl_correct(q0, q1, h, bufs, cpar, prm, mode):
    """The corrector sweep of :func:`_crbl_stage` (``h`` = dt / 2), guard ``mode`` as in
    :func:`_crbl_predict`."""
    NL, xf, cin, dsc, asc, zsc = bufs
    pc, clim, is_ou, bg_w, bg_c, inv_tau_ou = cpar
    uNL, uNL2, uNL3, uNL4 = _offsets(NL)
    c_lo0, c_hi0, c_lo1, c_hi1, c_lo2, c_hi2, c_lo3, c_hi3 = clim
    nbad = 0
    for q in range(q0, q1):
        u = np.uint64(q)
        a0 = asc[u]
        a1 = asc[uNL + u]
        a2 = asc[uNL2 + u]
        a3 = asc[uNL3 + u]
        au = asc[uNL4 + u]
        mf = cin[u]
        pf = cin[uNL + u]
        u4 = xf[uNL4 + u]
        ub = vmath.select(is_ou, u4, 0.0)
        zu = zsc[uNL4 + u]
        b = vmath.select(is_ou, bg_w * au, bg_c)
        e0, e1, e2, e3 = crbl.dfun_q(a0, a1, a2, a3, mf + b, pf, prm, mode)
        eu = -au * inv_tau_ou
        n0 = xf[u] + h * (dsc[u] + e0) + zsc[u]
        n1 = xf[uNL + u] + h * (dsc[uNL + u] + e1) + zsc[uNL + u]
        n2 = xf[uNL2 + u] + h * (dsc[uNL2 + u] + e2) + zsc[uNL2 + u]
        n3 = xf[uNL3 + u] + h * (dsc[uNL3 + u] + e3) + zsc[uNL3 + u]
        nu = ub + h * (dsc[uNL4 + u] + eu) + zu
        n0 = _clip(n0, c_lo0, c_hi0)
        n1 = _clip(n1, c_lo1, c_hi1)
        n2 = _clip(n2, c_lo2, c_hi2)
        n3 = _clip(n3, c_lo3, c_hi3)
        xf[u] = n0
        xf[uNL + u] = n1
        xf[uNL2 + u] = n2
        xf[uNL3 + u] = n3
        xf[uNL4 + u] = vmath.select(is_ou, nu, u4)
        chk = (n0 - n0) + (n1 - n1) + (n2 - n2) + (n3 - n3) + (nu - nu)
        nbad += vmath.select(chk == 0.0, 0, 1)
    return nbad


@njit(cache=True, error_model="numpy")
def _report(y, runs, V, N, L, step, err):
    """err = [step, node, variable, lane] of the first non-finite entry of the state-like flat
    array y (layout [V, N, L]), in the order node, lane, variable (Wong-Wang nodes: variables
    0-1; cerebellar: 0-4)."""
    for r in range(runs.shape[0]):
        nv = 2 if runs[r, 2] == KIND_WW else V
        for k in range(runs[r, 0], runs[r, 1]):
            for ln in range(L):
                for v in range(nv):
                    if not np.isfinite(y[(v * N + k) * L + ln]):
                        err[0] = step
                        err[1] = k
                        err[2] = v
                        err[3] = ln
                        return


def _guard_cache() -> None:
    """Flush the on-disk caches of this module's kernels when the model kernels compiled into
    them changed.

    Numba keys a cached function on its own source file only; see :mod:`cmftvb._jitcache`.
    """
    for f in (run_steps, _crbl_stage, _crbl_predict, _crbl_correct, _report):
        _jitcache.guard(f, [wongwang, crbl, vmath, rng])


_guard_cache()
