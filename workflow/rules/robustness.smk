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
        device=config.get("device", "auto"),
    script:
        "../scripts/eval_robustness.py"
