# BERTScore of the summaries [protocol §4.3]: bert-score with roberta-large (pinned download; the
# toy: a tiny seeded RoBERTa over the toy tokenizer), lang en, rescaled with the package's
# roberta-large baseline, batch 32, on non-empty outputs. One job for every run of every
# benchmark: the model is loaded once (each job start costs seconds even on the toy).


rule build_toy_bertscore_model:
    input:
        world="results/data/toy_world",
        tokenizer=model_dir("base"),
    output:
        model=directory(f"{TRAIN_DIR}/bertscore"),
    log:
        "logs/build_toy_bertscore_model.log",
    benchmark:
        "results/benchmarks/build_toy_bertscore_model.tsv"
    container:
        config["containers"]["cpu"]
    params:
        arch=config["models"]["bertscore"].get("arch"),
        seed=config["models"]["bertscore"]["init_seed"],
    script:
        "../scripts/build_toy_bertscore_model.py"


rule score_bertscore:
    input:
        samples=bertscore_inputs,
        model=model_dir("bertscore"),
    output:
        scores="results/bertscore/scores.csv",
        per_sample="results/bertscore/per_sample.csv",
    log:
        "logs/score_bertscore.log",
    benchmark:
        "results/benchmarks/score_bertscore.tsv"
    container:
        config["containers"]["gpu"]
    resources:
        gpu=1,
        runtime=30 if TOY else 2 * 60,
    params:
        benches=bertscore_runs,
        settings={k: v for k, v in config["bertscore"].items() if k != "enabled"},
    script:
        "../scripts/score_bertscore.py"
