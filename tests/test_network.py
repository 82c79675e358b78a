"""Node substitution and projection tables (cmftvb.network): MODEL.md §4 and §6 items 6-7."""

from __future__ import annotations

import io
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cmftvb import CmftvbError
from cmftvb.network import (
    NetworkSpec,
    build_network,
    delay_steps,
    edge_summary,
    expand_edges,
)

SAMPLE = Path(__file__).resolve().parents[1] / "../shared/data/cmftvb-sample-103818/SC_dirCB.zip"


def _roles_from_labels(labels):
    # Private stand-in for cmftvb.connectome.roles.annotate (sample labels only).
    roles = []
    for lab in labels:
        if lab.endswith(("Dentate", "Interposed", "Fastigial")):
            roles.append("dcn")
        elif lab.startswith("Vermis_"):
            roles.append("crbl_vermis")
        elif lab.startswith(("Left_", "Right_")):
            roles.append("crbl_hemisphere")
        elif "Thalamus" in lab:
            roles.append("thalamus")
        elif lab == "Brain-Stem":
            roles.append("brainstem")
        elif lab.startswith(("Left-", "Right-")):
            roles.append("subcortical")
        else:
            roles.append("cortex")
    return roles


def load_sample():
    if not SAMPLE.exists():
        pytest.skip(f"sample subject not available at {SAMPLE}")
    try:
        from cmftvb.connectome import load_any

        return load_any(SAMPLE)
    except ImportError:
        pass
    with zipfile.ZipFile(SAMPLE) as z:
        W = np.loadtxt(io.BytesIO(z.read("weights.txt")))
        L = np.loadtxt(io.BytesIO(z.read("tract_lengths.txt")))
        labels = [line.split()[0] for line in z.read("centres.txt").decode().splitlines() if line]
    return types.SimpleNamespace(
        weights=W, tract_lengths=L, labels=labels, roles=_roles_from_labels(labels)
    )


def _preset(name, **switches):
    try:
        from cmftvb.models.presets import apply_overrides, load_preset

        p = load_preset(name)
        return apply_overrides(p, [(f"switches.{k}", str(v).lower()) for k, v in switches.items()])
    except ImportError:
        pub = name == "published"
        sw = {"dcn_flip_lost": pub, "mossy_masked_at_crbl": False, "target_masked_coupling": pub}
        sw.update(switches)
        return {"name": name, "switches": sw}


def _blocks(conn):
    roles = np.asarray(conn.roles)
    cer = np.isin(roles, ["cortex", "thalamus", "subcortical", "brainstem"])
    crbl = np.isin(roles, ["crbl_hemisphere", "crbl_vermis"])
    dcn = roles == "dcn"
    return cer, crbl, dcn


def _dense(edges, n, tgt_input=None, src_var=None):
    """Rebuild the effective matrix from an edge list (summing duplicates)."""
    M = np.zeros((n, n))
    sel = np.ones(len(edges), bool)
    if tgt_input is not None:
        sel &= edges.tgt_input == tgt_input
    if src_var is not None:
        sel &= edges.src_var == src_var
    np.add.at(M, (edges.tgt[sel], edges.src[sel]), edges.weight[sel])
    return M


def test_sample_roles_counts():
    conn = load_sample()
    cer, crbl, dcn = _blocks(conn)
    assert (cer.sum(), crbl.sum(), dcn.sum()) == (93, 27, 6)  # MODEL.md §7


@pytest.mark.parametrize("flip", [True, False])
def test_homogeneous_is_one_projection_with_dcn_sign(flip):
    conn = load_sample()
    net = build_network(conn, "homogeneous", _preset("corrected", dcn_flip_lost=not flip))
    assert set(net.node_model) == {"wongwang"}
    e = expand_edges(conn, net, dt=0.1, speed=3.0)
    W = np.asarray(conn.weights)
    _, crbl, dcn = _blocks(conn)
    expected = W.copy()
    if flip:
        expected[np.ix_(dcn, crbl)] *= -1
    np.testing.assert_array_equal(_dense(e, W.shape[0]), expected)
    assert np.all(e.src_var == 0) and np.all(e.tgt_input == 0)  # S_E -> I_coupling
    assert len(e) == np.count_nonzero(W)


def test_cmf_corrected_routing():
    conn = load_sample()
    net = build_network(conn, "cmf", _preset("corrected", dcn_flip_lost=False))
    cer, crbl, dcn = _blocks(conn)
    assert [m == "crbl" for m in net.node_model] == list(crbl)
    e = expand_edges(conn, net, dt=0.1, speed=3.0)
    W = np.asarray(conn.weights)
    n = W.shape[0]
    ww = cer | dcn
    # I_coupling of Wong-Wang targets: S_E from cerebral/DCN, PC (var 3) from cerebellar cortex
    se = _dense(e, n, tgt_input=0, src_var=0)
    se[np.ix_(crbl, crbl)] = 0  # input 0 of crbl targets is mf (checked below)
    exp = np.zeros_like(W)
    exp[np.ix_(ww, ww)] = W[np.ix_(ww, ww)]
    np.testing.assert_array_equal(np.where(ww[:, None], se, 0), exp)
    pc = _dense(e, n, tgt_input=0, src_var=3)
    exp = np.zeros_like(W)
    exp[np.ix_(cer, crbl)] = W[np.ix_(cer, crbl)]
    exp[np.ix_(dcn, crbl)] = -W[np.ix_(dcn, crbl)]
    np.testing.assert_array_equal(pc, exp)
    # mossy (input 0 at crbl targets) from cerebral/DCN S_E; parallel fibres (input 1) from GrC
    tgt_crbl = crbl[e.tgt]
    mf = e.tgt_input == 0
    assert np.all(ww[e.src[tgt_crbl & mf]])
    pf = e.tgt_input == 1
    assert np.all(crbl[e.src[pf]]) and np.all(e.src_var[pf] == 0)
    assert pf.sum() == np.count_nonzero(W[np.ix_(crbl, crbl)])
    assert (tgt_crbl & mf).sum() == np.count_nonzero(W[np.ix_(crbl, ww)])
    # no GrC leaves the cerebellum, no PC enters the cerebellar cortex
    assert not np.any(crbl[e.src] & (e.src_var == 0) & ~crbl[e.tgt])
    assert not np.any((e.src_var == 3) & crbl[e.tgt])


@pytest.mark.parametrize("mask", [False, True])
def test_cmf_published_c0_routing(mask):
    conn = load_sample()
    net = build_network(
        conn, "cmf", _preset("published", dcn_flip_lost=True, mossy_masked_at_crbl=mask)
    )
    cer, crbl, dcn = _blocks(conn)
    e = expand_edges(conn, net, dt=0.1, speed=3.0)
    W = np.asarray(conn.weights)
    n = W.shape[0]
    assert np.all(e.src_var == 0)  # c0: first state variable (S_E or GrC) everywhere
    ww = cer | dcn
    c0 = _dense(e, n, tgt_input=0)
    np.testing.assert_array_equal(c0[ww], W[ww])  # DCN gets +W GrC (flip never took effect)
    np.testing.assert_array_equal(c0[crbl], 0 * W[crbl] if mask else W[crbl])
    np.testing.assert_array_equal(_dense(e, n, tgt_input=1)[crbl], W[crbl])


def test_overrides_drop_add_rescale():
    conn = load_sample()
    base = _preset("corrected", dcn_flip_lost=False)
    net = build_network(
        conn,
        "cmf",
        base,
        overrides=[
            ("projections.parallel_fibres", "drop"),
            ("projections.mossy.scale", "0.5"),
            (
                "projections.extra",
                "{source: crbl_cortex, source_var: {crbl: MLI}, target: cerebral,"
                " target_input: {wongwang: I_coupling}, scale: 2}",
            ),
        ],
    )
    names = [p["name"] for p in net.projections]
    assert "parallel_fibres" not in names and "extra" in names
    e = expand_edges(conn, net, dt=0.1, speed=3.0)
    W = np.asarray(conn.weights)
    mossy = e.projection == names.index("mossy")
    np.testing.assert_array_equal(e.weight[mossy], 0.5 * W[e.tgt[mossy], e.src[mossy]])
    extra = e.projection == names.index("extra")
    assert np.all(e.src_var[extra] == 2)
    np.testing.assert_array_equal(e.weight[extra], 2 * W[e.tgt[extra], e.src[extra]])
    assert not np.any(e.tgt_input == 1)
    with pytest.raises(CmftvbError, match="nope"):
        build_network(conn, "cmf", base, overrides=[("projections.nope.scale", "2")])
    with pytest.raises(CmftvbError, match="GrCx"):
        build_network(
            conn, "cmf", base, overrides=[("projections.mossy.source_var", "{crbl: GrCx}")]
        )
    with pytest.raises(CmftvbError, match="lacks an entry"):
        # wongwang-only source_var on a source group that contains crbl nodes
        build_network(conn, "cmf", base, overrides=[("projections.mossy.source", "all")])


def test_edges_sorted_and_delays_match_tvb_rounding():
    conn = load_sample()
    net = build_network(conn, "cmf", _preset("corrected"))
    e = expand_edges(conn, net, dt=0.1, speed=3.0)
    key = e.src * 10 + e.src_var
    assert np.all(np.diff(key) >= 0)
    L = np.asarray(conn.tract_lengths)
    # TVB: Connectivity.delays = tract_lengths / speed; idelays = rint(delays / dt)
    from tvb.datatypes.connectivity import Connectivity

    c = Connectivity(
        weights=np.asarray(conn.weights),
        tract_lengths=L,
        region_labels=np.array(conn.labels),
        centres=np.zeros((L.shape[0], 3)),
        speed=np.array([3.0]),
    )
    c.configure()
    c.set_idelays(0.1)
    np.testing.assert_array_equal(e.delay, c.idelays[e.tgt, e.src])
    np.testing.assert_array_equal(delay_steps(L, 3.0, 0.1), c.idelays)
    assert "edges" in edge_summary(e, net) and "network cmf" in net.summary()


def test_json_roundtrip_and_digest_check():
    conn = load_sample()
    net = build_network(conn, "cmf", _preset("corrected"))
    back = NetworkSpec.from_json(net.to_json())
    assert back == net
    other = types.SimpleNamespace(
        weights=np.asarray(conn.weights) * 2,
        tract_lengths=conn.tract_lengths,
        labels=conn.labels,
        roles=conn.roles,
    )
    with pytest.raises(CmftvbError, match="digest"):
        expand_edges(other, net, 0.1, 3.0)
    with pytest.raises(CmftvbError, match="missing keys"):
        NetworkSpec.from_json('{"model": "cmf"}')
    with pytest.raises(CmftvbError, match="unknown"):
        build_network(conn, "bogus", _preset("corrected"))
