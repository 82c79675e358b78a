"""Cerebellar prewiring, appended cerebellum, normalisation and prepare() (MODEL.md §7)."""

import numpy as np
import pytest

from cmftvb import CmftvbError
from cmftvb.connectome import Connectome, load_any, prepare, roles
from cmftvb.connectome import cerebellum as crbl
from cmftvb.connectome import prewire as pw


# ------------------------------------------------------------------ sample subject
def test_prepare_refuses_to_prewire_the_prewired_sample_again(sample_zip):
    """The sample subject is already prewired; preparing it with prewired false (the config's
    default) must not prewire it again silently (issue 14): one line naming the file and
    config key connectome.prewired. With prewiring off, or declared prewired, it passes."""
    c = load_any(sample_zip)
    with pytest.raises(CmftvbError) as exc:
        prepare(c, prewired_already=False)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{sample_zip}: ")
    assert "already carries a prewired cerebellum" in msg
    assert "set config key 'connectome.prewired: true'" in msg
    # normalised with a non-linear map first would hide the relation: the check comes before
    with pytest.raises(CmftvbError, match="connectome.prewired"):
        prepare(c, normalise="log1p_max", prewired_already=False)
    p = prepare(c, prewire=False, prewired_already=False)
    assert p.meta["preparation"]["prewire"] is None
    assert prepare(c, prewired_already=True).n == 126


def test_prepare_sample_untouched_and_published_block_numbers(sample_zip):
    c = load_any(sample_zip)
    p = prepare(c, prewired_already=True)
    assert p.n == 126
    np.testing.assert_array_equal(p.weights, c.weights)
    np.testing.assert_array_equal(p.tract_lengths, c.tract_lengths)
    ctx, dcn, cer = p.index("crbl_cortex"), p.index("dcn"), p.index("cerebral")
    assert (ctx.size, dcn.size, cer.size) == (27, 6, 93)
    w = p.weights
    # computed from the file, compared with MODEL.md §7 (published to 2-3 significant digits)
    b2 = w[np.ix_(dcn, ctx)]
    assert np.count_nonzero(b2) == 96
    assert b2[b2 != 0].mean() == pytest.approx(0.031, abs=5e-4)
    assert b2.sum() == pytest.approx(2.96, abs=5e-3)
    # block 3 = 0.1 x transpose of block 2, exactly
    np.testing.assert_array_equal(w[np.ix_(ctx, dcn)], pw.FEEDBACK * b2.T)
    pf = w[np.ix_(ctx, ctx)]
    assert np.count_nonzero(pf) == 28
    assert pf.max() == pytest.approx(0.564, abs=5e-4)
    np.testing.assert_array_equal(pf, pf.T)
    assert w[np.ix_(cer, ctx)].sum() == pytest.approx(0.042, abs=5e-4)
    assert w[np.ix_(ctx, cer)].sum() == pytest.approx(0.012, abs=5e-4)
    assert 1e-4 < w[np.ix_(dcn, cer)].sum() < 4e-4  # "about 2e-4"
    assert 1e-4 < w[np.ix_(cer, dcn)].sum() < 4e-4
    rec = p.meta["preparation"]
    assert rec["prewired_already"] and rec["prewire"] is None
    assert rec["block_stats"]["crbl_cortex_to_dcn"]["nonzero"] == 96


def test_prewire_rules_reproduce_sample_pattern(sample_zip):
    """Re-prewiring the sample with its own block 2 changes only the pf values, not the pattern:
    the zeroing, feedback rule and the PF_PAIRS list agree with the authors' file."""
    c = load_any(sample_zip)
    w, rec = pw.prewire(c.weights, c.labels, c.roles, cortex_to_dcn="keep")
    changed = w != c.weights
    ctx = c.index("crbl_cortex")
    inside = np.zeros_like(changed)
    inside[np.ix_(ctx, ctx)] = True
    assert not (changed & ~inside).any()
    np.testing.assert_array_equal(w != 0, c.weights != 0)
    assert rec["blocks"]["parallel_fibres"]["nonzero"] == 28
    assert not rec["renormalised"]


def _appended(n_cortex=6):
    rng = np.random.default_rng(3)
    labels = [f"Region{k}_{'L' if k % 2 == 0 else 'R'}" for k in range(n_cortex)]
    labels += ["Thalamus_L", "Thalamus_R"]
    n = len(labels)
    w = rng.random((n, n))
    np.fill_diagonal(w, 0)
    centres = rng.normal(scale=40, size=(n, 3))
    centres[:, 0] = np.where([s.endswith("_L") for s in labels], -30.0, 30.0)
    return Connectome(w, 50 + rng.random((n, n)), labels, centres=centres)


def test_prewire_properties_on_template():
    c = crbl.append_cerebellum(_appended())
    mri = c.weights.copy()
    ctx, dcn = c.index("crbl_cortex"), c.index("dcn")
    mri[np.ix_(ctx, ctx)] = 0.7  # pretend MRI entries in the intra-cerebellar block
    mri[np.ix_(dcn, ctx)] = 0.3
    w, rec = pw.prewire(mri, c.labels, c.roles, volumes=c.volumes)
    b2 = w[np.ix_(dcn, ctx)]
    assert b2.sum() == pytest.approx(crbl.CORTEX_TO_DCN_SUM, rel=1e-12)
    np.testing.assert_array_equal(w[np.ix_(ctx, dcn)], 0.1 * b2.T)
    # hemispheric lobules project only ipsilaterally; vermis to both sides
    for j in ctx:
        s, _ = roles.crbl_part(c.labels[j])
        for i in dcn:
            ds, _ = roles.crbl_part(c.labels[i])
            assert (w[i, j] > 0) == (s == "V" or s == ds)
    pf = w[np.ix_(ctx, ctx)]
    np.testing.assert_array_equal(pf, pf.T)
    pairs = {frozenset((c.labels[ctx[a]], c.labels[ctx[b]])) for a, b in np.argwhere(pf > 0)}
    expected = {
        frozenset((f"{side}_{lob}", f"Vermis_{verm}"))
        for lob, verm in pw.PF_PAIRS
        for side in ("Left", "Right")
    }
    assert pairs == expected and np.count_nonzero(pf) == 28
    for lob in ("I_IV", "V", "VI"):
        k = list(c.labels).index(f"Left_{lob}")
        assert not w[k, ctx].any() and not w[ctx, k].any()
    # the pf weight formula, K_p * mean(volumes) / ICV
    i, j = list(c.labels).index("Left_CrusI"), list(c.labels).index("Vermis_VI")
    v = crbl.DEFAULT_VOLUMES_MM3
    assert w[i, j] == pytest.approx(101.68 * (v["CrusI"] + v["Vermis_VI"]) / 2 / 1.5e6, rel=1e-12)
    # nothing outside the cerebellar block changed (no renormalisation)
    crb = np.r_[ctx, dcn]
    outside = np.ones_like(w, bool)
    outside[np.ix_(crb, crb)] = False
    np.testing.assert_array_equal(w[outside], mri[outside])
    assert rec["blocks"]["crbl_cortex_to_dcn"]["nonzero"] == 102


def test_prewire_given_volumes_and_errors():
    c = crbl.append_cerebellum(_appended())
    vols = np.where(np.isnan(c.volumes), np.nan, 1000.0)
    w, rec = pw.prewire(c.weights, c.labels, c.roles, volumes=vols, icv_mm3=2e6, k_p=50.0)
    ctx = c.index("crbl_cortex")
    assert w[np.ix_(ctx, ctx)].max() == pytest.approx(50.0 * 1000.0 / 2e6)
    assert all(m["volume_source"] == "given" for m in rec["pf_pairs_made"])
    with pytest.raises(CmftvbError, match="needs cerebellar-cortex and DCN"):
        pw.prewire(np.zeros((2, 2)), ["A_L", "A_R"], ["cortex", "cortex"])
    with pytest.raises(CmftvbError, match="cortex_to_dcn shape"):
        pw.prewire(c.weights, c.labels, c.roles, cortex_to_dcn=np.ones((2, 2)))


def test_append_cerebellum_geometry_and_loop():
    base = _appended()
    c = crbl.append_cerebellum(base)
    assert c.n == base.n + 33
    assert c.labels[base.n :].tolist() == list(crbl.CRBL_LABELS)
    np.testing.assert_array_equal(c.weights[: base.n, : base.n], base.weights)
    ctx, dcn, cer = c.index("crbl_cortex"), c.index("dcn"), c.index("cerebral")
    assert (ctx.size, dcn.size) == (27, 6)
    # centres: MODEL.md §7, right = mirrored left
    k = {s: i for i, s in enumerate(c.labels)}
    np.testing.assert_array_equal(c.centres[k["Left_CrusI"]], [-33.6, -64.1, -26.4])
    np.testing.assert_array_equal(c.centres[k["Right_CrusI"]], [33.6, -64.1, -26.4])
    # tract lengths = Euclidean distances
    d = np.linalg.norm(c.centres[k["Region0_L"]] - c.centres[k["Right_V"]])
    assert c.tract_lengths[k["Right_V"], k["Region0_L"]] == pytest.approx(d)
    # intra-cerebellar block empty until prewired
    assert not c.weights[np.ix_(np.r_[ctx, dcn], np.r_[ctx, dcn])].any()
    lp = crbl.LoopParams()
    w = c.weights
    assert w[np.ix_(ctx, cer)].sum() == pytest.approx(lp.mossy_total)
    assert w[np.ix_(cer, ctx)].sum() == pytest.approx(lp.crbl_to_cerebral_total)
    assert w[np.ix_(dcn, cer)].sum() == pytest.approx(lp.cerebral_to_dcn_total)
    assert w[np.ix_(cer, dcn)].sum() == pytest.approx(lp.dcn_to_thalamus_total)
    # contralateral rules: left cortex -> right hemispheric lobules only
    assert w[k["Right_CrusI"], k["Region0_L"]] > 0 and w[k["Left_CrusI"], k["Region0_L"]] == 0
    assert w[k["Vermis_VI"], k["Region0_L"]] > 0
    assert w[k["Thalamus_R"], k["Left_Dentate"]] > 0 and w[k["Thalamus_L"], k["Left_Dentate"]] == 0
    with pytest.raises(CmftvbError, match="already has cerebellar nodes"):
        crbl.append_cerebellum(c)


def test_shipped_centre_table_matches_model_md():
    """The packaged cerebellum_centres.tsv holds MODEL.md §7's 20 left/vermis centres."""
    t = crbl.LEFT_AND_VERMIS_CENTRES_MM
    assert len(t) == 20 and all(len(v) == 3 for v in t.values())
    assert t["Left_I_IV"] == (-6.7, -40.1, -15.1)
    assert t["Left_Fastigial"] == (-2.0, -48.6, -24.1)
    assert t["Vermis_X"] == (0.5, -47.8, -35.1)
    # every label the template appends is either in the table or mirrors a left one
    for lab in crbl.CRBL_LABELS:
        assert lab in t or lab.replace("Right_", "Left_", 1) in t


def test_unknown_centres_use_default_length():
    base = _appended()
    base = base.replace(centres=np.full((base.n, 3), np.nan))
    c = crbl.append_cerebellum(base, crbl.LoopParams(default_length_mm=123.0))
    assert c.tract_lengths[c.n - 1, 0] == 123.0


@pytest.mark.parametrize("method", pw.NORMALISATIONS)
def test_normalise(method):
    rng = np.random.default_rng(0)
    w = rng.random((5, 5)) * 1e7
    way = rng.random(5) * 1e6 + 1
    out = pw.normalise(w, method, waytotal=way)
    expected = {
        "none": w,
        "max": w / w.max(),
        "log1p_max": np.log1p(w) / np.log1p(w).max(),
        "waytotal": w / way[None, :],
        "waytotal_max": (w / way[None, :]) / (w / way[None, :]).max(),
    }[method]
    np.testing.assert_allclose(out, expected, rtol=1e-15)
    with pytest.raises(CmftvbError, match="unknown method"):
        pw.normalise(w, "zscore")


def test_prepare_appends_and_records(tmp_path):
    base = _appended()
    base = base.replace(weights=base.weights * 1e6)
    p = prepare(base, normalise="max")
    assert p.n == base.n + 33
    rec = p.meta["preparation"]
    assert rec["append_cerebellum"] and rec["prewire"]["cortex_to_dcn_source"].startswith(
        "template"
    )
    cer = p.index("cerebral")
    np.testing.assert_allclose(p.weights[np.ix_(cer, cer)], base.weights / base.weights.max())
    np.testing.assert_array_equal(p.tract_lengths[: base.n, : base.n], base.tract_lengths)
    assert rec["role_counts"]["dcn"] == 6
    # a prepared connectome survives a save/load round trip with its record
    p.save(tmp_path / "p.npz")
    q = load_any(tmp_path / "p.npz")
    assert q.digest() == p.digest() and q.meta["preparation"] == rec
    assert not prepare(base, append_cerebellum=False).meta["preparation"]["prewire"]


def test_prepare_overrides_and_bad_declaration():
    base = _appended()
    p = prepare(base, overrides={"Thalamus_L": "subcortical"}, append_cerebellum=False)
    assert p.roles[list(p.labels).index("Thalamus_L")] == "subcortical"
    with pytest.raises(CmftvbError, match="declared already prewired"):
        prepare(base, prewired_already=True)
