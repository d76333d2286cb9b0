# Noisy-state robustness [protocol §5]: one forward pass of the discrete backbone. One job per
# model loads it once (16 GB at 8B; most of a toy job's CPU) and runs every test of §5:
#   result      random / semantic replacement [§5.1, §5.2 auto]
#   correction  realistic suites: manual pairs, correction_benchmark_50, noisy-edit, homophone/OCR [§5.2, §5.3]
#   context     T-context, masked-token accuracy with corrupted visible context [§5.4]


rule eval_robustness:
    input:
        unpack(correction_suite_files),
        model=robustness_model_dir,
        texts=robustness_texts,
    output:
        result="results/robustness/{model}.json",
        correction="results/correction/{model}.json",
        context="results/context_robustness/{model}.json",
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
        cfg=robustness_cfg(),
        device=config["device"],
    script:
        "../scripts/eval_robustness.py"
