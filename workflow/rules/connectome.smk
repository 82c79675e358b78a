# Stage 1, connectome preparation (STUDY.md; MODEL.md §7): load each subject's connectome,
# validate it, annotate node roles from labels, normalise, append and prewire the cerebellum;
# write the prepared connectome and the subject's empirical BOLD (preprocessed, nodes with data).


rule prepare_connectome:
    input:
        unpack(connectome_inputs),
    output:
        connectome=f"{RESULTS}/connectomes/{{subject}}.npz",
        empirical=f"{RESULTS}/empirical/{{subject}}.npz",
    log:
        f"{RESULTS}/logs/prepare_connectome/{{subject}}.log",
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
        tr_s=config["cohort"]["tr_s"],
        prepare=config["connectome"],
        bandpass_hz=config["fitness"]["bandpass_hz"],
        filter_order=config["fitness"]["filter_order"],
    script:
        "../../scripts/prepare_connectome.py"


rule fig_connectome:
    input:
        f"{RESULTS}/connectomes/{{subject}}.npz",
    output:
        png=report(
            f"{RESULTS}/figures/connectomes/{{subject}}.png",
            caption="../report/connectome.rst",
            category="0. Connectomes",
            labels={"subject": "{subject}"},
        ),
        svg=f"{RESULTS}/figures/connectomes/{{subject}}.svg",
    log:
        f"{RESULTS}/logs/fig_connectome/{{subject}}.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/fig_connectome.py"
