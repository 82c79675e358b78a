# The article's sample subject (HCP 103818, 126 nodes, prewired cerebellum): downloaded from its
# pinned public URL; the file appears only when its sha256 matches (cmftvb.datasets.download).


rule download_sample:
    output:
        SAMPLE_ZIP,
    log:
        f"{RESULTS}/logs/download_sample.log",
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=15,
    params:
        url=config["cohort"]["sample"]["url"],
        sha256=config["cohort"]["sample"]["sha256"],
    script:
        "../../scripts/download_sample.py"
