"""G relative to the critical coupling G* (cmftvb.gstar) and the run's coupling and J_i
(cmftvb.batch.run_coupling): labels, the reference G* (minimum over the variants, checked
against cmftvb.fic.critical_G run on its own with another bracket), absolute G, the engine's
J_i of a FIC result, and the config refusal of fractions without FIC."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from small_networks import small_connectome

from cmftvb import CmftvbError, fic, gstar
from cmftvb.batch import run_coupling
from cmftvb.network import build_network


@pytest.fixture(scope="module")
def conn():
    return small_connectome()


@pytest.fixture(scope="module")
def nets(conn):
    return {m: build_network(conn, m, "corrected") for m in ("homogeneous", "cmf")}


@pytest.fixture(scope="module")
def record(conn, nets):
    return gstar.critical_G_record(conn, nets, tol=1e-4)


# ------------------------------------------------------------------ labels
@pytest.mark.parametrize(
    "value,relative,label",
    [(2.0, False, "2"), (0.45, False, "0.45"), (0.9, True, "r0.9"), (1.0, True, "r1"),
     (1e-20, False, "0.00000000000000000001")],
)  # fmt: skip
def test_G_labels_round_trip(value, relative, label):
    assert gstar.format_G_label(value, relative=relative) == label
    assert gstar.parse_G_label(label) == (value, relative)


@pytest.mark.parametrize("bad", ["x1", "r", "r-0.5", "-1", "1.", "R0.5", "0.9r", "1/2", ""])
def test_bad_G_labels_are_refused(bad):
    with pytest.raises(CmftvbError, match="G label"):
        gstar.parse_G_label(bad)


def test_format_refuses_negative_and_nan():
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(CmftvbError, match="finite number >= 0"):
            gstar.format_G_label(bad)


# ------------------------------------------------------------------ reference G*
def test_reference_is_the_minimum_of_independent_critical_G(conn, nets, record):
    """Each variant's G* agrees with fic.critical_G run alone on a narrower bracket (both to
    1e-4), and the reference is their minimum."""
    assert set(record["variants"]) == {"homogeneous", "cmf"}
    for name, net in nets.items():
        alone = fic.critical_G(conn, net, lo=0.05, hi=1.5, tol=1e-4)
        assert record["variants"][name] == pytest.approx(alone, abs=2e-4)
    assert record["reference"] == min(record["variants"].values())
    assert record["variants"][record["reference_variant"]] == record["reference"]
    assert record["preset"] == "corrected"
    assert record["connectome_digest"] == nets["cmf"].connectome_digest


def test_bracket_grows_until_the_state_turns_unstable(conn, nets, record):
    """Starting with a bracket whose top is still stable, the search doubles it."""
    one = {"homogeneous": nets["homogeneous"]}
    hi_start = record["variants"]["homogeneous"] / 5  # stable there
    grown = gstar.critical_G_record(conn, one, tol=1e-4, hi_start=hi_start)
    assert grown["reference"] == pytest.approx(record["variants"]["homogeneous"], abs=2e-4)
    with pytest.raises(CmftvbError, match="still stable"):
        gstar.critical_G_record(conn, one, tol=1e-4, hi_start=hi_start, hi_max=2 * hi_start)


def test_reference_G_star_bounds_a_stable_state(conn, nets, record):
    """Just below the reference G* both variants' FIC states are stable; just above the
    smaller one it is not (the leading eigenvalue's real part changes sign)."""
    g = record["reference"]
    for net in nets.values():
        assert fic.leading_eigenvalue(conn, net, 0.98 * g).real < 0
    worst = nets[record["reference_variant"]]
    assert fic.leading_eigenvalue(conn, worst, 1.02 * g).real > 0


def test_record_refuses_fic_off_and_mixed_presets(conn, nets):
    pub = build_network(conn, "homogeneous", "published")
    with pytest.raises(CmftvbError, match="wongwang.fic false"):
        gstar.critical_G_record(conn, {"homogeneous": pub})
    with pytest.raises(CmftvbError, match="one preset"):
        gstar.critical_G_record(conn, {"a": nets["cmf"], "b": pub})
    with pytest.raises(CmftvbError, match="no network variants"):
        gstar.critical_G_record(conn, {})


# ------------------------------------------------------------------ absolute G, warnings
def test_absolute_G_and_above_critical(record):
    ref = record["reference"]
    assert gstar.absolute_G("0.3") == 0.3
    assert gstar.absolute_G("0.3", record) == 0.3
    assert gstar.absolute_G("r0.9", record) == 0.9 * ref
    with pytest.raises(CmftvbError, match="needs the subject's G\\* record"):
        gstar.absolute_G("r0.9")
    with pytest.raises(CmftvbError, match="reference G"):
        gstar.absolute_G("r0.9", {"reference": -1.0})
    assert gstar.above_critical(0.99 * ref, record) == ""
    msg = gstar.above_critical(1.01 * ref, record)
    assert "above the reference G*" in msg and "\n" not in msg
    name = record["reference_variant"]
    assert f"G* of {name}" in gstar.above_critical(2 * ref, record, name)


def test_fractions_need_fic_in_every_preset():
    gstar.require_fic_for_relative([0.5], ["corrected"])
    gstar.require_fic_for_relative([], ["published"])  # absolute G: nothing to check
    with pytest.raises(CmftvbError, match="'simulation.G_relative'.*'published'"):
        gstar.require_fic_for_relative([0.5, 0.9], ["corrected", "published"])
    # an override switches FIC on in published, or off in corrected
    gstar.require_fic_for_relative([0.5], ["published"], {"wongwang.fic": True})
    with pytest.raises(CmftvbError, match="'corrected' has wongwang.fic false"):
        gstar.require_fic_for_relative([0.5], ["corrected"], {"wongwang.fic": "false"})
    assert gstar.fic_on("corrected") and not gstar.fic_on("published")


# ------------------------------------------------------------------ J_i for the engine
def test_j_i_for_engine_fills_cerebellar_nodes_and_checks_the_network(conn, nets):
    net = nets["cmf"]
    fr = fic.tune(conn, net, 0.3)
    J = fic.j_i_for_engine(fr, net)  # the name the CLI uses
    ww = np.asarray(net.node_model) == "wongwang"
    assert np.isfinite(J).all() and (~ww).any()
    np.testing.assert_array_equal(J[ww], fr.J_i[ww])
    assert np.all(J[~ww] == net.params["wongwang"]["J_i"])
    saved = fic.FicResult.from_saved(fr.to_arrays(), fr.meta())
    np.testing.assert_array_equal(gstar.j_i_for_engine(saved, net), J)
    with pytest.raises(CmftvbError, match="model variant"):
        gstar.j_i_for_engine(fr, nets["homogeneous"])
    other = build_network(small_connectome(seed=4), "cmf", "corrected")
    with pytest.raises(CmftvbError, match="connectome digest"):
        gstar.j_i_for_engine(fr, other)
    fr.J_i[0] = np.nan
    with pytest.raises(CmftvbError, match="n0_cortex"):
        gstar.j_i_for_engine(fr, net)


def test_fic_initial_is_the_fixed_point(conn, nets):
    """S_E* from its closed form (gamma_E tau_E r / (1 + gamma_E tau_E r), MODEL.md §3 with the
    preset's parameters), S_I* and the cerebellar rates (kHz) as the FIC result's, averaged."""
    net = nets["cmf"]
    fr = fic.tune(conn, net, 0.3)
    init = gstar.fic_initial(fr)
    ww = net.params["wongwang"]
    gr = ww["gamma_E"] * ww["tau_E"] * fr.target_hz  # gamma_E (per ms) x tau_E (ms) x r (Hz)
    assert init["S_E"] == pytest.approx(gr / (1 + gr), rel=1e-9)
    assert init["S_I"] == pytest.approx(np.nanmean(fr.S_I), rel=1e-12)
    cb = np.asarray(net.node_model) == "crbl"
    for i, pop in enumerate(("GrC", "GoC", "MLI", "PC")):
        assert init[pop] == pytest.approx(fr.crbl_rates_hz[cb, i].mean() / 1000.0, rel=1e-12)
    hom = gstar.fic_initial(fic.tune(conn, nets["homogeneous"], 0.3))
    assert set(hom) == {"S_E", "S_I"}


def test_instability_warning_matches_the_G_star_search(conn, nets, record):
    """One Jacobian at the FIC state says what the G* bisection says: stable below, not above."""
    for name, net in nets.items():
        g = record["variants"][name]
        assert gstar.instability_warning(conn, net, fic.tune(conn, net, 0.97 * g)) == ""
        msg = gstar.instability_warning(conn, net, fic.tune(conn, net, 1.03 * g))
        assert f"at or above G* of {name}-corrected" in msg and "\n" not in msg


# ------------------------------------------------------------------ the run's coupling
def test_run_coupling_relative_label(conn, nets, record):
    net = nets["homogeneous"]
    G = gstar.absolute_G("r0.5", record)
    fr = fic.tune(conn, net, G)
    got, kwargs, meta = run_coupling("r0.5", net, critical=record, fic_result=fr)
    assert got == 0.5 * record["reference"]
    assert set(kwargs) == {"J_i", "initial"}
    np.testing.assert_array_equal(kwargs["J_i"], gstar.j_i_for_engine(fr, net))
    assert kwargs["initial"] == gstar.fic_initial(fr) == meta["initial"]
    assert meta["fic"] and meta["G_label"] == "r0.5" and meta["G_relative"] == 0.5
    assert meta["G_star"]["reference"] == record["reference"]
    # both variants of the subject at the same absolute G (common random numbers)
    other, _, _ = run_coupling(
        "r0.5", nets["cmf"], critical=record, fic_result=fic.tune(conn, nets["cmf"], G)
    )
    assert other == got


def test_run_coupling_refusals_and_warning(conn, nets, record, caplog):
    net = nets["homogeneous"]
    with pytest.raises(CmftvbError, match="no FIC result"):
        run_coupling("0.2", net)
    with pytest.raises(CmftvbError, match="tuned at G 0.2"):
        run_coupling("0.3", net, fic_result=fic.tune(conn, net, 0.2))
    above = 1.5 * record["variants"]["homogeneous"]
    label = gstar.format_G_label(above)
    with caplog.at_level(logging.WARNING, logger="cmftvb.batch"):
        G, _, meta = run_coupling(
            label, net, critical=record, fic_result=fic.tune(conn, net, float(label))
        )
    assert G == float(label) and meta["G_relative"] is None
    assert "at or above G* of homogeneous" in caplog.text
    # FIC off (published): no J_i, no FIC input needed
    pub = build_network(conn, "homogeneous", "published")
    G, kwargs, meta = run_coupling("2", pub)
    assert G == 2.0 and kwargs == {} and not meta["fic"] and meta["G_star"] is None
