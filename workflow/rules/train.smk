# Training: the toy base model (stand-in for LLaDA-8B-Instruct), then DSL continued
# pre-training [protocol §2.2] and the same-compute MDM control [§2.3]. Multi-GPU jobs go
# through `accelerate launch`; resumable state lives in results/state/<model> (not an output,
# so Snakemake never deletes it before a rerun).


def train_params(wc):
    section = config["pretrain_base"] if wc.model == "base" else config["cpt"]
    method = "dsl" if wc.model == "dsl" else "mdm"
    cfg = dict(section["train"], method=method, seed=config["seed"])
    if wc.model != "base":
        cfg.update(
            dsl={
                k: v
                for k, v in config["cpt"]["dsl"].items()
                if k not in ("converter_lr_scale", "freeze_output_head")
            },
            snr=config["cpt"]["snr"],
            mdm_eps=config["cpt"].get("mdm_eps", 1e-3),
            converter_lr_scale=config["cpt"]["dsl"].get("converter_lr_scale", 1.0),
            freeze_output_head=config["cpt"]["dsl"].get("freeze_output_head", True),
        )
    return json_arg(cfg)


def train_init(wc):
    return "results/models/init" if wc.model == "base" else model_dir("base")


def train_data(wc):
    return "results/data/train/" + ("base" if wc.model == "base" else "cpt")


def accelerate_args(wc):
    accel = config["cpt"].get("accelerate_config")
    if accel and wc.model != "base":
        return f"--config_file {shlex.quote(accel)}"
    return "--num_machines 1 --mixed_precision no --dynamo_backend no"


rule train_model:
    input:
        init=train_init,
        data=train_data,
    output:
        model=directory(f"{TRAIN_DIR}/{{model}}"),
    wildcard_constraints:
        model="base|dsl|mdm",
    params:
        cfg=train_params,
        state="results/state/{model}",
        launch=accelerate_args,
        procs=lambda wc: 1 if wc.model == "base" else config["cpt"].get("gpus", 1),
    threads: workflow.cores
    resources:
        gpu=lambda wc: 1 if wc.model == "base" else config["cpt"].get("gpus", 1),
        runtime=lambda wc: 60 if TOY else 72 * 60,
        mem_mb=lambda wc: 8000 if TOY else 480000,
    log:
        "logs/train_model/{model}.log",
    benchmark:
        "benchmarks/train_model/{model}.tsv"
    container:
        config["containers"]["gpu"]
    shell:
        "OMP_NUM_THREADS={threads} HF_HUB_OFFLINE=1 accelerate launch --num_processes {params.procs} "
        "{params.launch} -m dsl_llada.cli train --config {params.cfg} --init {input.init} "
        "--data {input.data} --out {output.model} --state-dir {params.state} > {log} 2>&1"
