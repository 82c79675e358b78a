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


def _edges_by_hand(conn, net, dt, speed):
    """Independent per-edge reference of expand_edges: loop over projections and every
    (target k, source j) pair, in plain Python; order by (src, src_var, tgt, projection)."""
    from cmftvb.network import MODEL_INPUTS, MODEL_VARS, resolve_roles

    W = np.asarray(conn.weights, dtype=float)
    L = np.asarray(conn.tract_lengths, dtype=float)
    roles, models = list(net.roles), list(net.node_model)
    n = len(roles)
    rows = []
    for pi, p in enumerate(net.projections):
        src = resolve_roles(p["source"], "test")
        tgt = resolve_roles(p["target"], "test")
        excl = [
            (resolve_roles(e["source"], "test"), resolve_roles(e["target"], "test"))
            for e in p.get("exclude", [])
        ]
        for k in range(n):
            for j in range(n):
                w = float(W[k, j])
                if w == 0.0 or roles[j] not in src or roles[k] not in tgt:
                    continue
                if any(roles[j] in es and roles[k] in et for es, et in excl):
                    continue
                rows.append(
                    (
                        j,
                        list(MODEL_VARS[models[j]]).index(p["source_var"][models[j]]),
                        k,
                        list(MODEL_INPUTS[models[k]]).index(p["target_input"][models[k]]),
                        w * p["scale"] * p["sign"],
                        int(round(float(L[k, j]) / speed / dt)),  # half to even, as np.rint
                        pi,
                    )
                )
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[6]))
    names = ("src", "src_var", "tgt", "tgt_input", "weight", "delay", "projection")
    return {name: [r[i] for r in rows] for i, name in enumerate(names)}


def _assert_same_edges(e, ref):
    for name, values in ref.items():
        got = getattr(e, name)
        dtype = np.float64 if name == "weight" else np.int64
        assert got.dtype == dtype and got.flags.c_contiguous, name
        want = np.array(values, dtype=dtype)
        assert got.shape == want.shape and got.tobytes() == want.tobytes(), name


def _synthetic_connectome(seed=7):
    """Two nodes of each role, random sparse weights and tract lengths (mm)."""
    from cmftvb.connectome.roles import ROLES

    rng = np.random.default_rng(seed)
    roles = [r for r in ROLES for _ in range(2)]
    n = len(roles)
    W = rng.random((n, n)) * (rng.random((n, n)) < 0.6)
    np.fill_diagonal(W, 0.0)
    L = rng.uniform(5.0, 150.0, (n, n))
    # tract lengths of exactly 2.5, 4.5, 6.5 and 7.5 steps at dt=0.1 ms, speed 2 mm/ms:
    # rounding ties go to even (2, 4, 6, 8), as np.rint and TVB do
    W[0, 1:5] = 0.3
    L[0, 1:5] = [0.5, 0.9, 1.3, 1.5]
    return types.SimpleNamespace(
        weights=W, tract_lengths=L, labels=[f"n{i}_{r}" for i, r in enumerate(roles)], roles=roles
    )


@pytest.mark.parametrize("model", ["homogeneous", "cmf"])
@pytest.mark.parametrize("preset", ["corrected", "published"])
def test_expand_edges_equals_per_edge_reference(model, preset):
    conn = load_sample()
    net = build_network(conn, model, _preset(preset))
    for dt, speed in ((0.1, 3.0), (0.05, 7.5)):
        _assert_same_edges(expand_edges(conn, net, dt, speed), _edges_by_hand(conn, net, dt, speed))


@pytest.mark.parametrize("model", ["homogeneous", "cmf"])
def test_expand_edges_equals_per_edge_reference_synthetic(model):
    conn = _synthetic_connectome()
    for preset in ("corrected", "published"):
        net = build_network(conn, model, _preset(preset))
        e = expand_edges(conn, net, 0.1, 2.0)
        assert len(e) > 0 and len(set(e.projection.tolist())) == len(net.projections)
        _assert_same_edges(e, _edges_by_hand(conn, net, 0.1, 2.0))
    # an added projection with an exclusion, a negative sign and a scale
    net = build_network(
        conn,
        model,
        _preset("corrected"),
        overrides=[
            (
                "projections.extra",
                "{source: cerebral, source_var: {wongwang: S_E}, target: all,"
                " target_input: {wongwang: I_coupling, crbl: mf}, scale: 0.5, sign: -1,"
                " exclude: [{source: cortex, target: thalamus}]}",
            ),
        ],
    )
    _assert_same_edges(expand_edges(conn, net, 0.1, 2.0), _edges_by_hand(conn, net, 0.1, 2.0))


def test_expand_edges_names_a_bad_or_missing_slot():
    # NetworkSpec.from_json does not re-validate projections; expand_edges must still name
    # the projection and field, not fail with a bare KeyError / ValueError.
    import json

    conn = _synthetic_connectome()
    net = build_network(conn, "cmf", _preset("corrected"))
    pi = next(i for i, p in enumerate(net.projections) if "crbl" in p["source_var"])
    name = net.projections[pi]["name"]
    obj = json.loads(net.to_json())
    obj["projections"][pi]["source_var"]["crbl"] = "nonexistent"
    with pytest.raises(CmftvbError, match=f"{name}.*source_var crbl: 'nonexistent'"):
        expand_edges(conn, NetworkSpec.from_json(json.dumps(obj)), 0.1, 2.0)
    del obj["projections"][pi]["source_var"]["crbl"]
    with pytest.raises(CmftvbError, match=f"{name}.*source_var lacks an entry.*crbl"):
        expand_edges(conn, NetworkSpec.from_json(json.dumps(obj)), 0.1, 2.0)
    obj = json.loads(net.to_json())
    pi = next(i for i, p in enumerate(net.projections) if "crbl" in p["target_input"])
    del obj["projections"][pi]["target_input"]["crbl"]
    with pytest.raises(CmftvbError, match="target_input lacks an entry.*crbl"):
        expand_edges(conn, NetworkSpec.from_json(json.dumps(obj)), 0.1, 2.0)
