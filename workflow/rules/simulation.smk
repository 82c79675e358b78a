# Stage 3, simulation (STUDY.md; MODEL.md §5): one job per subject x model variant x G x batch
# of seeds (cmftvb.engine.simulate; seeds of a batch are lanes of one compiled loop, and each
# seed's result does not depend on its batch). Stored: population rates and the BOLD input
# variable averaged over simulation.monitor_period_ms, with a leading seed axis.


rule simulate:
    input:
        connectome=f"{RESULTS}/connectomes/{{subject}}.npz",
        network=f"{RESULTS}/networks/{{subject}}/{{model}}-{{preset}}.json",
    output:
        f"{RESULTS}/simulations/{{subject}}/{{model}}-{{preset}}/G{{G}}/seeds{{seeds}}.npz",
    log:
        f"{RESULTS}/logs/simulate/{{subject}}/{{model}}-{{preset}}/G{{G}}/seeds{{seeds}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/simulate/{{subject}}/{{model}}-{{preset}}/G{{G}}/seeds{{seeds}}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=simulate_mem_mb,
        runtime=simulate_runtime_min,
    params:
        engine=config["simulation"]["engine"],
        duration_ms=config["simulation"]["duration_ms"],
        dt_ms=config["simulation"]["dt_ms"],
        noise_sigma=config["simulation"]["noise_sigma"],
        speed=config["simulation"]["speed"],
        monitor_period_ms=config["simulation"]["monitor_period_ms"],
    script:
        "../../scripts/simulate.py"
