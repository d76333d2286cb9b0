# Sampling sweeps [protocol §3, §4.2]: every method x benchmark x NFE x shard, then scoring.


# One job per method x benchmark x shard runs every NFE of the sweep: the model is loaded once
# (minutes for 8B on a cluster, seconds of process start on the toy), each NFE still has its own
# file. The reference row (steps = gen length, one NFE per benchmark) is its own job.
rule sample_shard:
    input:
        model=sampling_model_dir,
        records="results/data/benchmarks/{bench}.json",
    output:
        samples=expand(
            "results/samples/{{bench}}/{{method}}/nfe{nfe}/shard{{shard}}of{n}.jsonl",
            nfe=SWEEP_NFES,
            n=N_SHARDS,
        ),
    log:
        "logs/sample_shard/{bench}/{method}/shard{shard}.log",
    benchmark:
        "results/benchmarks/sample_shard/{bench}/{method}/shard{shard}.tsv"
    container:
        config["containers"]["gpu"]
    threads: 1
    resources:
        gpu=1,
        runtime=sample_runtime,
        mem_mb=gpu_job_mem_mb,
    params:
        job=sample_params,
    script:
        "../scripts/sample_shard.py"


use rule sample_shard as sample_reference with:
    output:
        samples="results/samples/{bench}/{method}/nfe{nfe}/shard{shard}of%d.jsonl"
        % N_SHARDS,
    log:
        "logs/sample_reference/{bench}/{method}/nfe{nfe}/shard{shard}.log",
    benchmark:
        "results/benchmarks/sample_reference/{bench}/{method}/nfe{nfe}/shard{shard}.tsv"


ruleorder: sample_shard > sample_reference


rule score_samples:
    input:
        shards=benchmark_shard_files,
        records="results/data/benchmarks/{bench}.json",
    output:
        scores=directory("results/scores/{bench}"),
    log:
        "logs/score_samples/{bench}.log",
    container:
        config["containers"]["cpu"]
    params:
        thresholds=METRIC_THRESHOLDS,
        bootstrap=config["metrics"]["bootstrap"],
        runs=score_runs,
    script:
        "../scripts/score_samples.py"
