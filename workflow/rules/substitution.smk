# Stage 2, node substitution (STUDY.md): which local model runs in each node, the resolved
# parameter preset and the projection table (MODEL.md §4, §6), one JSON per variant.


rule build_network:
    input:
        connectome=subject_path("connectomes", "npz"),
    output:
        network=network_path(),
    log:
        log_path("build_network", "{subject}/{model}-{preset}"),
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
