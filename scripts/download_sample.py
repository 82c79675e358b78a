"""Rule download_sample: fetch the sample subject's zip and verify its sha256."""

from _adapter import run

from cmftvb import datasets, io


def main(snakemake, log):
    log.info("downloading %s", snakemake.params.url)
    path = datasets.download(snakemake.params.url, snakemake.output[0], snakemake.params.sha256)
    log.info("%s: %d bytes, sha256 %s", path, path.stat().st_size, io.sha256_file(path))


run(main, snakemake)  # noqa: F821 - injected by Snakemake
