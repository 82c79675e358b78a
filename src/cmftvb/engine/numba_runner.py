"""The fast runner: integrates a network with the compiled loop of :mod:`cmftvb.engine.core`.

:func:`simulate_numba` is cut into named steps: the local-model parameters
(:func:`_model_tables`), the edge tables of the delayed coupling (:func:`_edge_tables`), the
monitor columns (:func:`_monitor_slots`), the lane groups with their state and noise keys
(:func:`_lane_groups`), the integration loop (:func:`_integrate`) and the result. The shared
pieces (argument checks, bounds, initial state, run record, progress) are
:mod:`cmftvb.engine.plumbing`'s.

Units are TVB's (docs/ARCHITECTURE.md): time ms, rates kHz, Wong-Wang gating variables
dimensionless, J_i nA. Integration: stochastic Heun with additive noise sigma per sqrt(ms) on
every state variable (MODEL.md §5), delays rounded to whole steps as tvb-library does
(docs/TVB-CONVENTIONS.md). Randomness: one stream per lane key (subject, G, seed)
(:mod:`cmftvb.engine.rng`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from cmftvb import CmftvbError
from cmftvb.engine import plumbing as pl
from cmftvb.network import MODEL_VARS, EdgeList, NetworkSpec, expand_edges


def simulate_numba(
    connectome: Any,
    network: NetworkSpec,
    *,
    chunk_steps: int | None = None,
    lane_layout: str = "auto",
    sink: Callable[[int, pl.SimResult], None] | None = None,
    **run: Any,
) -> pl.SimResult:
    """The numba runner of :func:`cmftvb.engine.simulate`: the same keyword arguments
    (:data:`cmftvb.engine.plumbing.RUN_REQUIRED`, ``RUN_OPTIONAL``), less ``engine``.

    ``sink``: see :func:`cmftvb.engine.simulate`. With a sink the monitor buffer holds one
    chunk's samples (``chunk_steps`` rounded up to a whole number of monitor periods), is
    handed to ``sink`` after every chunk and reused, so memory does not grow with
    ``duration``; the returned result holds no samples."""
    from cmftvb.engine import core

    run = pl.run_keywords(run, "the numba runner")
    args = pl.check_run(run, network)
    J_i, monitor, subject, initial = run["J_i"], run["monitor"], run["subject"], run["initial"]
    node_model = list(network.node_model)
    L, N = len(args.seeds), len(node_model)
    jil = pl.check_J_i(J_i, network, L)
    bmap = pl.bold_map(node_model, run["bold_var"])
    blocks = _lane_blocks(lane_layout, L)
    edges = expand_edges(connectome, network, args.dt, args.speed)
    V = 5 if "crbl" in node_model else 2
    order = node_order(node_model, blocks[0][1] - blocks[0][0])
    model = _model_tables(network.params, node_model, V, order)
    net = _edge_tables(_edges_in_order(edges, order), order.size, model["runs"])
    slots = _monitor_slots(node_model, bmap, V)
    streams = pl.lane_streams(subject, args.Gs, args.seeds)
    keys = np.array([st[0] for st in streams], dtype=np.uint64)  # [L, 2] Philox keys
    x = pl.initial_state(
        network.params, node_model, V, [st[1] for st in streams], initial, *model["bounds"]
    )
    n_samples = args.n_steps // args.every
    if chunk_steps is None:
        chunk_steps = max(1, min(2000, math.ceil(args.n_steps / 50)))
    chunk_steps = int(chunk_steps)
    if sink is not None:
        if not callable(sink):
            raise CmftvbError(f"sink {sink!r}: expected a callable sink(first_sample, chunk)")
        # whole monitor periods per chunk: no sample straddles two chunks
        chunk_steps = max(1, math.ceil(chunk_steps / args.every)) * args.every
    n_buf = n_samples if sink is None else min(n_samples, chunk_steps // args.every)
    mon = np.empty((L, n_buf, len(slots["node"])))
    groups = _lane_groups(x, net, keys, np.asarray(args.Gs, dtype=np.float64), jil, blocks, order)
    par = (model["pw"], model["pc"], model["klo"], model["khi"], model["bg"])
    mode = core.MON_MEAN if monitor == "mean" else core.MON_RAW
    record = pl.run_record(
        "numba", network, subject, args, monitor, initial, bmap, edges, pl.RNG_NUMBA, J_i=J_i
    )
    labels = np.array(network.labels)
    snode, svar = np.array(slots["node"]), np.array(slots["var"])

    def result(buf: np.ndarray, first: int, params: dict = record) -> pl.SimResult:
        """Samples ``first``.. of the run, held in ``buf`` [L, t, slots]."""
        return pl.SimResult(
            time_ms=pl.sample_times(monitor, buf.shape[1], args.every, args.dt, first),
            labels=labels,
            variables=pl.CompactVariables(buf, snode, svar, N, slots["present"]),
            bold_input=buf[:, :, :N],  # a view (columns 0..N-1, _monitor_slots)
            params=params,
        )

    deliver = None
    if sink is not None:

        def deliver(first: int, count: int) -> None:
            view = mon[:, :count]
            view.flags.writeable = False  # the buffer is reused: the sink must copy to keep
            sink(first, result(view, first))

    # the compiled loop visits nodes in engine order: the monitor columns of position p are
    # those of node order[p] (none for a padding node)
    mon_spec = (mode, args.every, _padded(slots["out"], order), _padded(slots["rate"], order), mon)
    _integrate(
        groups, net, par, mon_spec, args, chunk_steps, network,
        pl.Progress(run["progress"], args.n_steps, args.dt), deliver, order,
    )  # fmt: skip
    if sink is None:
        return result(mon, 0)
    # every sample went to the sink; none is held here
    return result(mon[:, :0].copy(), 0, {**record, "sink_samples": n_samples})


def _lane_blocks(lane_layout: str, L: int) -> list[tuple[int, int]]:
    """Lanes integrated together: ``inner`` (and ``auto``) all in one pass, ``sequential`` one
    after the other."""
    if lane_layout in ("auto", "inner"):
        return [(0, L)]
    if lane_layout == "sequential":
        return [(ln, ln + 1) for ln in range(L)]
    raise CmftvbError(f"lane_layout {lane_layout!r}: choose auto, inner or sequential")


def simd_pairs() -> int:
    """(node, lane) pairs per SIMD instruction of the compiled cerebellar sweep on this machine
    (numba compiles for the host CPU): 8 float64 where LLVM uses 512-bit vectors (AVX-512 on
    AMD Zen 4 and later, and Xeon Phi), else 4 (256-bit AVX2 vectors; Intel's AVX-512 cores
    are tuned by LLVM to prefer them; a multiple of the 2 of 128-bit NEON or SSE). Only the
    speed depends on it, never a result: a pair beyond a multiple of the width runs in the
    loop's scalar remainder, at about 6 times the cost per pair (znver4, 2026-12-07: 28 pairs
    5.02 us per step, 32 pairs 3.32 us, 24 pairs 2.48 us; the cerebellar sweep alone)."""
    import llvmlite.binding as llvm

    try:
        wide = bool(llvm.get_host_cpu_features().get("avx512f", False))
    except RuntimeError:  # a host LLVM cannot describe: the narrower width
        return 4
    name = llvm.get_host_cpu_name()
    return 8 if wide and name.startswith(("znver", "knl", "knm")) else 4


#: (node, lane) pairs per SIMD instruction of the compiled sweeps (:func:`simd_pairs`); the
#: Wong-Wang and the cerebellar run are each padded to a multiple (:func:`node_order`)
PAD_PAIRS = simd_pairs()


def node_order(node_model: Sequence[str], lanes: int = 1, width: int | None = None) -> np.ndarray:
    """The engine's node order: position p of the compiled loop's state holds node
    ``order[p]``: the Wong-Wang nodes, then the cerebellar ones, each in node order (a stable
    sort by model), each run followed by padding nodes (numbered ``N, N + 1, ...``: first
    those of the Wong-Wang run, then the cerebellar run's) of its model, with no input and no
    output, so that each run has a multiple of ``width`` (node, lane) pairs with ``lanes``
    lanes (default :data:`PAD_PAIRS`, this machine's SIMD width).

    Why: the loop sweeps each run of consecutive nodes of one model in one loop over
    (node, lane) pairs, SIMD over whole vectors, the pairs beyond a multiple of the vector
    width in the loop's scalar remainder. For the cerebellar sweep such a pair costs 2.4
    (AVX2) to 6 (AVX-512) times a vector pair (:func:`cmftvb.engine.core._crbl_stage`), and it
    runs SIMD at all only from about 12-16 pairs. In the sample subject the 27
    cerebellar-cortex nodes come as three runs of 10, 7 and 10 nodes (all scalar for one
    seed); in engine order they are one run of 28 (4-wide vectors) or 32 (8-wide). Measured
    (one thread, the cerebellar sweep alone, both Heun stages): with 4-wide vectors 10.0 us
    per step as three runs, 6.9 us as one run of 27, 5.5 us padded to 28; on AMD Zen 4
    (8-wide) 5.02 us at 28 pairs, 3.32 us at 32. Through ``bench/engine_ab.py`` (one seed,
    2026-12-07, Zen 4): padding the cerebellar run to 32 instead of 28 took the cMF run from
    137.3 to 108.1 ms of CPU per simulated second; padding the Wong-Wang run as well (126
    nodes to 128, 99 to 104) the homogeneous run from 68.2 to 56.6 ms and the cMF run by a
    further 8 %.

    Nothing a lane computes depends on where its nodes sit: the noise is counted by the node
    itself (``qnode``; a padding node counts as its own number), each coupling input still
    adds its edges in edge order (channels keep the order of the edge list,
    :func:`_edges_in_order`), and a lane gets the same bits in scalar and SIMD code. So
    results are bitwise those of the node order (``tests/test_engine_order.py``); only the
    order in which a divergence is searched for within one step follows the engine order.
    A padding node starts from the state of the node before it (:func:`pad_sources`) and
    receives no coupling; nothing reads it."""
    kind = np.array([m == "crbl" for m in node_model], dtype=np.int64)
    order = np.argsort(kind, kind="stable")
    n = kind.size
    n_crbl = int(kind.sum())
    n_ww = n - n_crbl
    width = PAD_PAIRS if width is None else width

    def pad(count: int) -> int:
        p = 0
        while count and ((count + p) * lanes) % width:
            p += 1
        return p

    p_ww, p_crbl = pad(n_ww), pad(n_crbl)
    return np.r_[
        order[:n_ww],
        np.arange(n, n + p_ww),
        order[n_ww:],
        np.arange(n + p_ww, n + p_ww + p_crbl),
    ]


def pad_sources(order: np.ndarray, n_real: int) -> np.ndarray:
    """For each engine position of ``order`` (:func:`node_order`), the real node it takes
    its model and initial state from: itself, or for a padding node (``order >= n_real``)
    the real node before it (every run starts with a real node)."""
    order = np.asarray(order)
    real = order < n_real
    last = np.maximum.accumulate(np.where(real, np.arange(order.size), 0))
    return order[last]


def _padded(table: np.ndarray, order: np.ndarray, fill=-1) -> np.ndarray:
    """Rows of the per-node ``table`` in engine order ``order`` (:func:`node_order`); a
    padding node's row is ``fill``."""
    pad = np.full((order.size - table.shape[0], *table.shape[1:]), fill, dtype=table.dtype)
    return np.ascontiguousarray(np.concatenate([table, pad])[order])


def _edges_in_order(edges: EdgeList, order: np.ndarray) -> EdgeList:
    """``edges`` with source and target renumbered to engine positions (:func:`node_order`);
    the edge order (so every sum's order) unchanged."""
    pos = np.empty(order.size, dtype=np.int64)
    pos[order] = np.arange(order.size)
    return dataclasses.replace(edges, src=pos[edges.src], tgt=pos[edges.tgt])


def _model_tables(
    params: Mapping[str, Any], node_model: Sequence[str], V: int, order: np.ndarray | None = None
) -> dict:
    """Packed local-model parameters, runs of nodes of one model (in engine order ``order``,
    :func:`node_order`; None: node order), bounds (per node, in node order, and per model
    kind) and the cerebellar background of the compiled loop."""
    from cmftvb.engine import core
    from cmftvb.models import crbl, wongwang

    bgk = {"none": core.BG_NONE, "ou": core.BG_OU, "constant": core.BG_CONSTANT}
    bg = np.array([core.BG_NONE, 0.0, 0.0, 1.0])
    pc = np.zeros(1)
    if "crbl" in node_model:
        cp = params["crbl"]
        if int(cp.get("order", 1)) != 1:
            raise CmftvbError(
                f"crbl.order = {cp.get('order')}: the network engine integrates order 1 only"
            )
        bgp = cp.get("background", {"kind": "none"})
        if bgp.get("kind") not in bgk:
            raise CmftvbError(f"crbl.background.kind {bgp.get('kind')!r}: choose ou/constant/none")
        bg = np.array(
            [
                bgk[bgp["kind"]],
                float(bgp.get("weight", 0.0)),
                float(bgp.get("mean", 0.0)),
                float(bgp.get("tau", 1.0)),
            ]
        )
        if bg[0] == core.BG_OU and not bg[3] > 0:
            raise CmftvbError("crbl.background.tau must be positive")
        pc = crbl.pack(params)
    kind = np.array([core.KIND_CRBL if m == "crbl" else core.KIND_WW for m in node_model])
    # runs of consecutive positions of one model: [first position, end position, kind]
    pk = kind if order is None else kind[pad_sources(order, kind.size)]
    N = pk.size
    starts = np.flatnonzero(np.r_[True, pk[1:] != pk[:-1]])
    runs = np.ascontiguousarray(
        np.stack([starts, np.r_[starts[1:], N], pk[starts]], axis=1), dtype=np.int64
    )
    lo, hi = pl.bounds(params, node_model, V)
    # bounds per model kind (the preset's bounds are per variable name, so per model)
    klo = np.full((2, 5), -np.inf)
    khi = np.full((2, 5), np.inf)
    for kd in (core.KIND_WW, core.KIND_CRBL):
        sel = np.flatnonzero(kind == kd)
        if sel.size:
            klo[kd, :V] = lo[sel[0]]
            khi[kd, :V] = hi[sel[0]]
    return {
        "pw": wongwang.pack(params),  # shared; each lane's G and J_i are passed apart
        "pc": pc,
        "bg": bg,
        "runs": runs,
        "bounds": (lo, hi),
        "klo": klo,
        "khi": khi,
    }


def _edge_tables(edges: EdgeList, N: int, runs: np.ndarray) -> tuple:
    """The ``net`` tuple of :func:`cmftvb.engine.core.run_steps`: ring length D, node runs,
    coupled channels (node, variable) and the long and short edges (history base, input slot,
    weight)."""
    from cmftvb.engine import core

    key = edges.src * 16 + edges.src_var
    if key.size:
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    else:
        starts = np.zeros(0, dtype=np.int64)
    ch_node = np.ascontiguousarray(edges.src[starts], dtype=np.int64)
    ch_var = np.ascontiguousarray(edges.src_var[starts], dtype=np.int64)
    ch_ptr = np.r_[starts, key.size].astype(np.int64)
    D = edges.max_delay + 1
    chan = np.repeat(np.arange(ch_node.size), np.diff(ch_ptr))
    if max(ch_node.size * 2 * D, 2 * N) >= 2**32:
        raise CmftvbError(
            f"network too large for the engine's 32-bit history indices "
            f"({ch_node.size} coupled variables x {2 * D} delay slots)"
        )
    # unsigned 32-bit edge indices: half the index traffic of int64, no wrap-around test
    e_base = np.ascontiguousarray(chan * 2 * D + D - edges.delay, dtype=np.uint32)
    # coupling input slot (input-major, as the engine's state): input * N + target
    e_slot = np.ascontiguousarray(edges.tgt_input * N + edges.tgt, dtype=np.uint32)
    # long edges (delay >= BLOCK - 1 steps) are summed BLOCK steps at a time (core.run_steps)
    is_long = np.asarray(edges.delay) >= core.BLOCK - 1
    e_w = np.ascontiguousarray(edges.weight, dtype=np.float64)
    el = _long_pairs(chan, e_base, e_slot, e_w, np.flatnonzero(is_long))
    es = (e_base[~is_long].copy(), e_slot[~is_long].copy(), e_w[~is_long].copy())
    ed = _dense_short(chan[~is_long], e_base[~is_long], e_slot[~is_long], e_w[~is_long])
    if ed[0].size:  # the short edges go dense: none is left to the sparse path
        es = tuple(np.zeros(0, dtype=a.dtype) for a in es)
    return (D, runs, ch_node, ch_var, *el, *es, *ed)


#: pair the long edges of two consecutive channels into one target (False: every edge alone,
#: paired with a zero-weight pad; the same sums, for tests)
PAIR_LONG = True


def _long_pairs(chan, base, slot, w, idx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The long edges ``idx`` (in edge order, i.e. channel order) as pairs into one target:
    ``(base[2 P], slot[P], w[2 P])``, pair p adding ``w[2p] x(base[2p])`` then ``w[2p+1]
    x(base[2p+1])`` to input slot ``slot[p]`` in one pass (:func:`cmftvb.engine.core.run_steps`:
    one load and one store of the running sum for two edges instead of two each).

    Pairs are formed within a group of two consecutive channels (``chan // 2``): the edges of
    one group into one target, in edge order, taken two at a time; pairs are ordered by group,
    then target, then edge. So every target still receives its edges in edge order (channel
    order), the order of the unpaired loop, and no edge of another channel falls between the
    two of a pair. A lone edge is paired with a pad of weight 0 that reads its own history
    (finite): adding ``0 x`` (+0 or -0) leaves a running sum unchanged (a sum started at +0 is
    never -0 in round-to-nearest), so the coupling is bitwise the unpaired loop's. Measured
    (sample subject, one thread, the long-edge loop alone): 1.54 -> 1.40 us per step for one
    lane, 14.7 -> 12.6 us for 8 lanes."""
    if idx.size == 0:
        return (np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint32), np.zeros(0))
    grp = chan[idx] // 2 if PAIR_LONG else np.arange(idx.size)
    perm = np.lexsort((idx, slot[idx], grp))  # by group, then target, then edge order
    o = idx[perm]
    key = grp[perm].astype(np.int64) * (2**32) + slot[o].astype(np.int64)
    n = o.size
    pos = np.arange(n)
    start = np.maximum.accumulate(np.where(np.r_[True, key[1:] != key[:-1]], pos, 0))
    first = (pos - start) % 2 == 0  # first of a pair (runs of one group and target)
    i0 = np.flatnonzero(first)
    nxt = np.minimum(i0 + 1, n - 1)
    has2 = (i0 + 1 < n) & ~first[nxt]
    e0, e1 = o[i0], o[nxt]
    b1 = np.where(has2, base[e1], base[e0])
    w1 = np.where(has2, w[e1], 0.0)
    return (
        np.ascontiguousarray(np.stack([base[e0], b1], axis=1).reshape(-1), dtype=np.uint32),
        np.ascontiguousarray(slot[e0], dtype=np.uint32),
        np.ascontiguousarray(np.stack([w[e0], w1], axis=1).reshape(-1), dtype=np.float64),
    )


#: smallest fraction of nonzero cells for which short edges are summed as a dense matrix
DENSE_MIN_FILL = 0.25


def _dense_short(chan, base, slot, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The short edges (delay < ``BLOCK`` - 1 steps) as a dense matrix, when they fill at least
    ``DENSE_MIN_FILL`` of it (a network without delays: every edge is short): rows = distinct
    (channel, delay) pairs in channel order, given by their history base (``*_base`` of
    :func:`_edge_tables`), columns = distinct target input slots, ``w[row, column]`` the weight
    (0 where no edge). :func:`cmftvb.engine.core.run_steps` then adds, for every target, its
    rows in channel order: the order in which the sparse path adds its edges, and a missing
    edge adds 0 x (a finite state), which leaves a sum started at +0 unchanged, so the
    coupling is bitwise the sparse path's. Returns empty arrays when the edges are too sparse,
    or when one channel reaches one target through two edges (the dense order could then
    differ from the edge order)."""
    none = (np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint32), np.zeros(0))
    if chan.size == 0:
        return none
    pair = chan.astype(np.int64) * (2**32) + slot.astype(np.int64)
    if np.unique(pair).size != pair.size:
        return none
    # history base = channel * 2D + D - delay: unique per (channel, delay), increasing with
    # the channel, so sorting the bases sorts the rows in channel order
    rows, r_idx = np.unique(base, return_inverse=True)
    cols, c_idx = np.unique(slot, return_inverse=True)
    if chan.size < DENSE_MIN_FILL * rows.size * cols.size:
        return none
    wd = np.zeros((rows.size, cols.size))
    wd[r_idx, c_idx] = w
    return (
        np.ascontiguousarray(rows, dtype=np.uint32),
        np.ascontiguousarray(cols, dtype=np.uint32),
        wd.reshape(-1),
    )


def _monitor_slots(node_model: Sequence[str], bmap: Mapping[str, str], V: int) -> dict:
    """Compact monitor columns: first the BOLD input variable of every node, in node order (so
    that ``bold_input`` is a view of the samples, not a copy), then the other variables, then
    the Wong-Wang rates. ``out[k, v]`` / ``rate[k, j]``: column of variable v / rate j of node
    k (-1: none); ``node``/``var``: node and name of each column; ``present``: the names."""
    N = len(node_model)
    outslot = np.full((N, V), -1, dtype=np.int64)
    rslot = np.full((N, 2), -1, dtype=np.int64)
    slot_node, slot_var = [], []
    for k, m in enumerate(node_model):
        outslot[k, MODEL_VARS[m].index(bmap[m])] = len(slot_node)
        slot_node.append(k)
        slot_var.append(bmap[m])
    for k, m in enumerate(node_model):
        for v, name in enumerate(MODEL_VARS[m]):
            if outslot[k, v] < 0:
                outslot[k, v] = len(slot_node)
                slot_node.append(k)
                slot_var.append(name)
    present = pl.present_vars(node_model)
    if "wongwang" in node_model:
        present += list(pl.RATE_VARS)
        for k, m in enumerate(node_model):
            if m == "wongwang":
                for j, name in enumerate(pl.RATE_VARS):
                    rslot[k, j] = len(slot_node)
                    slot_node.append(k)
                    slot_var.append(name)
    return {"out": outslot, "rate": rslot, "node": slot_node, "var": slot_var, "present": present}


def _lane_groups(x, net, keys, gl, jil, blocks, order=None) -> list[dict]:
    """Per block of lanes ``[a, b)``: its state ``[V, N, lanes]`` in engine order ``order``
    (:func:`node_order`; None: node order), constant initial history, scratch and monitor
    accumulators, and the G, J_i, node and noise key of each (node, lane) pair."""
    from cmftvb.engine import core

    D, _, ch_node, ch_var = net[:4]
    n_real, V = x.shape[0], x.shape[1]
    order = np.arange(n_real) if order is None else np.asarray(order)
    N = order.size
    # a padding node (order >= n_real) starts from the state of the real node before it
    src = pad_sources(order, n_real)
    groups = []
    for a, b in blocks:
        xg = np.ascontiguousarray(x[src][:, :, a:b].transpose(1, 0, 2))  # [V, N, lanes]
        hist = np.empty((ch_node.size, 2 * D, b - a))
        hist[:] = xg[ch_var, ch_node, :][:, None, :]  # constant initial history
        groups.append(
            {
                "a": a,
                "b": b,
                "x": xg,
                "hist": hist.reshape(-1),
                "acc": np.zeros((V, N, b - a)),
                "rt": np.zeros((2, N, b - a)),
                "accr": np.zeros((2, N, b - a)),
                "cin": np.zeros(2 * N * (b - a)),
                "cblk": np.zeros(2 * N * core.BLOCK * (b - a)),
                "err": np.full(4, -1, dtype=np.int64),
                "state": np.array([0, 0, 0], dtype=np.int64),
                # G (row 0) and J_i (row 1) of each (node, lane)
                "lq": np.concatenate(
                    [np.tile(gl[a:b], N), _padded(jil[a:b].T, order, 0.0).reshape(-1)]
                ),
                # node (the noise counter's, so node order) and noise key of each pair
                "qnode": np.repeat(order.astype(np.uint64), b - a),
                "qk0": np.tile(keys[a:b, 0], N),
                "qk1": np.tile(keys[a:b, 1], N),
            }
        )
    return groups


def _integrate(
    groups, net, par, mon_spec, args, chunk_steps, network, prog, deliver=None, order=None
):
    """Run the compiled loop chunk by chunk over every lane group, report progress, and turn a
    divergence into a :class:`CmftvbError` naming the node, time, seed and G.

    ``deliver``: None (the monitor buffer holds the whole run) or ``deliver(first, count)``,
    called after every chunk that wrote samples, when the buffer holds samples ``first`` ..
    ``first + count - 1`` of the run at its start; the sample counter of every group then
    restarts at 0, so the next chunk reuses the buffer (its chunks must be whole monitor
    periods, :func:`simulate_numba`). ``order``: the engine order of the groups' nodes
    (:func:`node_order`; None: node order), to name a diverging node."""
    from cmftvb.engine import core

    pw, pc, klo, khi, bg = par
    mode, every, outslot, rslot, mon = mon_spec
    sig_sqdt = args.noise_sigma * math.sqrt(args.dt)
    packed = []
    for g in groups:
        a, b = g["a"], g["b"]
        packed.append(
            (
                (g["x"], g["hist"], g["state"], g["cin"], g["cblk"], g["err"]),
                (pw, g["lq"], pc, klo, khi, bg),
                (g["qnode"], g["qk0"], g["qk1"], sig_sqdt),
                (mode, every, g["acc"], g["rt"], g["accr"], outslot, rslot, mon[a:b]),
            )
        )
    dt, n_steps, seeds = args.dt, args.n_steps, args.seeds
    done = delivered = 0
    while done < n_steps:
        n = min(chunk_steps, n_steps - done)
        for g, (state, gpar, noise, monitor) in zip(groups, packed, strict=True):
            a, b, err = g["a"], g["b"], g["err"]
            try:
                core.run_steps(n, dt, state, net, gpar, noise, monitor)
            except ArithmeticError as exc:  # raised in a local model on absurd (finite) states
                raise CmftvbError(
                    f"simulation diverged: {exc} in a local model between t = {done * dt:.10g} "
                    f"and {(done + n) * dt:.10g} ms (seeds {seeds[a:b]}, dt {dt} ms)"
                ) from None
            if err[0] >= 0:
                k = int(err[1]) if order is None else int(order[err[1]])
                v, ln = int(err[2]), a + int(err[3])
                if k >= len(network.node_model):  # cannot happen: it has no input
                    raise CmftvbError(
                        f"simulation diverged in an engine padding node at t = "
                        f"{err[0] * dt:.10g} ms (seed {seeds[ln]}, dt {dt} ms)"
                    )
                names = (*MODEL_VARS[network.node_model[k]], "mossy_ou")
                raise CmftvbError(
                    f"simulation diverged: non-finite {names[v]} in node {k} "
                    f"{network.labels[k]!r} at t = {err[0] * dt:.10g} ms "
                    f"(seed {seeds[ln]}, G {args.Gs[ln]:g}, dt {dt} ms)"
                )
        done += n
        if deliver is not None:
            count = int(groups[0]["state"][2])
            if count:
                deliver(delivered, count)
                delivered += count
            for g in groups:
                g["state"][2] = 0  # the next chunk's samples go to the buffer's start
        prog.update(done)
