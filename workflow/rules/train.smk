# Training: the toy base model (stand-in for LLaDA-8B-Instruct), then DSL continued
# pre-training [protocol §2.2] and the same-compute MDM control [§2.3]. Multi-GPU jobs go
# through `accelerate launch`; resumable state lives in results/state/<model> (not an output,
# so Snakemake never deletes it before a rerun).


rule train_model:
    input:
        init=train_init,
        data=train_data,
    output:
        model=directory(f"{TRAIN_DIR}/{{model}}"),
    log:
        "logs/train_model/{model}.log",
    benchmark:
        "results/benchmarks/train_model/{model}.tsv"
    wildcard_constraints:
        model="base|dsl|mdm",
    container:
        config["containers"]["gpu"]
    threads: 4
    resources:
        gpu=lambda wc: 1 if wc.model == "base" else config["cpt"].get("gpus", 1),
        runtime=train_runtime,
        mem_mb=lambda wc: 8000 if TOY else 480000,
    params:
        cfg=train_params,
        state="results/state/{model}",
        launch=accelerate_args,
        procs=lambda wc: 1 if wc.model == "base" else config["cpt"].get("gpus", 1),
        bin=ENV_BIN,
        accel_env=accelerate_env,
    shell:
        "PATH={params.bin:q}:$PATH OMP_NUM_THREADS={threads} {params.accel_env} HF_HUB_OFFLINE=1 accelerate launch --num_processes {params.procs} "
        "{params.launch} -m dsl_llada.cli train --config {params.cfg} --init {input.init} "
        "--data {input.data} --out {output.model} --state-dir {params.state} > {log} 2>&1"
