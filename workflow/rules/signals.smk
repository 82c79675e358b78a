# Stage 4, signal synthesis (STUDY.md; MODEL.md §8): per simulation batch, seed by seed,
# simulated BOLD at the subject's TR and electrophysiological features. Small jobs: grouped per
# subject with the fitness jobs so that a cluster gets one submission per subject.


rule signals:
    input:
        simulation=f"{RESULTS}/simulations/{{subject}}/{{model}}-{{preset}}/G{{G}}/seeds{{seeds}}.npz",
        empirical=f"{RESULTS}/empirical/{{subject}}.npz",
    output:
        npz=f"{RESULTS}/signals/{{subject}}/{{model}}-{{preset}}/G{{G}}/seeds{{seeds}}.npz",
        features=f"{RESULTS}/signals/{{subject}}/{{model}}-{{preset}}/G{{G}}/seeds{{seeds}}.ephys.tsv",
    log:
        f"{RESULTS}/logs/signals/{{subject}}/{{model}}-{{preset}}/G{{G}}/seeds{{seeds}}.log",
    group:
        "subject_{subject}"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=run_mem_mb,
        runtime=10,
    params:
        **config["signals"],
        monitor_period_ms=config["simulation"]["monitor_period_ms"],
    script:
        "../../scripts/signals.py"
