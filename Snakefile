# DSL-LLaDA reproduction workflow. Thin on purpose: config, validation, includes, targets.
# Toy default: `snakemake --cores all`; paper: `--configfile config/presets/paper.yaml`;
# cluster: `snakemake --profile slurm --cores all` (see README.md).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


# The study's inputs: built from the toy world, or downloaded at the revisions pinned in
# config/hub.lock.yaml. Both rule sets write the same files (benchmark records, the CPT data).
if TOY:

    include: "workflow/rules/data.smk"

else:

    include: "workflow/rules/download.smk"


include: "workflow/rules/train.smk"
include: "workflow/rules/sample.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/quality_common.smk"
include: "workflow/rules/genquality.smk"
include: "workflow/rules/bertscore.smk"
include: "workflow/rules/ar.smk"
include: "workflow/rules/reasoning.smk"
include: "workflow/rules/judge.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/cluster.smk"


report: "workflow/report/workflow.rst"


rule all:
    default_target: True
    input:
        TABLES,
        FIGURES,


rule tables:
    input:
        TABLES,


rule figures:
    input:
        FIGURES,
