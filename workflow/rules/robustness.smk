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
        runtime=robustness_runtime,
        mem_mb=gpu_job_mem_mb,
    params:
        cfg={k: v for k, v in config["robustness"].items() if k != "models"},
    script:
        "../scripts/eval_robustness.py"
