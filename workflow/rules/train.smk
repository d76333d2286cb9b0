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
    # the critical path: half the sampling and the robustness jobs wait for the trained models
    priority: 10
    container:
        config["containers"]["gpu"]
    threads: TRAIN_THREADS
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
    shell:
        "PATH={params.bin:q}:$PATH OMP_NUM_THREADS={threads} HF_HUB_OFFLINE=1 accelerate launch --num_processes {params.procs} "
        "{params.launch} -m dsl_llada.cli train --config {params.cfg} --init {input.init} "
        "--data {input.data} --out {output.model} --state-dir {params.state} > {log} 2>&1"


# The pinned toy base (config/presets/toy_base.yaml): pre-train it here, then publish it as a
# committable artifact with its provenance, manifest and lock entry (config/README.md).
rule export_toy_base:
    input:
        model=f"{TRAIN_DIR}/base",
    output:
        artifact=directory("results/toy_base"),
        lock_entry="results/toy_base.lock.yaml",
    log:
        "logs/export_toy_base.log",
    container:
        config["containers"]["cpu"]
    params:
        provenance={
            "world": config.get("world"),
            "benchmarks_gen_length": config["benchmarks"]["gen_length"],
            "arch": config["models"]["base"].get("arch"),
            "family": config["models"]["base"].get("family"),
            "init_seed": config["models"]["base"].get("init_seed", 0),
            "seed": config["seed"],
            "pretrain_base": config.get("pretrain_base"),
        },
    script:
        "../scripts/export_toy_base.py"


rule toy_base:
    input:
        "results/toy_base",
