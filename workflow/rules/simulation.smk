# Stage 3, simulation (STUDY.md; MODEL.md §5): one job per run, i.e. subject x model variant x G
# x batch of seeds (cmftvb.batch.simulate_batch; seeds of a batch are lanes of one compiled
# loop, and each seed's result does not depend on its batch). Stored under store "activity"
# (cmftvb.io SIMULATION_PACKED): population rates and the BOLD input variable averaged over
# simulation.monitor_period_ms, with a leading seed axis. Under an FIC preset the run reads its
# FIC state (per-node J_i) and the subject's G* record (the absolute G of a label 'r0.9'; a
# warning in the log when G is at or above the variant's G*): rules in fic.smk.
# simulation.store picks what is kept: "signals" (default), the run's signals streamed during
# the run (cmftvb.io SIMULATION_SIGNALS: BOLD at the TR, spectra, coherences, means, rates through
# the hemodynamics, a rate excerpt; its size does not grow with the simulated time; made with
# the signals settings, which the rule signals checks), or "activity", the stored activity
# above.


rule simulate:
    input:
        unpack(fic_inputs),
        connectome=subject_path("connectomes", "npz"),
        network=network_path(),
    output:
        run_path("simulations", "npz"),
    log:
        run_path("logs/simulate", "log"),
    benchmark:
        run_path("benchmarks/simulate", "tsv")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=simulate_mem_mb,
        runtime=simulate_runtime_min,
        disk_mb=simulate_disk_mb,
    params:
        engine=config["simulation"]["engine"],
        duration_ms=config["simulation"]["duration_ms"],
        dt_ms=config["simulation"]["dt_ms"],
        noise_sigma=config["simulation"]["noise_sigma"],
        speed=config["simulation"]["speed"],
        monitor_period_ms=config["simulation"]["monitor_period_ms"],
        store=STORE,
        # the sink's settings (cmftvb.signals.stream_run.StudySignals); only the streamed
        # file depends on them (an activity file is not remade when they change)
        stream=(
            {
                "options": STREAM_OPTIONS,
                "tr_s": TR_S,
                "excerpt_s": config["figures"]["rate_traces"]["seconds"],
            }
            if STORE == "signals"
            else None
        ),
    script:
        "../../scripts/simulate.py"
