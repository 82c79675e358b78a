# Stage 5, fitness (STUDY.md; MODEL.md §9): each run (per batch, seed by seed) scored against
# its subject's empirical BOLD (global FC fit, FCD KS distance, region-wise BOLD MAE and
# FC-profile error, on nodes with empirical data) plus its electrophysiological features, as
# one tidy table per run (cmftvb.fitness.score_batch); then one table for the whole study.


rule fitness:
    input:
        signals=run_path("signals", "npz"),
        features=run_path("signals", "ephys.tsv"),
        empirical=subject_path("empirical", "npz"),
        connectome=subject_path("connectomes", "npz"),
    output:
        table=run_path("fitness", "tsv"),
        fc=run_path("fitness", "fc.npz"),
    log:
        run_path("logs/fitness", "log"),
    group:
        "subject_{subject}"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        **config["fitness"],
    script:
        "../../scripts/fitness.py"


rule study_table:
    input:
        batches_all("fitness", "tsv"),
    output:
        f"{RESULTS}/study/fitness.tsv",
    log:
        f"{RESULTS}/logs/study_table.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=lambda wildcards, input, attempt: run_mem_mb(wildcards, input, attempt),
        runtime=10,
    script:
        "../../scripts/study_table.py"
