"""The article's cerebellar analyses (issue 12): input shares, node coherence, the coupling of
population rates to BOLD, rhythms with evidence, and the open-loop cerebellum.

Signal-stage science: every function takes arrays, a connectome, a network specification or a
preset, and returns arrays or tidy :class:`pandas.DataFrame` tables. Units: rates in Hz unless
a name says kHz (the engine's unit), time in ms (simulation) or s (signals), frequencies in Hz.

- :func:`input_shares` (article Table 5): how the network's mossy-fibre and parallel-fibre
  inputs are distributed over the four cerebellar populations at a steady state, from the
  network's projections (:func:`network_inputs`) and the cerebellar transfer functions
  (:func:`crbl_steady_state`).
- :func:`node_coherence`: magnitude-squared coherence per band between nodes
  (:func:`cmftvb.signals.ephys.coherence_matrix`), summarised as mean coherence within
  cerebellar-cortex pairs and between cerebellar-cortex and cerebral nodes.
- :func:`ephys_bold_coupling`: each population's rate passed through the hemodynamic model
  that made the node's BOLD, correlated with that BOLD.
- :func:`unnormalised_spectra`, :func:`rhythm_table`: absolute Welch spectra and per channel
  the dominant frequency, the most prominent spectral peak (``scipy.signal.find_peaks``) and
  the absolute band powers. :func:`node_linear_modes` and :func:`single_node_rates` are the
  single-node tools of the rhythm investigation.
- :func:`run_openloop`: the cerebellum-only connectome with the cerebellar mean field in every
  cortex node (the authors' own validation): rates, spectra and coherence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cmftvb import CmftvbError
from cmftvb.connectome import roles as croles
from cmftvb.models import crbl
from cmftvb.network import MODEL_INPUTS, MODEL_VARS, NetworkSpec, expand_edges
from cmftvb.signals import bold as sbold
from cmftvb.signals import ephys
from cmftvb.signals import names as nm
from cmftvb.signals.rhythms import (
    node_linear_modes,
    rhythm_table,
    single_node_rates,
    unnormalised_spectra,
    welch_dof,
)

__all__ = [
    "ARTICLE_TABLE5",
    "POPS",
    "crbl_steady_state",
    "ephys_bold_coupling",
    "find_node",
    "input_routes",
    "input_shares",
    "network_inputs",
    "node_coherence",
    "node_linear_modes",
    "node_signal_matrix",
    "rhythm_table",
    "run_openloop",
    "simulation_means",
    "single_node_rates",
    "unnormalised_spectra",
    "welch_dof",
]

#: Cerebellar populations, in the engine's order.
POPS = crbl.POPS

#: The article's Table 5 (Lorenzi et al. 2025, npj Syst Biol Appl 11:66): the share of the
#: network's mossy-fibre and parallel-fibre input that each population receives, from the
#: authors' circuit construction (c_p = c x %_p). For comparison in reports only.
ARTICLE_TABLE5 = {
    ("GrC", "mossy"): 0.97,
    ("GoC", "mossy"): 0.03,
    ("MLI", "mossy"): 0.0,
    ("PC", "mossy"): 0.0,
    ("GrC", "parallel"): 0.0,
    ("GoC", "parallel"): 0.14,
    ("MLI", "parallel"): 0.55,
    ("PC", "parallel"): 0.31,
}


# ---------------------------------------------------------------------------------------------
# 1. Input shares (article Table 5)
# ---------------------------------------------------------------------------------------------


def input_routes(preset: Mapping) -> list[dict[str, Any]]:
    """Through which synapse each network input reaches each population (MODEL.md §2.1, §4).

    Returns rows ``population, input, synapse, conductance_factor``: ``input`` is ``mossy``
    (the node's mossy input nu_mf_in) or ``parallel`` (the parallel-fibre input nu_pf_in from
    other cerebellar-cortex nodes; the node's own GrC are local, not a network input), and
    ``synapse`` a key of ``preset["crbl"]["synapses"]``. GrC and GoC receive the mossy input;
    GoC (switch ``pf_to_goc``; on its mossy synapse under ``pf_goc_mossy_synapse``), MLI and PC
    the parallel one. ``conductance_factor`` is 2 for MLI and PC under ``pf_double_counted``
    (the published mean conductance counts nu_pf twice, MODEL.md §6.4), else 1.
    """
    sw = preset["switches"]
    rows = [
        {"population": "GrC", "input": "mossy", "synapse": "mf_GrC", "conductance_factor": 1.0},
        {"population": "GoC", "input": "mossy", "synapse": "mf_GoC", "conductance_factor": 1.0},
    ]
    if sw["pf_to_goc"]:
        syn = "mf_GoC" if sw["pf_goc_mossy_synapse"] else "GrC_GoC"
        rows.append(
            {"population": "GoC", "input": "parallel", "synapse": syn, "conductance_factor": 1.0}
        )
    dbl = 2.0 if sw["pf_double_counted"] else 1.0
    for pop, syn in (("MLI", "GrC_MLI"), ("PC", "GrC_PC")):
        rows.append(
            {"population": pop, "input": "parallel", "synapse": syn, "conductance_factor": dbl}
        )
    return rows


def _state_arrays(state: Mapping[str, Any], n: int) -> dict[str, np.ndarray]:
    out = {}
    for name, v in state.items():
        a = np.asarray(v, dtype=np.float64)
        if a.shape != (n,):
            raise CmftvbError(f"state[{name!r}]: expected shape ({n},), got {a.shape}")
        out[str(name)] = a
    return out


def _crbl_nodes(network: NetworkSpec, who: str) -> tuple[np.ndarray, np.ndarray]:
    """The node models (N,) and the indices of the cerebellar mean-field nodes; refused,
    naming ``who``, when there are none."""
    models = np.asarray(network.node_model)
    ci = np.flatnonzero(models == "crbl")
    if ci.size == 0:
        raise CmftvbError(f"{who}: the network has no cerebellar mean-field nodes")
    return models, ci


def _constant_state(models: np.ndarray, state: Mapping[str, Any] | None) -> dict:
    """A state for :func:`network_inputs`: every variable NaN, Wong-Wang S_E and S_I 0, then
    copies of ``state``'s arrays (checked by :func:`_state_arrays`)."""
    n = len(models)
    out = {k: np.full(n, np.nan) for k in ("S_E", "S_I", *POPS)}
    ww = models == "wongwang"
    out["S_E"][ww] = 0.0
    out["S_I"][ww] = 0.0
    for k, v in _state_arrays(state or {}, n).items():
        out[k] = v.copy()
    return out


def network_inputs(connectome: Any, network: NetworkSpec, state: Mapping[str, Any]) -> dict:
    """Coupling inputs of every node at a constant state (delays play no role).

    ``state``: variable name -> (N,) values in engine units (S_E dimensionless, GrC..PC kHz;
    NaN where a node lacks the variable). Each edge of the network's projections
    (:func:`cmftvb.network.expand_edges`) adds ``weight x state[source variable][source]`` to
    its target's input. Returns ``{input name: (N,) array}`` for every input of
    :data:`cmftvb.network.MODEL_INPUTS` (``mf``, ``pf`` in kHz for cerebellar nodes,
    ``I_coupling`` for Wong-Wang nodes, before their G J_N scaling); 0 where a node has none.
    """
    n = network.n_nodes
    st = _state_arrays(state, n)
    p = network.params
    edges = expand_edges(connectome, network, float(p["integration"]["dt"]), 1.0)
    models = np.asarray(network.node_model)
    names = sorted({name for m in MODEL_INPUTS for name in MODEL_INPUTS[m]})
    out = {name: np.zeros(n) for name in names}
    src, tgt = edges.src, edges.tgt
    values = np.full(len(edges), np.nan)
    for m in np.unique(models):
        for vi, var in enumerate(MODEL_VARS[str(m)]):
            sel = (models[src] == m) & (edges.src_var == vi)
            if not sel.any():
                continue
            if var not in st:
                raise CmftvbError(f"state: missing variable {var!r}, which a projection reads")
            values[sel] = st[var][src[sel]]
    bad = ~np.isfinite(values)
    if bad.any():
        j = int(src[np.flatnonzero(bad)[0]])
        raise CmftvbError(
            f"state: a variable that a projection reads is not finite at node {j} "
            f"({network.labels[j]!r})"
        )
    for m in np.unique(models):
        for ii, inp in enumerate(MODEL_INPUTS[str(m)]):
            sel = (models[tgt] == m) & (edges.tgt_input == ii)
            np.add.at(out[inp], tgt[sel], edges.weight[sel] * values[sel])
    return out


def _background_mean_khz(preset: Mapping) -> float:
    """Mean background mossy drive (kHz): ``mean`` for kind ``constant``, else 0 (the OU
    variable has zero mean; MODEL.md §4)."""
    bg = preset["crbl"]["background"]
    return float(bg["mean"]) if bg["kind"] == "constant" else 0.0


def crbl_steady_state(
    connectome: Any,
    network: NetworkSpec,
    state: Mapping[str, Any] | None = None,
    *,
    extra_mossy_hz: float = 0.0,
    initial_khz: Sequence[float] | None = None,
    dt_ms: float = 0.1,
    max_ms: float = 60_000.0,
    tol: float = 1e-12,
) -> np.ndarray:
    """Deterministic steady state of the cerebellar-cortex nodes of a cMF network, with every
    Wong-Wang node held at ``state`` (default: S_E = S_I = 0).

    The cerebellar nodes are relaxed together (explicit Euler, ``dt_ms``, no noise) with the
    model's own vector field (:func:`cmftvb.models.crbl.dfun_nodes`): mossy input from
    :func:`network_inputs` (the frozen Wong-Wang states, plus the cerebellar sources of the
    projections at their current rates) plus the mean background (:func:`_background_mean_khz`)
    plus ``extra_mossy_hz``; parallel-fibre input likewise. Start ``initial_khz``: GrC, GoC,
    MLI, PC (kHz), shape (4,) for every node or (N_crbl, 4) per cerebellar node in node order;
    default silent. Returns (N, 4) rates in Hz (NaN rows for non-cerebellar nodes). Raises
    :class:`CmftvbError` if ``max |d nu/dt| < tol`` (kHz/ms) is not reached in ``max_ms``.
    """
    n = network.n_nodes
    models, ci = _crbl_nodes(network, "crbl_steady_state")
    base = _constant_state(models, state)
    p = crbl.pack(network.params)
    x = np.zeros((4, ci.size))
    if initial_khz is not None:
        init = np.asarray(initial_khz, dtype=np.float64)
        if init.shape == (4,):
            x[:] = init[:, None]
        elif init.shape == (ci.size, 4):
            x[:] = init.T
        else:
            raise CmftvbError(
                f"crbl_steady_state: initial_khz must have shape (4,) or ({ci.size}, 4)"
            )
    bg = _background_mean_khz(network.params) + float(extra_mossy_hz) * 1e-3
    # cerebellar sources enter the inputs linearly: a fixed part (Wong-Wang sources) plus
    # matrices lin[input][v] (crbl target x crbl source) applied to the rates of population v
    zero_crbl = {
        k: (np.where(models == "crbl", 0.0, a) if k in POPS else a) for k, a in base.items()
    }
    fixed = network_inputs(connectome, network, zero_crbl)
    edges = expand_edges(connectome, network, float(network.params["integration"]["dt"]), 1.0)
    pos = np.full(n, -1)
    pos[ci] = np.arange(ci.size)
    lin = {name: np.zeros((4, ci.size, ci.size)) for name in MODEL_INPUTS["crbl"]}
    both = (models[edges.src] == "crbl") & (models[edges.tgt] == "crbl")
    for ii, name in enumerate(MODEL_INPUTS["crbl"]):
        sel = both & (edges.tgt_input == ii)
        np.add.at(
            lin[name],
            (edges.src_var[sel], pos[edges.tgt[sel]], pos[edges.src[sel]]),
            edges.weight[sel],
        )
    mf0 = fixed["mf"][ci] + bg
    pf0 = fixed["pf"][ci]
    nsteps = int(max_ms / dt_ms)
    for _ in range(nsteps):
        mf = mf0 + np.einsum("vij,vj->i", lin["mf"], x)
        pf = pf0 + np.einsum("vij,vj->i", lin["pf"], x)
        d = crbl.dfun_nodes(x[0], x[1], x[2], x[3], mf, pf, p)
        x = np.maximum(x + dt_ms * d, 0.0)
        if np.max(np.abs(d)) < tol:
            break
    else:
        raise CmftvbError(
            f"crbl_steady_state: no steady state within {max_ms / 1000:g} s "
            "(the cerebellar nodes oscillate or diverge)"
        )
    out = np.full((n, 4), np.nan)
    out[ci] = x.T * 1e3
    return out


def simulation_means(
    variables: Mapping[str, np.ndarray], node_model: Sequence[str], *, skip: int = 0
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Time means of a simulation, in the form :func:`input_shares` takes.

    ``variables``: name -> (T, N) in engine units (NaN where a node lacks the variable, as
    :class:`cmftvb.engine.SimResult` pads them); the first ``skip`` samples are dropped.
    Returns ``(state, rates_hz)``: ``state`` has ``S_E`` and ``S_I`` (N,) (NaN at cerebellar
    nodes), ``rates_hz`` (N, 4) the mean GrC, GoC, MLI, PC rates in Hz (NaN elsewhere). The
    coupling is linear in its sources, so the inputs of the means are the means of the inputs.
    """
    models = np.asarray(node_model)
    n = models.size
    state = {}
    for k in ("S_E", "S_I"):
        a = np.full(n, np.nan)
        if k in variables:
            v = np.asarray(variables[k], dtype=np.float64)[skip:]
            ww = models == "wongwang"
            a[ww] = v[:, ww].mean(axis=0)
        state[k] = a
    rates = np.full((n, 4), np.nan)
    ci = models == "crbl"
    for i, pop in enumerate(POPS):
        if pop in variables and ci.any():
            rates[ci, i] = np.asarray(variables[pop], dtype=np.float64)[skip:, ci].mean(0) * 1e3
    return state, rates


def input_shares(
    connectome: Any,
    network: NetworkSpec,
    rates_hz: np.ndarray | None = None,
    state: Mapping[str, Any] | None = None,
    *,
    extra_mossy_hz: float = 0.0,
) -> pd.DataFrame:
    """The share of the network's mossy and parallel-fibre input per population (Table 5).

    ``rates_hz`` (N, 4): steady-state GrC, GoC, MLI, PC rates of every node (Hz; rows of
    non-cerebellar nodes ignored), e.g. time means of a simulation; default
    :func:`crbl_steady_state` (with ``state`` and ``extra_mossy_hz``). ``state``: the
    Wong-Wang variables (``S_E``, ``S_I``, (N,) each; default 0). The network inputs of every
    cerebellar-cortex node follow from the projections (:func:`network_inputs`); the mean
    background (and ``extra_mossy_hz``) is added to the mossy input.

    For each route of :func:`input_routes` (population p, input c, synapse s), summed over the
    cerebellar-cortex nodes:

    - ``rate_hz``: the input's mean rate over nodes (Hz);
    - ``events_per_s``: ``sum_nodes nu_c K_s N_p``, synaptic events per second delivered by
      input c to the whole population p (N_p: ``crbl.N``);
    - ``share``: events of (p, c) / events of input c over all populations (each input's shares
      add up to 1: the article's ``%c_p``);
    - ``conductance_ns``: ``sum_nodes N_p Q_s K_s tau_s nu_c x factor`` (nS, the summed mean
      conductance, MODEL.md §2.3) and ``conductance_share`` the same normalisation;
    - ``population_share``: events of (p, c) / all network-input events of p.

    Rows for populations an input does not reach have zeros. Subject-agnostic columns:
    population, input, synapse, rate_hz, events_per_s, share, conductance_ns,
    conductance_share, population_share, article_share (:data:`ARTICLE_TABLE5`).
    """
    models, ci = _crbl_nodes(network, "input_shares")
    n = network.n_nodes
    if rates_hz is None:
        rates_hz = crbl_steady_state(connectome, network, state, extra_mossy_hz=extra_mossy_hz)
    r = np.asarray(rates_hz, dtype=np.float64)
    if r.shape != (n, 4):
        raise CmftvbError(f"input_shares: rates_hz must have shape ({n}, 4), got {r.shape}")
    if not np.all(np.isfinite(r[ci])):
        raise CmftvbError("input_shares: rates_hz has non-finite rates at cerebellar nodes")
    full = _constant_state(models, state)
    for v, pop in enumerate(POPS):
        full[pop][ci] = r[ci, v] * 1e-3
    inp = network_inputs(connectome, network, full)
    bg = _background_mean_khz(network.params) + float(extra_mossy_hz) * 1e-3
    nu = {
        "mossy": np.maximum(inp["mf"][ci] + bg, 0.0) * 1e3,
        "parallel": np.maximum(inp["pf"][ci], 0.0) * 1e3,
    }
    cr = network.params["crbl"]
    sw = network.params["switches"]
    rows = []
    routes = {(q["population"], q["input"]): q for q in input_routes(network.params)}
    for c in ("mossy", "parallel"):
        for pop in POPS:
            q = routes.get((pop, c))
            if q is None:
                rows.append(
                    {"population": pop, "input": c, "synapse": "", "rate_hz": 0.0,
                     "events_per_s": 0.0, "conductance_ns": 0.0}
                )  # fmt: skip
                continue
            s = cr["synapses"][q["synapse"]]
            k = float(s["K"])
            if pop == "GrC" and q["synapse"] == "GoC_GrC" and sw["grc_inh_K35"]:
                k = float(cr["synapses"]["mf_GoC"]["K"])  # not reached: inhibitory synapse
            n_p = float(cr["N"][pop])
            ev = float(np.sum(nu[c] * k * n_p))
            g = float(np.sum(n_p * s["Q"] * k * s["tau"] * nu[c] * 1e-3) * q["conductance_factor"])
            rows.append(
                {"population": pop, "input": c, "synapse": q["synapse"],
                 "rate_hz": float(nu[c].mean()), "events_per_s": ev, "conductance_ns": g}
            )  # fmt: skip
    t = pd.DataFrame(rows)
    for col, out in (("events_per_s", "share"), ("conductance_ns", "conductance_share")):
        tot = t.groupby("input")[col].transform("sum")
        t[out] = np.where(tot > 0, t[col] / tot.where(tot > 0, 1.0), np.nan)
    ptot = t.groupby("population")["events_per_s"].transform("sum")
    t["population_share"] = np.where(
        ptot > 0, t["events_per_s"] / ptot.where(ptot > 0, 1.0), np.nan
    )
    t["article_share"] = [
        ARTICLE_TABLE5[(p, c)] for p, c in zip(t["population"], t["input"], strict=True)
    ]
    return t


# ---------------------------------------------------------------------------------------------
# 2. Coherence between nodes
# ---------------------------------------------------------------------------------------------


def node_signal_matrix(
    variables: Mapping[str, np.ndarray],
    node_model: Sequence[str],
    *,
    crbl_var: str = "PC",
    ww_var: str = "r_E",
) -> np.ndarray:
    """One signal per node: ``crbl_var`` in cerebellar mean-field nodes, ``ww_var`` in
    Wong-Wang nodes.

    ``variables``: name -> (T, N) arrays (NaN where a node lacks the variable, as
    :class:`cmftvb.engine.SimResult` pads them). Returns (T, N). Units are the variables' own
    (cerebellar rates kHz, r_E Hz): convert before comparing amplitudes; coherence does not
    depend on the scale.
    """
    models = np.asarray(node_model)
    out = None
    for m, var in (("crbl", crbl_var), ("wongwang", ww_var)):
        sel = np.flatnonzero(models == m)
        if sel.size == 0:
            continue
        if var not in variables:
            raise CmftvbError(f"node signals: no variable {var!r} for the {m} nodes")
        a = np.asarray(variables[var], dtype=np.float64)
        if a.ndim != 2 or a.shape[1] != models.size:
            raise CmftvbError(f"node signals: {var} must be (T, {models.size}), got {a.shape}")
        if out is None:
            out = np.full(a.shape, np.nan)
        out[:, sel] = a[:, sel]
    if out is None:
        raise CmftvbError("node signals: no nodes")
    return out


def node_coherence(
    x,
    roles: Sequence[str],
    *,
    fs_hz: float = 250.0,
    nperseg: int = 500,
    noverlap: int = 250,
    bands: Mapping[str, tuple[float, float]] | None = None,
) -> tuple[list[str], np.ndarray, pd.DataFrame]:
    """Band-mean magnitude-squared coherence between nodes, and its summaries.

    ``x`` (T, N): one signal per node sampled at ``fs_hz`` (e.g. :func:`node_signal_matrix`
    resampled with :func:`cmftvb.signals.ephys.resample`). ``roles`` (N,): node roles. The
    matrix comes from :func:`cmftvb.signals.ephys.coherence_matrix` (scipy's Welch-based MSC,
    Hann window). Returns ``(band_names, M, summary)`` with ``M`` (B, N, N) and ``summary`` a
    table ``metric, region, value`` (region ``global``) with metrics
    ``coh_nodes_crbl_crbl_<band>`` (mean over pairs of cerebellar-cortex nodes) and
    ``coh_nodes_crbl_cerebral_<band>`` (mean over every cerebellar-cortex x cerebral pair);
    a group without pairs is left out; and ``coh_nodes_floor``, the mean coherence expected of
    independent signals, ``1 / K`` for K segments (the bias of the MSC estimate; with 50 %
    Hann overlap the mean measured on white noise is 1.03 / K). Means near the floor say "no
    coherence".
    """
    a = np.asarray(x, dtype=np.float64)
    r = np.asarray([str(s) for s in roles])
    if a.ndim != 2 or a.shape[1] != r.size:
        raise CmftvbError(f"node coherence: x must be (T, {r.size}), got {a.shape}")
    names, M = ephys.coherence_matrix(a, fs_hz, bands, nperseg=nperseg, noverlap=noverlap)
    K = (a.shape[0] - noverlap) // (nperseg - noverlap)
    return names, M, node_coherence_rows(names, M, r, K)


def node_coherence_rows(bands, M, roles, n_segments: int) -> pd.DataFrame:
    """Summary rows (region ``global``) of the coherence between nodes ``M`` (B, N, N) over
    ``n_segments`` Welch segments, as :func:`node_coherence` makes
    them: ``coh_nodes_crbl_crbl_<band>`` (mean over pairs of cerebellar-cortex nodes),
    ``coh_nodes_crbl_cerebral_<band>`` (every cerebellar-cortex x cerebral pair), a group
    without pairs left out, and ``coh_nodes_floor`` = 1 / K (the MSC's bias)."""
    r = np.asarray([str(s) for s in roles])
    cb, ce = croles.indices(r, "crbl_cortex"), croles.indices(r, "cerebral")
    rows = []
    iu = np.triu_indices(cb.size, k=1)
    for b, band in enumerate(bands):
        if iu[0].size:
            sub = M[b][np.ix_(cb, cb)][iu]
            rows.append((nm.node_coherence_metric("crbl_crbl", band), "global", float(sub.mean())))
        if cb.size and ce.size:
            sub = M[b][np.ix_(cb, ce)]
            rows.append(
                (nm.node_coherence_metric("crbl_cerebral", band), "global", float(sub.mean()))
            )
    rows.append((nm.NODE_COHERENCE_FLOOR, "global", 1.0 / int(n_segments)))
    return pd.DataFrame(rows, columns=["metric", "region", "value"])


# ---------------------------------------------------------------------------------------------
# 3. Electrophysiology to BOLD
# ---------------------------------------------------------------------------------------------


def _hemodynamics(x, dt_ms, tr_ms, bold_model):
    if bold_model == "tvb_kernel":
        return sbold.bold_tvb_kernel(x, dt_ms, tr_ms)
    if bold_model == "balloon":
        return sbold.bold_balloon(x, dt_ms, tr_ms)
    raise CmftvbError(f"bold_model {bold_model!r}: choose tvb_kernel or balloon")


def ephys_bold_coupling(
    rates: Mapping[str, np.ndarray],
    bold,
    labels: Sequence[str],
    nodes: Sequence[int] | np.ndarray,
    *,
    dt_ms: float,
    tr_ms: float,
    bold_model: str = "tvb_kernel",
    bold_transient_s: float = 0.0,
) -> pd.DataFrame:
    """Correlation of each population's rate, through the hemodynamic model, with the BOLD.

    ``rates``: population -> (T, N) rates sampled every ``dt_ms`` in the units of the BOLD
    input (engine units, kHz for the cerebellar populations; Pearson r does not depend on the
    scale). ``bold`` (T_bold, N): the nodes' simulated BOLD at ``tr_ms``, after dropping
    ``bold_transient_s`` (as the signals rule does). ``nodes``: indices of the nodes to report
    (the cerebellar-cortex nodes). Each rate is passed through the same model
    (``bold_model``: ``tvb_kernel`` = :func:`cmftvb.signals.bold.bold_tvb_kernel`,
    ``balloon`` = :func:`~cmftvb.signals.bold.bold_balloon`), sampled at the TR, its transient
    dropped identically, and correlated (Pearson) with the node's BOLD over the volumes both
    have. Returns a table ``region, population, r`` (NaN where either series is constant).
    """
    b = np.asarray(bold, dtype=np.float64)
    labels = [str(s) for s in labels]
    if b.ndim != 2 or b.shape[1] != len(labels):
        raise CmftvbError(f"ephys-BOLD: bold must be (T_bold, {len(labels)}), got {b.shape}")
    nodes = np.asarray(nodes, dtype=int)
    rows = []
    for pop, arr in rates.items():
        a = np.asarray(arr, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] != len(labels):
            raise CmftvbError(f"ephys-BOLD: rates[{pop!r}] must be (T, {len(labels)})")
        sub = a[:, nodes]
        if not np.all(np.isfinite(sub)):
            raise CmftvbError(f"ephys-BOLD: rates[{pop!r}] is not finite at the chosen nodes")
        pb = _hemodynamics(sub, dt_ms, tr_ms, bold_model)
        pb = sbold.drop_transient(pb, tr_ms, seconds=bold_transient_s) if bold_transient_s else pb
        rows += rate_bold_correlations(pb, b, nodes, labels, pop)
    return pd.DataFrame(rows)


def rate_bold_correlations(pb, bold, nodes, labels, pop: str) -> list[dict]:
    """Rows (region, population, r): the Pearson correlation of column ``c`` of ``pb``
    (V, k), a rate of population ``pop`` through the hemodynamic model, with the BOLD
    ``bold`` (T_bold, N) of node ``nodes[c]``, over the volumes both have (NaN where either is
    constant). At least 3 volumes, else :class:`CmftvbError`."""
    m = min(pb.shape[0], bold.shape[0])
    if m < 3:
        raise CmftvbError(f"ephys-BOLD: only {m} volumes to correlate")
    rows = []
    for c, k in enumerate(nodes):
        u, v = pb[:m, c], bold[:m, k]
        su, sv = u.std(), v.std()
        rr = float(np.mean((u - u.mean()) * (v - v.mean())) / (su * sv)) if su * sv > 0 else np.nan
        rows.append({"region": labels[k], "population": pop, "r": rr})
    return rows


# ---------------------------------------------------------------------------------------------
# 5. Node lookup (rate traces)
# ---------------------------------------------------------------------------------------------


def find_node(labels: Sequence[str], roles: Sequence[str], name: str = "CrusII", side: str = "L"):
    """Index of the cerebellar-cortex node whose label contains ``name`` (case-insensitive)
    on ``side`` (``L``, ``R`` or ``V`` vermis, as :func:`cmftvb.connectome.roles.crbl_part`;
    ``""`` any). Raises :class:`CmftvbError` if none or several match."""
    cb = croles.indices(roles, "crbl_cortex")
    hits = []
    for k in cb:
        lab = str(labels[k])
        part = croles.crbl_part(lab)
        sd = part[0] if part else croles.side(lab)
        if name.lower() in lab.lower() and (not side or sd == side):
            hits.append(int(k))
    if len(hits) != 1:
        raise CmftvbError(
            f"rate traces: {len(hits)} cerebellar-cortex nodes match label {name!r} side "
            f"{side!r} (need exactly one)"
        )
    return hits[0]


# ---------------------------------------------------------------------------------------------
# 6. Open-loop cerebellum
# ---------------------------------------------------------------------------------------------


def run_openloop(
    connectome: Any,
    preset: str | Mapping = "corrected",
    *,
    duration_ms: float = 120_000.0,
    seed: int = 1,
    overrides: Sequence[tuple[str, Any]] = (),
    monitor_period_ms: float = 4.0,
    transient_s: float = 2.0,
    nperseg: int = 500,
    noverlap: int = 250,
    coherence_pop: str = "PC",
    subject: str = "openloop",
) -> dict[str, Any]:
    """The open-loop cerebellum: the cMF network on a cerebellum-only connectome.

    ``connectome``: a :class:`cmftvb.connectome.Connectome` whose nodes are cerebellar cortex
    (the authors' ``SC_dirCB_ONLYCRBL.zip``: 27 nodes, parallel fibres only); every node runs
    the cerebellar mean field (:func:`cmftvb.network.build_network` with model ``cmf``), driven
    by the preset's background mossy input and noise, integrated by
    :func:`cmftvb.engine.simulate` (monitor ``mean`` at ``monitor_period_ms``).

    Returns a dict: ``labels`` (N,), ``fs_hz``, ``time_s`` (T,), ``rates`` {pop: (T, N) Hz}
    after ``transient_s``, ``freqs_hz`` (F,), ``psd`` {pop: (F, N) Hz^2/Hz, un-normalised},
    ``rhythms`` (:func:`rhythm_table` rows with ``population``, ``region``),
    ``coherence_bands``, ``coherence`` (B, N, N) between nodes of ``coherence_pop``, and
    ``coherence_summary`` (mean over node pairs per band).
    """
    from cmftvb.engine import simulate
    from cmftvb.network import build_network

    net = build_network(connectome, "cmf", preset, overrides)
    bad = [lab for lab, m in zip(net.labels, net.node_model, strict=True) if m != "crbl"]
    if bad:
        raise CmftvbError(
            f"open loop: every node must be cerebellar cortex, {len(bad)} are not (e.g. {bad[0]!r})"
        )
    p = net.params
    res = simulate(
        connectome, net, duration=duration_ms, dt=float(p["integration"]["dt"]), seeds=[seed],
        noise_sigma=float(p["integration"]["noise_sigma"]), speed=float(p["integration"]["speed"]),
        monitor="mean", monitor_period=monitor_period_ms, subject=subject,
    )  # fmt: skip
    fs = 1000.0 / monitor_period_ms
    skip = int(round(transient_s * fs))
    rates = {}
    for pop in POPS:
        a = np.asarray(res.variables[pop][0], dtype=np.float64)
        rates[pop] = ephys.resample(a, monitor_period_ms, fs, unit="kHz")[skip:]
    T = next(iter(rates.values())).shape[0]
    if T < nperseg:
        raise CmftvbError(
            f"open loop: {T} samples after the transient, fewer than nperseg={nperseg}; run longer"
        )
    psd, tables = {}, []
    f = None
    for pop in POPS:
        f, P = unnormalised_spectra(rates[pop], fs, nperseg=nperseg, noverlap=noverlap)
        psd[pop] = P
        t = rhythm_table(f, P, channels=net.labels)
        t.insert(0, "population", pop)
        tables.append(t.rename(columns={"channel": "region"}))
    names, M = ephys.coherence_matrix(rates[coherence_pop], fs, nperseg=nperseg, noverlap=noverlap)
    iu = np.triu_indices(len(net.labels), k=1)
    summary = pd.DataFrame(
        {"band": names, "mean_coherence": [float(M[b][iu].mean()) for b in range(len(names))]}
    )
    return {
        "labels": np.asarray(net.labels),
        "fs_hz": fs,
        "time_s": (np.arange(T) + skip) / fs,
        "rates": rates,
        "freqs_hz": f,
        "psd": psd,
        "rhythms": pd.concat(tables, ignore_index=True),
        "coherence_bands": names,
        "coherence": M,
        "coherence_pop": coherence_pop,
        "coherence_summary": summary,
    }
