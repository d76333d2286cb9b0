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
    container:
        config["containers"]["gpu"]
    threads: 4
    resources:
        gpu=train_gpus,
        runtime=train_runtime,
        mem_mb=train_mem_mb,
    params:
        cfg=train_params,
        launch=train_launch,
    shell:
        "rm -f results/state/{wildcards.model}/stopped_for_rerun.json; OMP_NUM_THREADS={threads} HF_HUB_OFFLINE=1 "
        "{params.launch} -m dsl_llada.cli train --config {params.cfg} --init {input.init} --data {input.data} "
        "--out {output.model} --state-dir results/state/{wildcards.model} --runtime-minutes {resources.runtime} "
        "> {log} 2>&1 || {{ rc=$?; test -e results/state/{wildcards.model}/stopped_for_rerun.json && exit 75; exit $rc; }}"
