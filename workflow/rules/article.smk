# The article's cerebellar analyses (issue 12): input shares (Table 5), figures of one cMF run
# (rate traces, Fig. 5A; coherence between nodes; electrophysiology to BOLD; un-normalised
# spectra), cerebellar flatmaps (Fig. 5B/C) and the open-loop cerebellum. Only with the cMF
# model in network.models; the open loop only with openloop.enabled. Targets and input
# functions: article_paths.smk.


rule input_shares:
    input:
        simulations=[
            run_path("simulations", "npz", s, "cmf", p, g, BATCHES[0])
            for s, p, g in cmf_runs()
        ],
        networks=[network_path(s, "cmf", p) for s, p, _ in cmf_runs()],
        connectomes=[subject_path("connectomes", "npz", s) for s, _, _ in cmf_runs()],
    output:
        table=report(
            INPUT_SHARES,
            caption="../report/input_shares.rst",
            category="5. Article analyses",
            labels={"table": "input shares"},
        ),
    log:
        f"{RESULTS}/logs/input_shares.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=run_mem_mb,
        runtime=15,
    params:
        runs=cmf_runs(),
        monitor_period_ms=config["simulation"]["monitor_period_ms"],
        transient_s=config["signals"]["ephys_transient_s"],
    script:
        "../../scripts/input_shares.py"


rule fig_input_shares:
    input:
        table=INPUT_SHARES,
    output:
        png=report(
            f"{RESULTS}/figures/{{preset}}/input_shares.png",
            caption="../report/input_shares.rst",
            category="5. Article analyses",
            labels={"figure": "input shares", "preset": "{preset}"},
        ),
        svg=f"{RESULTS}/figures/{{preset}}/input_shares.svg",
    log:
        f"{RESULTS}/logs/figures/{{preset}}/input_shares.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/fig_input_shares.py"


rule fig_cmf_run:
    input:
        simulation=run_path("simulations", "npz", **FIRST_RUN),
        signals=run_path("signals", "npz", **FIRST_RUN),
        features=run_path("signals", "ephys.tsv", **FIRST_RUN),
        ephys_bold=run_path("signals", "ephys_bold.tsv", **FIRST_RUN),
        connectome=subject_path("connectomes", "npz", SUBJECTS[0]),
    output:
        rate_traces=report(
            f"{RESULTS}/figures/{{preset}}/rate_traces.png",
            caption="../report/rate_traces.rst",
            category="5. Article analyses",
            labels={"figure": "rate traces", "preset": "{preset}"},
        ),
        node_coherence=report(
            f"{RESULTS}/figures/{{preset}}/node_coherence.png",
            caption="../report/node_coherence.rst",
            category="5. Article analyses",
            labels={"figure": "coherence between nodes", "preset": "{preset}"},
        ),
        ephys_bold=report(
            f"{RESULTS}/figures/{{preset}}/ephys_bold.png",
            caption="../report/ephys_bold.rst",
            category="5. Article analyses",
            labels={"figure": "electrophysiology to BOLD", "preset": "{preset}"},
        ),
        rhythm_spectra=report(
            f"{RESULTS}/figures/{{preset}}/rhythm_spectra.png",
            caption="../report/rhythm_spectra.rst",
            category="5. Article analyses",
            labels={"figure": "rhythms", "preset": "{preset}"},
        ),
        svg=multiext(
            f"{RESULTS}/figures/{{preset}}/",
            "rate_traces.svg",
            "node_coherence.svg",
            "ephys_bold.svg",
            "rhythm_spectra.svg",
        ),
    log:
        f"{RESULTS}/logs/figures/{{preset}}/cmf_run.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=run_mem_mb,
        runtime=15,
    params:
        rate_traces=config["figures"]["rate_traces"],
        transient_s=config["signals"]["ephys_transient_s"],
        run=lambda w: f"subject {SUBJECTS[0]}, cMF {w.preset}, G {G_VALUES[0]}",
    script:
        "../../scripts/fig_cmf_run.py"


rule fig_crbl_flatmap:
    input:
        unpack(flatmap_inputs),
    output:
        png=report(
            f"{RESULTS}/figures/{{preset}}/crbl_flatmap_{{metric}}.png",
            caption="../report/crbl_flatmap.rst",
            category="5. Article analyses",
            labels={"figure": "flatmap {metric}", "preset": "{preset}"},
        ),
        svg=f"{RESULTS}/figures/{{preset}}/crbl_flatmap_{{metric}}.svg",
    log:
        f"{RESULTS}/logs/figures/{{preset}}/crbl_flatmap_{{metric}}.log",
    wildcard_constraints:
        metric="bold_mae|fc_profile_error|PC_rate_hz|PC_dominant_hz",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=run_mem_mb,
        runtime=15,
    params:
        subjects=SUBJECTS,
        feature_subjects=[s for s in SUBJECTS for g in G_VALUES],  # flatmap_inputs' order
    script:
        "../../scripts/fig_crbl_flatmap.py"


rule download_openloop:
    output:
        OPENLOOP_ZIP,
    log:
        f"{RESULTS}/logs/download_openloop.log",
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=15,
    params:
        url=config["openloop"]["url"],
        sha256=config["openloop"]["sha256"],
    script:
        "../../scripts/download_sample.py"


rule openloop:
    input:
        zip=OPENLOOP_ZIP,
    output:
        npz=f"{RESULTS}/openloop/openloop.npz",
        rhythms=f"{RESULTS}/openloop/rhythms.tsv",
        png=report(
            f"{RESULTS}/figures/openloop.png",
            caption="../report/openloop.rst",
            category="5. Article analyses",
            labels={"figure": "open-loop cerebellum"},
        ),
        svg=f"{RESULTS}/figures/openloop.svg",
    log:
        f"{RESULTS}/logs/openloop.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        **config["openloop"],
        monitor_period_ms=config["simulation"]["monitor_period_ms"],
        transient_s=config["signals"]["ephys_transient_s"],
        nperseg=config["signals"]["welch_nperseg"],
        noverlap=config["signals"]["welch_noverlap"],
    script:
        "../../scripts/openloop.py"
