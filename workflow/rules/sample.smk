# Sampling sweeps [protocol §3, §4.2]: every method x benchmark x NFE x shard, then scoring.


rule sample_shard:
    input:
        model=sampling_model_dir,
        records="results/data/benchmarks/{bench}.json",
    output:
        samples="results/samples/{bench}/{method}/nfe{nfe}/shard{shard}of%d.jsonl"
        % N_SHARDS,
    log:
        "logs/sample_shard/{bench}/{method}/nfe{nfe}/shard{shard}.log",
    benchmark:
        "results/benchmarks/sample_shard/{bench}/{method}/nfe{nfe}/shard{shard}.tsv"
    container:
        config["containers"]["gpu"]
    threads: 1
    resources:
        gpu=1,
        runtime=lambda wc: 30 if TOY else 12 * 60,
        mem_mb=lambda wc: 4000 if TOY else 64000,
    params:
        job=sample_params,
    script:
        "../scripts/sample_shard.py"


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
        thresholds=config["metrics"],
        runs=score_runs,
    script:
        "../scripts/score_samples.py"
