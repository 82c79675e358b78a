"""cmftvb: does the cerebellar mean field make a virtual brain fit its cohort better?

Entry point of the study: load and validate the configuration, include one rule file per stage
(workflow/rules/), and name the final outputs in `rule all`. README.md describes the configs
and the layout of results/.
"""

from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


# The default study; `--configfile FILE` merges FILE over it. Found beside this Snakefile so that
# the workflow also runs with `--directory` elsewhere.
configfile: str(Path(workflow.basedir) / "config.yaml")


report: "workflow/report/workflow.rst"


# Wildcards that become file names hold no slash and no dot-dot, so no output can leave the
# results folder (cohort subject ids are checked against the same pattern).
wildcard_constraints:
    subject="[A-Za-z0-9_-]+",
    model="homogeneous|cmf",
    preset="corrected|published",
    G=r"[0-9]+(\.[0-9]+)?(e-?[0-9]+)?",
    seeds="[0-9]+(_[0-9]+)*",


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/connectome.smk"
include: "workflow/rules/substitution.smk"
include: "workflow/rules/simulation.smk"
include: "workflow/rules/signals.smk"
include: "workflow/rules/fitness.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
