# Stage 6, statistical comparison (STUDY.md): homogeneous vs cMF paired across subjects (seeds
# averaged within subject first), both models at the G chosen by one rule (stats.best_G_rule,
# default leave-one-subject-out) without looking at the comparison; Benjamini-Hochberg within
# the declared primary family (stats.primary) and within each secondary metric. The design
# facts the summary states (FIC, noise, run length) come from the config and the presets.


rule stats:
    input:
        f"{RESULTS}/study/fitness.tsv",
        shares=stats_shares_input(),
    output:
        best_G=f"{RESULTS}/study/best_G.tsv",
        comparison=f"{RESULTS}/study/comparison.tsv",
        summary=report(
            f"{RESULTS}/study/summary.md",
            caption="../report/summary.rst",
            category="4. Statistics",
        ),
    log:
        f"{RESULTS}/logs/stats.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=run_mem_mb,
        runtime=30,
    params:
        **config["stats"],
        design={
            "presets": config["network"]["presets"],
            "overrides": config["network"]["overrides"],
            "noise_sigma": config["simulation"]["noise_sigma"],
            "duration_ms": config["simulation"]["duration_ms"],
            "bold_transient_s": config["signals"]["bold_transient_s"],
            "tr_s": TR_S,
        },
    script:
        "../../scripts/stats.py"
