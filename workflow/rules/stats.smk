# Stage 6, statistical comparison (STUDY.md): homogeneous vs cMF paired across subjects (seeds
# averaged within subject first), each model at its own best G chosen without looking at the
# comparison (stats.best_G_rule).


rule stats:
    input:
        f"{RESULTS}/study/fitness.tsv",
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
    script:
        "../../scripts/stats.py"
