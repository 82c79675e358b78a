# Stage 2, node substitution (STUDY.md): which local model runs in each node, the resolved
# parameter preset and the projection table (MODEL.md §4, §6), one JSON per variant.


rule build_network:
    input:
        connectome=f"{RESULTS}/connectomes/{{subject}}.npz",
    output:
        network=f"{RESULTS}/networks/{{subject}}/{{model}}-{{preset}}.json",
    log:
        f"{RESULTS}/logs/build_network/{{subject}}/{{model}}-{{preset}}.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        overrides=config["network"]["overrides"],
    script:
        "../../scripts/build_network.py"
