# Config checks the schema cannot express, target lists and small path helpers.
import json
import shlex

from dsl_llada.config import ConfigError, check_config, sampling_grid


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


try:
    check_config(config, lock_checker=_check_lock)
except ValueError as err:
    raise WorkflowError(f"invalid config: {err}")


wildcard_constraints:
    bench=r"[a-z0-9_]+",
    method=r"[a-z0-9_]+",
    model=r"[a-z0-9_]+",
    nfe=r"\d+",
    shard=r"\d+",


BENCHES = config["benchmarks"]["names"]
METHODS = config["sampling"]["methods"]
N_SHARDS = config["sampling"]["shards"]
TOY = config["models"]["base"]["source"] == "toy"
TRAIN_DIR = "results/models"

TABLES = [
    "results/tables/rouge.csv",
    "results/tables/failure_modes.csv",
    "results/tables/robustness.csv",
]
FIGURE_NAMES = ["rouge_vs_nfe", "length_repetition", "robustness"]
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


def score_files():
    return [
        f"results/scores/{b}/{m}/nfe{n}.json" for b, m, n in sampling_grid(config)
    ]


def shard_files(wildcards):
    return [
        f"results/samples/{wildcards.bench}/{wildcards.method}/nfe{wildcards.nfe}/shard{k}of{N_SHARDS}.jsonl"
        for k in range(N_SHARDS)
    ]


def sampling_model_dir(wildcards):
    return model_dir(METHODS[wildcards.method]["model"])


def robustness_model_dir(wildcards):
    return model_dir(wildcards.model)
