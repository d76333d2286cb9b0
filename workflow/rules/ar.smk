# Autoregressive reference rows [protocol §3.7]: each model of ar_references.models is one more
# method of the summarisation tables (its key; nfe 0). One job per model x shard runs every
# benchmark (the 7-8B model is loaded once); score_samples, BERTScore and the tables read the rows.


rule sample_ar:
    input:
        model=robustness_model_dir,
        records=expand("results/data/benchmarks/{bench}.json", bench=BENCHES),
    output:
        samples=expand(
            "results/samples/{bench}/{{model}}/ar/shard{{shard}}of{n}.jsonl",
            bench=BENCHES,
            n=N_SHARDS,
        ),
    log:
        "logs/sample_ar/{model}/shard{shard}.log",
    benchmark:
        "results/benchmarks/sample_ar/{model}/shard{shard}.tsv"
    container:
        config["containers"]["gpu"]
    resources:
        gpu=1,
        runtime=30 if TOY else 12 * 60,
        mem_mb=gpu_job_mem_mb,
    params:
        job=ar_params,
    script:
        "../scripts/sample_ar.py"


rule build_toy_ar_model:
    input:
        data="results/data/train/base",
        tokenizer=model_dir("base"),
    output:
        model=directory(f"{TRAIN_DIR}/{{model}}"),
    log:
        "logs/build_toy_ar_model/{model}.log",
    benchmark:
        "results/benchmarks/build_toy_ar_model/{model}.tsv"
    wildcard_constraints:
        model="|".join(AR_TOY_MODELS) or "(?!x)x",
    container:
        config["containers"]["cpu"]
    params:
        arch=ar_arch,
        seed=ar_init_seed,
        train=config["ar_references"]["toy_train"],
    script:
        "../scripts/build_toy_ar_model.py"
