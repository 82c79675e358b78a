"""The model registry (cmftvb.models.registry) against the kernels, presets and network."""

from __future__ import annotations

import inspect

import pytest

from cmftvb import CmftvbError, network
from cmftvb.connectome.roles import ROLE_GROUPS, ROLES
from cmftvb.models import crbl, registry, wongwang
from cmftvb.models.base import LocalModel
from cmftvb.models.presets import PRESETS, load_preset


def test_network_tables_are_the_engine_layout():
    # The layout the engine, the TVB bridge and every stored simulation were built on (the
    # literal tables network.py held before the registry): a change here reorders state
    # variables, input slots or the BOLD input of every run.
    assert network.MODEL_VARS == {"wongwang": ("S_E", "S_I"), "crbl": ("GrC", "GoC", "MLI", "PC")}
    assert network.MODEL_INPUTS == {"wongwang": ("I_coupling",), "crbl": ("mf", "pf")}
    assert network.BOLD_VAR == {"wongwang": "S_E", "crbl": "GrC"}
    assert network.MODELS == ("homogeneous", "cmf") == registry.network_models()
    assert registry.state_vars() == ("S_E", "S_I", "GrC", "GoC", "MLI", "PC")
    assert registry.rate_vars() == ("r_E", "r_I", "GrC", "GoC", "MLI", "PC")
    assert registry.populations() == ("GrC", "GoC", "MLI", "PC") == crbl.POPS


def test_state_vars_follow_the_kernels_argument_order():
    # each model's dfun takes its state variables first, in the order the engine packs them
    for mod in (wongwang, crbl):
        model = mod.MODEL
        args = list(inspect.signature(mod.dfun.py_func).parameters)
        assert tuple(args[: len(model.state_vars)]) == model.state_vars, model.name
    # the cerebellar inputs follow the rates (mf, pf); the population indices match
    args = list(inspect.signature(crbl.dfun.py_func).parameters)
    assert tuple(args[4:6]) == crbl.MODEL.inputs
    assert [crbl.POPS[i] for i in (crbl.GRC, crbl.GOC, crbl.MLI, crbl.PC)] == list(
        crbl.MODEL.state_vars
    )


def test_engine_outputs_match_the_registry():
    engine = pytest.importorskip("cmftvb.engine")
    assert tuple(engine.OUTPUT_VARS) == registry.state_vars()
    wongwang_rates = registry.local_model("wongwang").derived_rates
    assert tuple(engine.RATE_VARS) == wongwang_rates == ("r_E", "r_I")
    assert registry.local_model("crbl").derived_rates == ()


def test_bold_drive_is_the_first_state_variable():
    # MODEL.md §6.8, in both presets (there is no switch for it any more)
    for name, model in registry.LOCAL_MODELS.items():
        assert model.bold_var in model.state_vars, name
        assert model.bold_var == model.state_vars[0], name
    for preset in PRESETS:
        assert "bold_first_variable" not in load_preset(preset)["switches"]


def test_units_and_conversion_to_hz():
    units = registry.units()
    assert set(units) == {
        *registry.state_vars(),
        *registry.rate_vars(),
        *(i for m in registry.LOCAL_MODELS.values() for i in m.inputs),
    }
    cr, ww = registry.local_model("crbl"), registry.local_model("wongwang")
    assert all(cr.units[p] == "kHz" and cr.to_hz(p) == 1000.0 for p in cr.rate_vars)
    assert cr.units["mf"] == cr.units["pf"] == "kHz"
    assert ww.to_hz("r_E") == ww.to_hz("r_I") == 1.0
    assert ww.units["S_E"] == ww.units["S_I"] == "1"
    with pytest.raises(CmftvbError, match="not one of its rates"):
        ww.to_hz("S_E")


def test_ranges_are_read_from_physiology_and_ordered():
    from cmftvb.signals.ephys import physiological_ranges

    table = physiological_ranges()
    rng = registry.ranges()
    # every rate of every model has a range, equal to the one the signals stage reads
    assert set(rng) == set(registry.rate_vars())
    for var, (lo, hi) in rng.items():
        assert 0.0 < lo < hi, var
        assert (lo, hi) == (table[var]["low_hz"], table[var]["high_hz"]), var


def test_presets_cover_every_local_model():
    for name in PRESETS:
        pr = load_preset(name)
        for model in registry.LOCAL_MODELS:
            assert isinstance(pr.get(model), dict), (name, model)
        assert set(registry.state_vars()) <= set(pr["bounds"]), name
        for pop in registry.populations():
            assert pop in pr["crbl"]["cells"] and pop in pr["crbl"]["alpha"], (name, pop)


def test_network_models_name_known_roles_and_models():
    for name, rules in registry.NETWORK_MODELS.items():
        for spec, local in rules:
            assert spec in ROLE_GROUPS or spec in ROLES, (name, spec)
            assert local in registry.LOCAL_MODELS, (name, local)
    assert registry.DEFAULT_LOCAL_MODEL in registry.LOCAL_MODELS
    assert network.ROLES is ROLES
    assert network.role_groups() == {k: tuple(v) for k, v in ROLE_GROUPS.items()}
    nm = network.node_models(list(ROLES), "cmf")
    assert [r for r, m in zip(ROLES, nm, strict=True) if m == "crbl"] == list(
        ROLE_GROUPS["crbl_cortex"]
    )
    assert set(network.node_models(list(ROLES), "homogeneous")) == {"wongwang"}
    with pytest.raises(CmftvbError, match="model 'nope': unknown"):
        network.node_models(list(ROLES), "nope")
    with pytest.raises(CmftvbError, match="local model 'nope': unknown"):
        registry.local_model("nope")


def _declare(**changes):
    fields = dict(
        name="toy",
        description="toy",
        state_vars=("x", "y"),
        rate_vars=("r",),
        inputs=("c",),
        bold_var="x",
        units={"x": "1", "y": "1", "r": "Hz", "c": "1"},
    )
    fields.update(changes)
    return LocalModel(**fields)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"bold_var": "r"}, "bold_var 'r' is not a state variable"),
        ({"units": {"x": "1", "y": "1", "r": "Hz"}}, r"missing \['c'\]"),
        ({"units": {"x": "1", "y": "1", "r": "mV", "c": "1"}}, "not Hz/kHz"),
        ({"state_vars": ("x", "x")}, "duplicate"),
        ({"inputs": ("x",), "units": {"x": "1", "y": "1", "r": "Hz"}}, "input has the name"),
        ({"rate_vars": ()}, "rate_vars must be a non-empty tuple"),
    ],
)
def test_bad_declarations_are_refused(changes, match):
    assert _declare().derived_rates == ("r",)
    with pytest.raises(CmftvbError, match=match):
        _declare(**changes)


def test_declarations_are_read_only():
    model = registry.local_model("crbl")
    with pytest.raises(AttributeError):
        model.bold_var = "PC"
    with pytest.raises(TypeError):
        model.units["GrC"] = "Hz"
    with pytest.raises(TypeError):
        registry.LOCAL_MODELS["toy"] = model


def test_every_network_model_has_projection_tables():
    from importlib import resources

    import yaml

    tables = yaml.safe_load(resources.files("cmftvb").joinpath("projections.yaml").read_text())
    assert set(tables) == set(registry.network_models())
    for name in registry.network_models():
        for routing in ("corrected", "published"):
            for p in network.load_projection_table(name, routing):
                # every row names variables and inputs the registry declares
                for m, v in p["source_var"].items():
                    assert v in registry.local_model(m).state_vars, (name, p["name"])
                for m, v in p["target_input"].items():
                    assert v in registry.local_model(m).inputs, (name, p["name"])
