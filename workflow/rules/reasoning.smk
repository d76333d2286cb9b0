# Reasoning with standard remasking [protocol §6.2(a), §3.4]: GSM8K (1,319) and MATH-500, G = 256,
# 64 steps, one block, greedy, the authors' prompts and answer extraction. Hub presets read the
# datasets at locked SHAs (localrule: compute nodes may be offline); the toy copies a number out
# of toy documents. One sampling job per model x task x shard; one scoring job.

REASON = config.get("reasoning", {})
REASON_MODELS = REASON.get("models", [])
REASON_TASKS = REASON.get("tasks", [])
REASON_SHARDS = REASON.get("shards", 1)
REASON_REVISIONS = {}
_REASON_HUB = {"gsm8k": "openai/gsm8k", "math500": "EleutherAI/hendrycks_math"}
if not TOY:
    for _task in REASON_TASKS:
        try:
            REASON_REVISIONS[_task] = resolve_revision(
                HUB_LOCK,
                _REASON_HUB[_task],
                "dataset",
                offline=HUB_OFFLINE,
                update=HUB_UPDATE,
            )
        except (KeyError, ValueError) as err:
            raise WorkflowError(f"reasoning.tasks.{_task}: {err}")


def reasoning_shards(task, model):
    return [
        f"results/reasoning/samples/{task}/{model}/shard{k}of{REASON_SHARDS}.jsonl"
        for k in range(REASON_SHARDS)
    ]


def reasoning_runs(wildcards):
    return [
        {
            "task": t,
            "model": m,
            "records": f"results/data/reasoning/{t}.json",
            "shards": reasoning_shards(t, m),
        }
        for t in REASON_TASKS
        for m in REASON_MODELS
    ]


def reasoning_inputs(wildcards):
    return [
        p for run in reasoning_runs(wildcards) for p in [run["records"], *run["shards"]]
    ]


def reasoning_sample_params(wc):
    return {
        "method": {
            "name": f"{wc.model}_remask",
            "model": wc.model,
            "sampler": "remasking",
            "block_length": 0,
            "eos_inf": False,
        },
        "nfes": [REASON.get("steps", 64)],
        "gen_length": REASON.get("gen_length", 256),
        "shard": int(wc.shard),
        "n_shards": REASON_SHARDS,
        "seed": config["sampling"]["seed"],
        "memory_budget_mb": config["sampling"].get("memory_budget_mb", 1024),
        "max_batch": config["sampling"].get("max_batch", 64),
    }


def reasoning_revision(wc):
    return REASON_REVISIONS[wc.task]


localrules:
    build_reasoning_task,


rule build_reasoning_task:
    input:
        hub_only(),
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
        offline=HUB_OFFLINE,
        cache_dir=f"{HUB_CACHE}/datasets",
    script:
        "../scripts/build_reasoning_task.py"


rule prepare_toy_reasoning_task:
    input:
        records=toy_only("results/data/benchmarks/xsum.json"),
    output:
        records="results/data/reasoning/{task}.json",
    log:
        "logs/prepare_toy_reasoning_task/{task}.log",
    wildcard_constraints:
        task="toy_numbers",
    container:
        config["containers"]["cpu"]
    params:
        n=REASON.get("n_toy", 16),
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
