# Training: the toy base model (stand-in for LLaDA-8B-Instruct), then DSL continued
# pre-training [protocol §2.2] and the same-compute MDM control [§2.3]. Multi-GPU jobs go
# through `accelerate launch`; resumable state lives in results/state/<model> (not an output,
# so Snakemake never deletes it before a rerun).


rule train_model:
    input:
        init=train_init,
        data=train_data,
    output:
        model=directory(f"{TRAIN_DIR}/{{model,base|dsl|mdm}}"),
    log:
        "logs/train_model/{model}.log",
    benchmark:
        "results/benchmarks/train_model/{model}.tsv"
    container:
        config["containers"]["gpu"]
    threads: 4
    resources:
        gpu=train_gpus,
        runtime=train_runtime,
        mem_mb=train_mem_mb,
    params:
        cfg=train_params,
        launch=accelerate_args,
        env=train_env,
    shell:
        "{params.env} OMP_NUM_THREADS={threads} HF_HUB_OFFLINE=1 "
        "accelerate launch {params.launch} -m dsl_llada.cli train --config {params.cfg} --init {input.init} "
        "--data {input.data} --out {output.model} --state-dir results/state/{wildcards.model} > {log} 2>&1"
