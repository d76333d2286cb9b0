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
        shards=shard_files,
        records="results/data/benchmarks/{bench}.json",
    output:
        summary="results/scores/{bench}/{method}/nfe{nfe}.json",
        per_sample="results/scores/{bench}/{method}/nfe{nfe}.csv",
    log:
        "logs/score_samples/{bench}/{method}/nfe{nfe}.log",
    container:
        config["containers"]["cpu"]
    params:
        thresholds=config["metrics"],
        meta=lambda wc: {
            "benchmark": wc.bench,
            "method": wc.method,
            "model": METHODS[wc.method]["model"],
            "sampler": METHODS[wc.method]["sampler"],
            "nfe": int(wc.nfe),
            "reference": wc.method == config["sampling"].get("reference_method")
            and int(wc.nfe) == config["benchmarks"]["gen_length"][wc.bench]
            and int(wc.nfe) not in config["sampling"]["nfe"],
        },
    script:
        "../scripts/score_samples.py"
