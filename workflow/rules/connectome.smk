# Stage 1, connectome preparation (STUDY.md; MODEL.md §7): load each subject's connectome,
# validate it, annotate node roles from labels, normalise, append and prewire the cerebellum.
# The subject's empirical BOLD is prepared apart (rule prepare_empirical), so that changing the
# band-pass (fitness.*) neither rewrites connectomes nor reruns simulations.


rule prepare_connectome:
    input:
        unpack(connectome_inputs),
    output:
        connectome=subject_path("connectomes", "npz"),
    log:
        log_path("prepare_connectome", "{subject}"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        source=config["cohort"]["source"],
        sample_sha256=config["cohort"]["sample"]["sha256"],
        connectome_format=config["cohort"]["connectome_format"],
        has_bold=HAS_EMPIRICAL,
        prepare=config["connectome"],
    script:
        "../../scripts/prepare_connectome.py"


rule prepare_empirical:
    input:
        unpack(empirical_inputs),
    output:
        empirical=subject_path("empirical", "npz"),
    log:
        log_path("prepare_empirical", "{subject}"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        source=config["cohort"]["source"],
        tr_s=config["cohort"]["tr_s"],
        bandpass_hz=config["fitness"]["bandpass_hz"],
        filter_order=config["fitness"]["filter_order"],
    script:
        "../../scripts/prepare_empirical.py"


rule fig_connectome:
    input:
        subject_path("connectomes", "npz"),
    output:
        png=report(
            f"{RESULTS}/figures/connectomes/{{subject}}.png",
            caption="../report/connectome.rst",
            category="0. Connectomes",
            labels={"subject": "{subject}"},
        ),
        svg=f"{RESULTS}/figures/connectomes/{{subject}}.svg",
    log:
        log_path("fig_connectome", "{subject}"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/fig_connectome.py"
