# Noisy-state robustness [protocol §5]: one forward pass of the discrete backbone.


rule eval_robustness:
    input:
        model=robustness_model_dir,
        texts=robustness_texts,
    output:
        result="results/robustness/{model}.json",
    log:
        "logs/eval_robustness/{model}.log",
    container:
        config["containers"]["gpu"]
    threads: 1
    resources:
        gpu=1,
        runtime=lambda wc: 20 if TOY else 120,
        mem_mb=lambda wc: 4000 if TOY else 64000,
    params:
        cfg={k: v for k, v in config["robustness"].items() if k != "models"},
    script:
        "../scripts/eval_robustness.py"


# The toy's stand-ins for the authors' hand-made suites: same shape, toy vocabulary, seeded.
rule build_toy_suites:
    input:
        world=toy_only("results/data/toy_world"),
        tokenizer=toy_only("results/models/init"),
    output:
        manual="results/data/toy_suites/semantic_corruption_manual.json",
        benchmark="results/data/toy_suites/correction_benchmark.json",
        homophone="results/data/toy_suites/homophone_pairs.json",
    log:
        "logs/build_toy_suites.log",
    container:
        config["containers"]["cpu"]
    params:
        sizes=config["robustness"]["correction"]["toy_sizes"],
        seed=config["robustness"]["correction"]["toy_seed"],
    script:
        "../scripts/build_toy_suites.py"


# Realistic correction suites [§5.2 Manual, §5.3]: manual pairs, correction_benchmark_50,
# noisy-edit, homophone/OCR pairs; one forward pass of the discrete backbone.
rule eval_correction_suites:
    input:
        unpack(correction_suite_files),
        model=robustness_model_dir,
        texts=robustness_texts,
    output:
        result="results/correction/{model}.json",
    log:
        "logs/eval_correction_suites/{model}.log",
    container:
        config["containers"]["gpu"]
    threads: 1
    resources:
        gpu=1,
        runtime=robustness_runtime,
        mem_mb=robustness_mem_mb,
    params:
        cfg=robustness_cfg(),
    script:
        "../scripts/eval_correction_suites.py"


# T-context [§5.4]: masked-token accuracy with part of the visible context corrupted.
rule eval_context_robustness:
    input:
        model=robustness_model_dir,
        texts=robustness_texts,
    output:
        result="results/context_robustness/{model}.json",
    log:
        "logs/eval_context_robustness/{model}.log",
    container:
        config["containers"]["gpu"]
    threads: 1
    resources:
        gpu=1,
        runtime=robustness_runtime,
        mem_mb=robustness_mem_mb,
    params:
        cfg=robustness_cfg(),
    script:
        "../scripts/eval_context_robustness.py"
