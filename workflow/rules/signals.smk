# Stage 4, signal synthesis (STUDY.md; MODEL.md §8): per run (one seed of a simulation batch),
# simulated BOLD at the subject's TR and electrophysiological features. Small jobs: grouped per
# subject with the fitness jobs so that a cluster gets one submission per subject.


rule signals:
    input:
        simulation=lambda w: simulation_path(
            w.subject, w.model, w.preset, w.G, batch_of(w.seed)
        ),
        empirical=f"{RESULTS}/empirical/{{subject}}.npz",
    output:
        npz=f"{RESULTS}/signals/{{subject}}/{{model}}-{{preset}}/G{{G}}/seed{{seed}}.npz",
        features=f"{RESULTS}/signals/{{subject}}/{{model}}-{{preset}}/G{{G}}/seed{{seed}}.ephys.tsv",
    log:
        f"{RESULTS}/logs/signals/{{subject}}/{{model}}-{{preset}}/G{{G}}/seed{{seed}}.log",
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
