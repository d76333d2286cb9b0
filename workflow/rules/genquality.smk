# Open-ended generation quality [protocol §6.2(d), §6.2(e), §6.3 item 2]: the prompts, one
# sampling job per method (every NFE, one model load), one scoring job (GenPPL with GPT-2-large or
# the toy's tiny GPT-2, repetition, Distinct-n, length) writing the tables that the figures
# nfe_efficiency (Figure 2) and genquality_scatter read.


rule prepare_genquality_prompts:
    input:
        prompts=GENQ["prompts"],
    output:
        prompts="results/genquality/prompts.json",
    log:
        "logs/prepare_genquality_prompts.log",
    benchmark:
        "results/benchmarks/prepare_genquality_prompts.tsv"
    container:
        config["containers"]["cpu"]
    params:
        n=GENQ["n_prompts"],
    script:
        "../scripts/prepare_genquality_prompts.py"


rule sample_genquality:
    input:
        model=sampling_model_dir,
        records="results/genquality/prompts.json",
    output:
        samples=expand(
            "results/genquality/samples/{{method}}/nfe{nfe}.jsonl", nfe=GENQ_NFES
        ),
    log:
        "logs/sample_genquality/{method}.log",
    benchmark:
        "results/benchmarks/sample_genquality/{method}.tsv"
    wildcard_constraints:
        method="|".join(GENQ_METHODS),
    container:
        config["containers"]["gpu"]
    threads: 1
    resources:
        gpu=1,
        runtime=genq_sample_runtime,
        mem_mb=4000 if TOY else 64000,
    params:
        job=genq_sample_params,
    script:
        "../scripts/sample_shard.py"


rule build_toy_genppl_scorer:
    input:
        world="results/data/toy_world",
        tokenizer=model_dir("base"),
    output:
        model=directory(f"{TRAIN_DIR}/genppl"),
    log:
        "logs/build_toy_genppl_scorer.log",
    benchmark:
        "results/benchmarks/build_toy_genppl_scorer.tsv"
    container:
        config["containers"]["cpu"]
    params:
        arch=config["models"]["genppl"].get("arch"),
        seed=config["models"]["genppl"]["init_seed"],
        train=GENQ["toy_scorer"],
    script:
        "../scripts/build_toy_genppl_scorer.py"


rule score_genquality:
    input:
        samples=[run["samples"] for run in genq_runs(None)],
        scorer=model_dir("genppl"),
    output:
        table=report(
            "results/tables/generation_quality.csv",
            caption="../report/generation_quality.rst",
            category="Tables",
        ),
        scatter="results/tables/generation_quality_scatter.csv",  # drawn by genquality_scatter
        per_sample="results/genquality/per_sample.csv",
    log:
        "logs/score_genquality.log",
    container:
        config["containers"]["gpu"]
    resources:
        gpu=1,
        runtime=30 if TOY else 4 * 60,
    params:
        runs=genq_runs,
        cfg=genq_score_params,
    script:
        "../scripts/score_genquality.py"
