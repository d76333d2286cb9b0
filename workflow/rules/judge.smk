# Optional pairwise LLM judge (T-judge) [protocol §4.3]: off by default (judge.enabled). Any
# OpenAI-compatible endpoint from config; a localrule because compute nodes may be offline.


localrules:
    judge_summaries,


rule judge_summaries:
    input:
        judge_inputs,
    output:
        table=report(
            "results/tables/judge.csv",
            caption="../report/judge.rst",
            category="Tables",
        ),
        per_sample="results/judge/per_sample.csv",
    log:
        "logs/judge_summaries.log",
    container:
        config["containers"]["cpu"]
    params:
        jobs=judge_jobs,
        settings=judge_settings(),
    script:
        "../scripts/judge_summaries.py"
