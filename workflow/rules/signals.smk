# Stage 4, signal synthesis (STUDY.md; MODEL.md §8): per run, seed by seed, simulated BOLD at
# the subject's TR and electrophysiological features (cmftvb.signals.run_signals). The TR is a
# parameter (the cohort's, cmftvb.connectome.sources.cohort_tr_s), not read from the empirical
# file. Small jobs: grouped per subject with the fitness jobs so that a cluster gets one
# submission per subject. The connectome gives the node roles (coherence between nodes,
# electrophysiology to BOLD at the cerebellar-cortex nodes).


rule signals:
    input:
        simulation=run_path("simulations", "npz"),
        connectome=subject_path("connectomes", "npz"),
    output:
        npz=run_path("signals", "npz"),
        features=run_path("signals", "ephys.tsv"),
        ephys_bold=run_path("signals", "ephys_bold.tsv"),
    log:
        run_path("logs/signals", "log"),
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
        tr_s=TR_S,
    script:
        "../../scripts/signals.py"
