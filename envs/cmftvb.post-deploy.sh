#!/usr/bin/env bash
# Run by Snakemake inside the rules' conda environment (envs/cmftvb.yaml) right after it is
# created (--use-conda). SUITPy ships the SUIT cerebellar flatmap surfaces that the flatmap
# figures read with nibabel; it is installed without its dependencies (antspyx, plotly,
# neuroimagingtools are not needed for that and are heavy), as the Makefile does. A conda
# environment file cannot say --no-deps for one pip package, hence this script.
set -euo pipefail
python -m pip install --no-deps suitpy==2.1.2
