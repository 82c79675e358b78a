# Model recovery and power on a synthetic cohort (issue 11; cmftvb.signals.synthetic,
# cmftvb.recovery): with cohort.source 'synthetic', every subject of the base cohort gets
# "empirical" BOLD on every node from each generator (a fitted model variant under
# synthetic.preset with FIC, at synthetic.G_relative x the subject's G*, seeds the fits never
# use, measurement noise at synthetic.snr). The fitting runs are the study's own simulate and
# signals jobs, unchanged; each is scored against each generator's BOLD at each truncation
# length, with every node and with the cerebellum masked; then the confusion and power tables
# and their figure.


rule synthetic_bold:
    input:
        unpack(synthetic_inputs),
    output:
        synthetic_path(),
    log:
        log_path("synthetic_bold", "{generator}/{subject}"),
    wildcard_constraints:
        generator=VARIANT_RE,
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        G_relative=config["synthetic"]["G_relative"],
        seed=config["synthetic"]["seed"],
        duration_s=config["synthetic"]["duration_s"],
        transient_s=config["synthetic"]["transient_s"],
        snr=config["synthetic"]["snr"],
        bold_model=config["synthetic"]["bold_model"],
        tr_s=TR_S,
    script:
        "../../scripts/synthetic_bold.py"


rule recovery_fitness:
    input:
        signals=run_path("signals", "npz"),
        synthetic=synthetic_path(),
        connectome=subject_path("connectomes", "npz"),
    output:
        recovery_fitness_path(),
    log:
        run_path("logs/recovery_fitness/{generator}", "log"),
    wildcard_constraints:
        generator=VARIANT_RE,
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        lengths_s=config["synthetic"]["lengths_s"],
        cerebral_scope=config["synthetic"]["cerebral_scope"],
        fitness=config["fitness"],
    script:
        "../../scripts/recovery_fitness.py"


rule recovery:
    input:
        tables=recovery_fitness_all(),
        connectomes=connectomes_all(),
    output:
        table=f"{RESULTS}/recovery/fitness.tsv",
        confusion=report(
            f"{RESULTS}/recovery/confusion.tsv",
            caption="../report/recovery_confusion.rst",
            category="6. Model recovery",
        ),
        power=report(
            f"{RESULTS}/recovery/power.tsv",
            caption="../report/recovery_power.rst",
            category="6. Model recovery",
        ),
    log:
        f"{RESULTS}/logs/recovery.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        endpoints=config["synthetic"]["endpoints"],
        cerebral_scope=config["synthetic"]["cerebral_scope"],
        n_subjects=config["synthetic"]["n_subjects"],
        n_resamples=config["synthetic"]["n_resamples"],
        seed=config["synthetic"]["resample_seed"],
        alpha=config["stats"]["alpha"],
        test=config["synthetic"]["test"],
    script:
        "../../scripts/recovery.py"


rule fig_recovery:
    input:
        confusion=f"{RESULTS}/recovery/confusion.tsv",
        power=f"{RESULTS}/recovery/power.tsv",
    output:
        png=report(
            f"{RESULTS}/figures/recovery.png",
            caption="../report/recovery.rst",
            category="6. Model recovery",
        ),
        svg=f"{RESULTS}/figures/recovery.svg",
    log:
        f"{RESULTS}/logs/figures/recovery.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        alpha=config["stats"]["alpha"],
    script:
        "../../scripts/fig_recovery.py"
