# Config checks the schema cannot express, target lists and small path helpers.
import json
import os
import shlex
import sys

from dsl_llada.config import ConfigError, reference_nfe, sampling_grid, validate_config

# Bin folder of the Python that runs Snakemake. Shell jobs put it first on PATH so `accelerate`
# is this environment's even when it was not activated (`.venv/bin/snakemake`); inside a
# container the folder does not exist and the image's own PATH applies.
ENV_BIN = os.path.dirname(sys.executable)


def _check_lock(key, model):
    from dsl_llada.hub import resolve_revision

    hub = config.get("hub", {})
    if model.get("revision"):
        return
    resolve_revision(
        hub.get("lock_file", "config/hub.lock.yaml"),
        model["hub_id"],
        "model",
        offline=hub.get("offline", True),
        update=hub.get("update_lock", False),
    )


# --- [presets/download] begin: methods a preset switched off ---------------------------------
def _drop_disabled_methods(cfg):
    """Presets merge over config.yaml and cannot delete a key: `enabled: false` removes a method
    (e.g. mdm_remask in released.yaml, which has no MDM control). The key never reaches a job.
    """
    methods = cfg.get("sampling", {}).get("methods")
    if not isinstance(methods, dict):
        return
    for name in list(methods):
        spec = methods[name]
        if isinstance(spec, dict) and spec.pop("enabled", True) is False:
            del methods[name]


_drop_disabled_methods(config)
# --- [presets/download] end -------------------------------------------------------------------


try:
    validate_config(
        config,
        workflow.source_path("../../config/schema/config.schema.yaml"),
        _check_lock,
    )
except ValueError as err:
    raise WorkflowError(str(err))


wildcard_constraints:
    bench=r"[a-z0-9_]+",
    method=r"[a-z0-9_]+",
    model=r"[a-z0-9_]+",
    nfe=r"\d+",
    shard=r"\d+",


BENCHES = config["benchmarks"]["names"]
METHODS = config["sampling"]["methods"]
N_SHARDS = config["sampling"]["shards"]
SWEEP_NFES = config["sampling"]["nfe"]
TOY = config["models"]["base"]["source"] == "toy"
TRAIN_DIR = "results/models"

TABLES = [
    "results/tables/rouge.csv",
    "results/tables/failure_modes.csv",
    "results/tables/robustness.csv",
]
FIGURE_NAMES = ["rouge_vs_nfe", "length_repetition", "robustness"]
# [genquality] Figure 2 and the GenPPL/Distinct-2 scatter [protocol §6.2(d), §6.2(e)]
TABLES += [
    "results/tables/generation_quality.csv",
    "results/tables/generation_quality_scatter.csv",
]
FIGURE_NAMES += ["nfe_efficiency", "genquality_scatter"]
# [reasoning] GSM8K / MATH-500 with standard remasking [protocol §6.2(a)]
if config.get("reasoning", {}).get("models") and config["reasoning"].get("tasks"):
    TABLES.append("results/tables/reasoning.csv")
FIGURES = expand("results/figures/{name}.{ext}", name=FIGURE_NAMES, ext=["png", "pdf"])


def json_arg(obj):
    """A dict as one shell-quoted JSON argument (config reaches shell jobs only via params)."""
    return shlex.quote(json.dumps(obj, sort_keys=True))


def model_dir(name):
    """Folder of a model: trained here, built here (toy), or downloaded at a locked revision."""
    source = config["models"][name]["source"]
    if source == "local":
        return config["models"][name]["path"]
    if source == "hub":
        return f"resources/models/{name}"
    return f"{TRAIN_DIR}/{name}"


# --- [presets/download] begin: toy-only and hub-only rules -----------------------------------
# The toy rules (data.smk) and the hub rules (download.smk) write the same files
# (results/data/benchmarks/{bench}.json, results/data/train/cpt). Each side gets an input that
# exists only in its mode, so Snakemake can never pick the wrong one (a rule with an input that
# no rule makes is not a candidate) and the toy rules are unreachable when base.source != toy.
def toy_only(path):
    """``path`` in toy mode; otherwise a file no rule makes, naming why."""
    return path if TOY else "unavailable/toy-only-rule--models.base.source-is-not-toy"


def hub_only():
    """No extra input outside toy mode; in toy mode a file no rule makes, naming why."""
    return "unavailable/hub-only-rule--models.base.source-is-toy" if TOY else []


# --- [presets/download] end -------------------------------------------------------------------


def bertscore_files():
    """[bertscore] BERTScore of every benchmark's runs, or none when switched off."""
    if not config.get("bertscore", {}).get("enabled", True):
        return []
    return ["results/bertscore/scores.csv"]


def score_dirs():
    return [f"results/scores/{b}" for b in BENCHES]


def _shards(bench, method, nfe):
    return [
        f"results/samples/{bench}/{method}/nfe{nfe}/shard{k}of{N_SHARDS}.jsonl"
        for k in range(N_SHARDS)
    ]


def score_runs(wildcards):
    """One scoring run per (method, NFE) of a benchmark: its shards and table metadata."""
    runs = []
    for bench, method, nfe in sampling_grid(config):
        if bench != wildcards.bench:
            continue
        reference = (
            method == config["sampling"].get("reference_method")
            and nfe == reference_nfe(config, bench)
            and nfe not in SWEEP_NFES
        )
        meta = dict(
            benchmark=bench,
            method=method,
            model=METHODS[method]["model"],
            sampler=METHODS[method]["sampler"],
            nfe=nfe,
            reference=reference,
        )
        runs.append(
            {
                "name": f"{method}/nfe{nfe}",
                "shards": _shards(bench, method, nfe),
                "meta": meta,
            }
        )
    # [ar_references] AR reference rows [protocol §3.7]: no NFE budget (nfe 0), one per model
    for model in config.get("ar_references", {}).get("models", []):
        meta = dict(
            benchmark=wildcards.bench,
            method=model,
            model=model,
            sampler="ar",
            nfe=0,
            reference=True,
        )
        shards = [
            f"results/samples/{wildcards.bench}/{model}/ar/shard{k}of{N_SHARDS}.jsonl"
            for k in range(N_SHARDS)
        ]
        runs.append({"name": f"{model}/ar", "shards": shards, "meta": meta})
    return runs


def benchmark_shard_files(wildcards):
    return [path for run in score_runs(wildcards) for path in run["shards"]]


def sampling_model_dir(wildcards):
    return model_dir(METHODS[wildcards.method]["model"])


def robustness_model_dir(wildcards):
    return model_dir(wildcards.model)


def train_params(wc):
    section = config["pretrain_base"] if wc.model == "base" else config["cpt"]
    method = "dsl" if wc.model == "dsl" else "mdm"
    cfg = dict(section["train"], method=method, seed=config["seed"])
    # leave 15 minutes of the job's time limit to save state and exit (SLURM requeues it)
    cfg["stop_after_seconds"] = max(60, train_runtime(wc) * 60 - 900)
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


def train_runtime(wc):
    """Job time limit in minutes (toy: one hour; 8B continued pre-training: 72 h)."""
    return 60 if TOY else 72 * 60


def train_init(wc):
    return "results/models/init" if wc.model == "base" else model_dir("base")


def train_data(wc):
    return "results/data/train/" + ("base" if wc.model == "base" else "cpt")


def accelerate_args(wc):
    accel = config["cpt"].get("accelerate_config")
    if accel and wc.model != "base":
        return f"--config_file {shlex.quote(accel)}"
    return "--num_machines 1 --mixed_precision no --dynamo_backend no"


def job_nfes(wc):
    """NFEs one sampling job runs: the whole sweep, or the one NFE of a reference job."""
    return [int(wc.nfe)] if "nfe" in wc.keys() else SWEEP_NFES


def sample_runtime(wc):
    """Job time limit in minutes: 12 h per NFE at 8B (one sample at a time), 30 min on the toy."""
    return 30 if TOY else 12 * 60 * len(job_nfes(wc))


def sample_params(wc):
    spec = dict(METHODS[wc.method], name=wc.method)
    return {
        "method": spec,
        "nfes": job_nfes(wc),
        "gen_length": config["benchmarks"]["gen_length"][wc.bench],
        "shard": int(wc.shard),
        "n_shards": N_SHARDS,
        "seed": config["sampling"]["seed"],
        "memory_budget_mb": config["sampling"].get("memory_budget_mb", 1024),
        "max_batch": config["sampling"].get("max_batch", 64),
    }


def robustness_texts(wc):
    return config["robustness"].get("texts") or "results/data/toy_world"
