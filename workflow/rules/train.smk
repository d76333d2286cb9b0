# Training: the toy base model (stand-in for LLaDA-8B-Instruct), then DSL continued
# pre-training [protocol §2.2] and the same-compute MDM control [§2.3]. Multi-GPU jobs go
# through `accelerate launch`; resumable state lives in results/state/<model> (not an output,
# so Snakemake never deletes it before a rerun). A rerun resumes only state saved by the same run
# (same settings, init model and data); other state is moved to results/state/<model>.stale-*.
# Training saves and exits 75 train.stop_margin_minutes before the job's runtime runs out.


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
    priority: 10  # the critical path: sampling and robustness wait for the trained models
    container:
        config["containers"]["gpu"]
    threads: TRAIN_THREADS
    resources:
        gpu=train_gpus,
        runtime=train_runtime,
        mem_mb=train_mem_mb,
    params:
        cfg=train_params,
        launch=train_launch,
    shell:
        "{params.launch} -m dsl_llada.cli train --config {params.cfg} --init {input.init} --data {input.data} "
        "--out {output.model} --state-dir results/state/{wildcards.model} --runtime-minutes {resources.runtime} "
        "> {log} 2>&1 || {{ rc=$?; test -e results/state/{wildcards.model}/stopped_for_rerun.json && exit 75; exit $rc; }}"


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
            "family": config["models"]["base"]["family"],
            "init_seed": config["models"]["base"]["init_seed"],
            "seed": config["seed"],
            "pretrain_base": config.get("pretrain_base"),
        },
    script:
        "../scripts/export_toy_base.py"


rule toy_base:
    input:
        "results/toy_base",
