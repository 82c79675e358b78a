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


# The config (config.smk: config.yaml and every --configfile are read again refusing duplicate
# keys, then validated) and the study's wildcard values; the path of every file (paths.smk);
# job resources (resources.smk).
include: "workflow/rules/config.smk"
include: "workflow/rules/paths.smk"
include: "workflow/rules/resources.smk"


# Wildcard patterns come from the package (model variants, presets, the subject id pattern, G
# labels: absolute '2' or a fraction of the subject's G* 'r0.9', cmftvb.gstar):
# file-name wildcards hold no slash and no dot-dot, so no output can leave results/.
wildcard_constraints:
    subject=SUBJECT_RE,
    model=VARIANT_RE,
    preset=PRESET_RE,
    G=gstar.G_LABEL_RE,
    seeds="[0-9]+(_[0-9]+)*",


include: "workflow/rules/download.smk"
include: "workflow/rules/connectome.smk"
include: "workflow/rules/substitution.smk"
include: "workflow/rules/fic.smk"
include: "workflow/rules/simulation.smk"
include: "workflow/rules/signals.smk"
include: "workflow/rules/fitness.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/article_paths.smk"
include: "workflow/rules/article.smk"
include: "workflow/rules/recovery.smk"


rule all:
    default_target: True
    input:
        # a synthetic cohort (cohort.source: synthetic) targets model recovery only
        recovery_outputs() if SYNTHETIC else all_outputs(),
        [] if SYNTHETIC else article_outputs(),
