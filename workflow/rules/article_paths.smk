"""Paths and targets of the article's analyses (issue 12; rules in article.smk): the cMF run
that the single-run figures draw, the flatmap metrics, the open-loop download, and
article_outputs(), named by rule all."""

#: The cMF run the single-run figures draw: first subject, first G, first batch (its first seed).
FIRST_RUN = dict(subject=SUBJECTS[0], model="cmf", G=G_VALUES[0], seeds=BATCHES[0])
#: Whether cerebellar BOLD can exist: only a user cohort may bring it (the demo data set and the
#: sample subject have none).
CRBL_BOLD = HAS_EMPIRICAL and config["cohort"]["source"] == "participants"
FLATMAP_METRICS = (
    ["bold_mae", "fc_profile_error"] if CRBL_BOLD else ["PC_rate_hz", "PC_dominant_hz"]
)
OPENLOOP_ZIP = "resources/openloop/SC_dirCB_ONLYCRBL.zip"


def article_outputs():
    """Targets of the article's analyses (PNG figures have SVG twins)."""
    out = []
    if "cmf" in MODELS:
        out.append(INPUT_SHARES)
        for p in PRESETS:
            out += [
                f"{RESULTS}/figures/{p}/{name}.png"
                for name in (
                    "input_shares",
                    "rate_traces",
                    "node_coherence",
                    "ephys_bold",
                    "rhythm_spectra",
                )
            ]
            out += [
                f"{RESULTS}/figures/{p}/crbl_flatmap_{m}.png" for m in FLATMAP_METRICS
            ]
    if config["openloop"]["enabled"]:
        out.append(f"{RESULTS}/figures/openloop.png")
    return out


def cmf_runs():
    """(subject, preset, G) of the first batch of every cMF run."""
    return [(s, p, g) for s in SUBJECTS for p in PRESETS for g in G_VALUES]


def flatmap_inputs(wildcards):
    out = {"connectome": subject_path("connectomes", "npz", SUBJECTS[0])}
    if wildcards.metric in ("bold_mae", "fc_profile_error"):
        out["table"] = f"{RESULTS}/study/fitness.tsv"
        out["best_G"] = f"{RESULTS}/study/best_G.tsv"
    else:
        out["features"] = [
            run_path("signals", "ephys.tsv", s, "cmf", wildcards.preset, g, BATCHES[0])
            for s in SUBJECTS
            for g in G_VALUES
        ]
    return out
