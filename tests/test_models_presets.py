"""Parameter presets (cmftvb.models.presets)."""

from __future__ import annotations

import copy

import pytest

from cmftvb import CmftvbError
from cmftvb.models import presets
from cmftvb.models.presets import SWITCHES, apply_overrides, load_preset


def test_both_presets_load_and_validate():
    for name in presets.PRESETS:
        pr = load_preset(name)
        assert pr["name"] == name
        assert "inherit" not in pr
        presets.validate(pr)


def test_published_inherits_from_corrected():
    cor, pub = load_preset("corrected"), load_preset("published")
    # parameters shared, only switches and bounds differ
    for sec in ("integration", "coupling", "wongwang", "crbl", "initial_history"):
        if sec == "wongwang":  # FIC (issue 10) is on in corrected, off in the authors' code
            assert cor[sec].pop("fic") is True and pub[sec].pop("fic") is False
        assert cor[sec] == pub[sec], sec
    assert cor["bounds"]["S_E"] == [0.0, 1.0] and pub["bounds"]["S_E"] == [0.0, None]
    assert cor["bounds"]["S_I"] == [0.0, 1.0] and pub["bounds"]["S_I"] == [0.0, None]
    for var in ("GrC", "GoC", "MLI", "PC"):
        assert cor["bounds"][var] == pub["bounds"][var] == [0.0, None]


def test_switches_documented_and_set():
    cor, pub = load_preset("corrected"), load_preset("published")
    assert set(cor["switches"]) == set(SWITCHES) == set(pub["switches"])
    for name, doc in SWITCHES.items():
        assert isinstance(doc, str) and len(doc) > 40, name
    deviations = set(SWITCHES) - {"pf_to_goc", "mossy_masked_at_crbl"}
    assert not any(cor["switches"][k] for k in deviations)
    assert all(pub["switches"][k] for k in deviations)
    # §6.1-§6.9 each have a switch that cites it, except §6.8 (BOLD from the first state
    # variable), which both presets follow without a switch (test_models_registry)
    for item in (1, 2, 3, 4, 5, 6, 7, 9):
        assert any(f"§6.{item}" in doc for doc in SWITCHES.values()), item
    assert cor["switches"]["pf_to_goc"] and pub["switches"]["pf_to_goc"]
    assert not cor["switches"]["mossy_masked_at_crbl"]


def test_load_returns_independent_copies():
    a = load_preset("corrected")
    a["crbl"]["alpha"]["PC"] = 99.0
    assert load_preset("corrected")["crbl"]["alpha"]["PC"] == 5.0


def test_unknown_preset():
    with pytest.raises(CmftvbError, match="unknown"):
        load_preset("nonexistent")
    with pytest.raises(CmftvbError, match="not a preset name"):
        load_preset("../corrected")


def test_apply_overrides():
    pr = load_preset("corrected")
    before = copy.deepcopy(pr)
    out = apply_overrides(
        pr,
        [
            ("crbl.alpha.PC", "2.5"),
            ("coupling.G", "1"),  # int for a float: stored as float
            ("switches.rounded_P", "true"),
            ("crbl.P.GrC.0", "-0.5"),
            ("crbl.background.kind", "constant"),
            ("bounds.S_E", "[0.0, null]"),
            ("crbl.P.MLI", "[1, 2, 3, 4, 5]"),
        ],
    )
    assert pr == before  # the input is untouched
    assert out["crbl"]["alpha"]["PC"] == 2.5
    assert out["coupling"]["G"] == 1.0 and isinstance(out["coupling"]["G"], float)
    assert out["switches"]["rounded_P"] is True
    assert out["crbl"]["P"]["GrC"][0] == -0.5
    assert out["crbl"]["background"]["kind"] == "constant"
    assert out["bounds"]["S_E"] == [0.0, None]
    assert out["crbl"]["P"]["MLI"] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("crbl.alpha.XX", "1", "crbl.alpha.XX: unknown key 'XX'"),
        ("nosuch.key", "1", "nosuch: unknown key"),
        ("crbl.alpha.PC", "abc", "crbl.alpha.PC: expected float"),
        ("switches.pf_to_goc", "1", "switches.pf_to_goc: expected true/false"),
        ("coupling.G", "true", "coupling.G: expected float"),
        ("crbl.background.kind", "pink", "crbl.background.kind must be one of"),
        ("crbl", "1", "is a section"),
        ("crbl.P.GrC", "[1, 2]", "expected a list of 5"),
        ("crbl.P.GrC.7", "1", "index 7 out of range"),
        ("crbl.T", "-1", "crbl.T must be > 0"),
        ("crbl.order", "3", "crbl.order must be 1 or 2"),
        ("crbl.alpha.PC", "[1", "not a YAML scalar"),
        ("crbl..PC", "1", "empty key part"),
        # removed: it was read by no code (MODEL.md §6.8 holds in both presets)
        ("switches.bold_first_variable", "true", "unknown key 'bold_first_variable'"),
    ],
)
def test_apply_overrides_errors(key, value, match):
    with pytest.raises(CmftvbError, match=match.replace("(", r"\(").replace("[", r"\[")):
        apply_overrides(load_preset("corrected"), [(key, value)])


def test_validate_rejects_broken_presets():
    pr = load_preset("corrected")
    del pr["switches"]["ww_sign_error"]
    with pytest.raises(CmftvbError, match="switches.ww_sign_error"):
        presets.validate(pr)
    pr = load_preset("corrected")
    pr["switches"]["made_up"] = True
    with pytest.raises(CmftvbError, match="unknown switch"):
        presets.validate(pr)
    pr = load_preset("corrected")
    pr["bounds"]["S_E"] = [1.0, 0.0]
    with pytest.raises(CmftvbError, match="bounds.S_E"):
        presets.validate(pr)
