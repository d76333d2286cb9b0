# Reasoning with standard remasking [protocol §6.2(a), §3.4]: GSM8K (1,319) and MATH-500, G = 256,
# 64 steps, one block, greedy, the authors' prompts and answer extraction. Hub presets read the
# datasets at locked SHAs (localrule: compute nodes may be offline); the toy copies a number out
# of toy documents. One sampling job per model x task x shard; one scoring job.


localrules:
    build_reasoning_task,


rule build_reasoning_task:
    output:
        records="results/data/reasoning/{task}.json",
    log:
        "logs/build_reasoning_task/{task}.log",
    wildcard_constraints:
        task="gsm8k|math500",
    container:
        config["containers"]["cpu"]
    params:
        revision=reasoning_revision,
        offline=HUB.offline,
        cache_dir=f"{HUB.cache_dir}/datasets",
        mirror_root="resources/datasets",  # local save_to_disk copies, as the benchmarks'
    script:
        "../scripts/build_reasoning_task.py"


rule prepare_toy_reasoning_task:
    input:
        records="results/data/benchmarks/xsum.json",
    output:
        records="results/data/reasoning/{task}.json",
    log:
        "logs/prepare_toy_reasoning_task/{task}.log",
    wildcard_constraints:
        task="toy_numbers",
    container:
        config["containers"]["cpu"]
    params:
        n=REASON["n_toy"],
    script:
        "../scripts/build_reasoning_task.py"


rule sample_reasoning:
    input:
        model=robustness_model_dir,
        records="results/data/reasoning/{task}.json",
    output:
        samples="results/reasoning/samples/{task}/{model}/shard{shard}of%d.jsonl"
        % REASON_SHARDS,
    log:
        "logs/sample_reasoning/{task}/{model}/shard{shard}.log",
    benchmark:
        "results/benchmarks/sample_reasoning/{task}/{model}/shard{shard}.tsv"
    wildcard_constraints:
        model="|".join(REASON_MODELS) or "(?!x)x",
    container:
        config["containers"]["gpu"]
    threads: 1
    resources:
        gpu=1,
        runtime=30 if TOY else 12 * 60,
        mem_mb=4000 if TOY else 64000,
    params:
        job=reasoning_sample_params,
    script:
        "../scripts/sample_shard.py"


rule score_reasoning:
    input:
        reasoning_inputs,
    output:
        table=report(
            "results/tables/reasoning.csv",
            caption="../report/reasoning.rst",
            category="Tables",
        ),
        per_sample="results/reasoning/per_sample.csv",
    log:
        "logs/score_reasoning.log",
    benchmark:
        "results/benchmarks/score_reasoning.tsv"
    container:
        config["containers"]["cpu"]
    params:
        runs=reasoning_runs,
    script:
        "../scripts/score_reasoning.py"
