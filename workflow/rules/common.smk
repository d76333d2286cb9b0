# Config checks the schema cannot express, target lists and small path helpers.
import json
import os
import shlex
import sys

from snakemake.utils import validate

from dsl_llada.config import ConfigError, reference_nfe, sampling_grid, validate_config
from dsl_llada.settings import (
    CptSettings,
    RobustnessSettings,
    SamplingSettings,
    TrainSettings,
    train_job,
)

# Bin folder of the Python that runs Snakemake. Shell jobs put it first on PATH so `accelerate`
# is this environment's even when it was not activated (`.venv/bin/snakemake`); inside a
# container the folder does not exist and the image's own PATH applies.
ENV_BIN = os.path.dirname(sys.executable)


def _check_lock(key, model):
    from dsl_llada.hub import resolve_revision

    hub = config["hub"]
    if model["revision"]:
        return
    resolve_revision(
        hub["lock_file"],
        model["hub_id"],
        "model",
        offline=hub["offline"],
        update=hub["update_lock"],
    )


# --- [presets/download] begin: methods a preset switched off ---------------------------------
def _drop_disabled_methods(cfg):
    """Presets merge over config.yaml and cannot delete a key: `enabled: false` removes a method
    (e.g. mdm_remask in released.yaml, which has no MDM control). The key never reaches a job.
    """
    sampling = cfg.get("sampling")
    methods = sampling.get("methods") if isinstance(sampling, dict) else None
    if not isinstance(methods, dict):
        return
    for name in list(methods):
        spec = methods[name]
        if isinstance(spec, dict) and spec.pop("enabled", True) is False:
            del methods[name]


_drop_disabled_methods(config)
# --- [presets/download] end -------------------------------------------------------------------


SCHEMA = workflow.source_path("../../config/schema/config.schema.yaml")


def _fill_defaults(cfg):
    """The schema's defaults written into the config (Snakemake's validate, set_default=True):
    the schema is the only source of defaults, so rules read config[...][key] plainly.
    """
    validate(cfg, SCHEMA, set_default=True)


try:
    validate_config(config, SCHEMA, _check_lock, fill_defaults=_fill_defaults)
except ValueError as err:
    raise WorkflowError(str(err))


wildcard_constraints:
    bench=r"[a-z0-9_]+",
    method=r"[a-z0-9_]+",
    model=r"[a-z0-9_]+",
    nfe=r"\d+",
    shard=r"\d+",


BENCHES = config["benchmarks"]["names"]
# the sampling section, typed (every key checked); job params are built from it
try:
    SAMPLING = SamplingSettings.from_config(config["sampling"])
except ConfigError as err:
    raise WorkflowError(str(err))
METHODS = config["sampling"]["methods"]
N_SHARDS = SAMPLING.shards
SWEEP_NFES = config["sampling"]["nfe"]
TOY = config["models"]["base"]["source"] == "toy"
TRAIN_DIR = "results/models"

TABLES = [
    "results/tables/rouge.csv",
    "results/tables/failure_modes.csv",
    "results/tables/robustness.csv",
    "results/tables/buckets.csv",
    "results/tables/correction.csv",
    "results/tables/context_robustness.csv",
    "results/tables/claims.csv",
    "results/tables/summary.md",
]
# failure thresholds for score_records; the bootstrap settings go to the CI code
METRIC_THRESHOLDS = {k: v for k, v in config["metrics"].items() if k != "bootstrap"}
# The robustness claim compares claims.robustness.model with the `against` models that this
# preset evaluates (released/quick have no MDM control).
CLAIMS_ROBUSTNESS = dict(
    config["claims"]["robustness"],
    against=[
        m
        for m in config["claims"]["robustness"]["against"]
        if m in config["robustness"]["models"]
    ],
)
CLAIM_MODELS = (
    [CLAIMS_ROBUSTNESS["model"]] + CLAIMS_ROBUSTNESS["against"]
    if CLAIMS_ROBUSTNESS["against"]
    else []
)
FIGURE_NAMES = ["rouge_vs_nfe", "length_repetition", "robustness", "context_robustness"]
# [genquality] Figure 2 and the GenPPL/Distinct-2 scatter [protocol §6.2(d), §6.2(e)]
if config["genquality"]["enabled"]:
    TABLES += [
        "results/tables/generation_quality.csv",
        "results/tables/generation_quality_scatter.csv",
    ]
    FIGURE_NAMES += ["nfe_efficiency", "genquality_scatter"]
# [reasoning] GSM8K / MATH-500 with standard remasking [protocol §6.2(a)]
if config["reasoning"]["models"] and config["reasoning"]["tasks"]:
    TABLES.append("results/tables/reasoning.csv")
FIGURES = expand("results/figures/{name}.{ext}", name=FIGURE_NAMES, ext=["png", "pdf"])


def json_arg(obj):
    """A dict as one shell-quoted JSON argument (config reaches shell jobs only via params)."""
    return shlex.quote(json.dumps(obj, sort_keys=True))


# The toy base is a committed artifact (models.base.artifact), fetched and verified like a hub
# snapshot; with `artifact: null` (config/presets/toy_base.yaml, smoke) it is pre-trained here.
TOY_ARTIFACT = config["models"]["base"]["artifact"] if TOY else None
ARTIFACT_LOCK = "config/artifacts.lock.yaml"


def model_dir(name):
    """Folder of a model: trained here, built here (toy), or fetched at a pinned revision."""
    source = config["models"][name]["source"]
    if source == "local":
        return config["models"][name]["path"]
    if source == "hub" or (name == "base" and TOY_ARTIFACT):
        return f"resources/models/{name}"
    return f"{TRAIN_DIR}/{name}"


# Hub runs only: DOWNLOADS is the download plan that download.smk builds (dsl_llada.downloads).
def base_tokenizer_dir(wc):
    """The base model's folder for a model that may lack tokenizer files; none for the base."""
    return [] if wc.model == "base" else model_dir("base")


def toy_tokenizer(wc):
    """The toy tokenizer: the pinned base's (same vocabulary), or the fresh init's when the base
    is pre-trained here."""
    return model_dir("base") if TOY_ARTIFACT else "results/models/init"


def download_job(wc):
    return DOWNLOADS.models[wc.model]


def benchmark_spec(wc):
    return DOWNLOADS.benchmarks[wc.bench]


def benchmark_revision(wc):
    return DOWNLOADS.revisions[f"benchmarks.specs.{wc.bench}"]


def bertscore_files():
    """[bertscore] BERTScore of every benchmark's runs, or none when switched off."""
    if not config["bertscore"]["enabled"]:
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
            method == SAMPLING.reference_method
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
    for model in config["ar_references"]["models"]:
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
    """The training job's settings (dsl_llada.settings.train_job) as one JSON argument; the stop
    time comes from the job's runtime at run time (train.smk: --runtime-minutes)."""
    name = "pretrain_base" if wc.model == "base" else "cpt"
    train = TrainSettings.from_config(config[name]["train"], f"{name}.train")
    cpt = None if wc.model == "base" else CptSettings.from_config(config["cpt"])
    method = "dsl" if wc.model == "dsl" else "mdm"
    return json_arg(train_job(train, method=method, seed=config["seed"], cpt=cpt))


# Toy: one thread per training job, so the DSL run and the MDM control each start on the first
# free core (with priority) instead of waiting for both cores; 8B: four CPU threads per node job.
TRAIN_THREADS = 1 if TOY else 4


def train_runtime(wc):
    """Default job time limit in minutes (toy: one hour, three for the toy base on a busy CPU; 8B
    continued pre-training: 72 h). A profile may override it; training reads the final value
    ({resources.runtime}) and stops train.stop_margin_minutes before it."""
    if TOY:
        return 180 if wc.model == "base" else 60
    return 72 * 60


def train_gpus(wc):
    """GPUs (and accelerate processes) of a training job: one for the toy base model."""
    return 1 if wc.model == "base" else config["cpt"]["gpus"]


def train_mem_mb(wc):
    return 8000 if TOY else 480000


def train_init(wc):
    return "results/models/init" if wc.model == "base" else model_dir("base")


def train_data(wc):
    return "results/data/train/" + ("base" if wc.model == "base" else "cpt")


def accelerate_args(wc):
    """`accelerate launch` options: one process per GPU, then the multi-GPU config file."""
    procs = f"--num_processes {train_gpus(wc)}"
    accel = config["cpt"]["accelerate_config"]
    if accel and wc.model != "base":
        return f"{procs} --config_file {shlex.quote(accel)}"
    return f"{procs} --num_machines 1 --mixed_precision no --dynamo_backend no"


def train_env(wc):
    """Environment of a training job: this Python's bin folder first on PATH (see ENV_BIN), and
    ACCELERATE_USE_CPU=true when the job must train on the CPU (config `device: cpu`, or an
    accelerate config with `use_cpu: true` such as cpu_2proc.yaml): accelerate's multi-process
    launcher does not pass use_cpu on to the workers, which would then each run alone.
    """
    import yaml

    accel = config["cpt"]["accelerate_config"] if wc.model != "base" else None
    use_cpu = config["device"] == "cpu"
    if accel and os.path.exists(accel):
        with open(accel) as handle:
            use_cpu = use_cpu or bool((yaml.safe_load(handle) or {}).get("use_cpu"))
    return f"PATH={shlex.quote(ENV_BIN)}:$PATH ACCELERATE_USE_CPU={'true' if use_cpu else 'false'}"


def train_launch(wc):
    """The launcher of a training job: a stale stop marker removed, its environment, then
    `accelerate launch` and its options. Exit 75 (stopped for a rerun, state saved) becomes 1
    through `accelerate launch`; the rule maps it back from the stopped_for_rerun.json marker
    that training writes."""
    marker = f"results/state/{wc.model}/stopped_for_rerun.json"
    return (
        f"rm -f {marker}; OMP_NUM_THREADS={TRAIN_THREADS} HF_HUB_OFFLINE=1 {train_env(wc)} "
        f"accelerate launch {accelerate_args(wc)}"
    )


def job_nfes(wc):
    """NFEs one sampling job runs: the whole sweep, or the one NFE of a reference job."""
    return [int(wc.nfe)] if "nfe" in wc.keys() else SWEEP_NFES


def sample_runtime(wc):
    """Job time limit in minutes: 12 h per NFE at 8B (one sample at a time), 30 min on the toy."""
    return 30 if TOY else 12 * 60 * len(job_nfes(wc))


def gpu_job_mem_mb(wc):
    """Memory of a sampling or robustness job: a toy model, or an 8B model in bf16."""
    return 4000 if TOY else 64000


def robustness_runtime(wc):
    return 20 if TOY else 120


def sample_params(wc):
    spec = dict(METHODS[wc.method], name=wc.method)
    return {
        "method": spec,
        "nfes": job_nfes(wc),
        "gen_length": config["benchmarks"]["gen_length"][wc.bench],
        "shard": int(wc.shard),
        "n_shards": N_SHARDS,
        "seed": SAMPLING.seed,
        "n_seeds": SAMPLING.n_seeds,
        **SAMPLING.batching(),
        "device": config["device"],
    }


def training_seq_len(wc):
    """Tokens per training example: the toy pre-training length, or the CPT block size."""
    if wc.stage == "base":
        return config["pretrain_base"]["seq_len"]
    return config["cpt"]["data"]["block_size"]


def training_instruction_fraction(wc):
    if wc.stage == "base":
        return config["pretrain_base"]["instruction_fraction"]
    return config["cpt"]["data"]["instruction_fraction"]


def training_n_examples(wc):
    """Examples of a training set: all of the toy pre-training corpus, n_blocks for CPT."""
    return None if wc.stage == "base" else config["cpt"]["data"]["n_blocks"]


def figure_table(wc):
    """The one result table a figure reads (FIGURE_TABLE in figures.smk)."""
    return FIGURE_TABLE[wc.name]


def robustness_texts(wc):
    return config["robustness"]["texts"] or "results/data/toy_world"


def robustness_cfg():
    """The robustness section as one job parameter (the model list is in the wildcard); the job
    builds dsl_llada.settings.RobustnessSettings from it, checked here already."""
    cfg = {k: v for k, v in config["robustness"].items() if k != "models"}
    RobustnessSettings.from_config(cfg)
    return cfg


def cpt_corpus_path(wc):
    """The local copy of the CPT corpus that prepare_cpt_corpus tokenises (download.smk)."""
    return DOWNLOADS.corpus["path"] if DOWNLOADS.corpus else []


def paper_eval_file(name):
    """A file of the authors' eval_data/ [§7], fetched by rule fetch_paper_eval."""
    return f"{config['paper_eval']['dir']}/{name}"


def correction_suite_files(wc):
    """Suite files of one correction job: the toy's generated suites, or the authors' files."""
    corr = config["robustness"]["correction"]
    if TOY:
        files = {
            "manual": "results/data/toy_suites/semantic_corruption_manual.json",
            "benchmark": "results/data/toy_suites/correction_benchmark.json",
            "homophone": "results/data/toy_suites/homophone_pairs.json",
        }
    else:
        files = {
            "manual": paper_eval_file("semantic_corruption_manual.json"),
            "benchmark": paper_eval_file("correction_benchmark_50.json"),
            "homophone": corr["homophone_pairs"],
        }
    wanted = {
        "manual": corr["manual"],
        "benchmark": corr["benchmark"],
        "homophone": TOY or bool(corr["homophone_pairs"]),
    }
    return {k: v for k, v in files.items() if wanted[k]}
