# Hub path (models.base.source != toy): every download pinned to the commit SHA in
# config/hub.lock.yaml, with a sha256 manifest / provenance sidecar [protocol §2.1, §2.5, §4.1].
#
#   download_model      resources/models/{model}            models with source: hub (LLaDA-8B-Instruct,
#                                                            DSL-LLaDA-Beta1/Beta2/Highpass)
#   build_benchmark     results/data/benchmarks/{bench}.json the 1,000-record test sets [§4.1]
#   download_cpt_corpus resources/datasets/fineweb-edu/sample-10BT  its data files at the locked SHA
#   prepare_cpt_corpus  results/data/train/cpt               FineWeb-Edu sample-10BT blocks [§2.1]
#
# The downloads read the network (or a local mirror), so they are localrules: compute nodes may be
# offline. prepare_cpt_corpus (tokenising ~2.2 B tokens, hours) is a compute job that reads only
# the local copy (cpt.data.path, else the folder download_cpt_corpus writes). In toy mode they are never candidates (hub_only() in common.smk); in hub mode the toy
# rules are never candidates (toy_only()). Lock entries are resolved at parse time, so a missing
# entry while offline stops the run before any job starts.

import os

from snakemake.logging import logger

from dsl_llada.benchmarks import PAPER_BENCHMARKS, BenchmarkError, BenchmarkSpec
from dsl_llada.corpus import FINEWEB_CONFIG, FINEWEB_EDU, default_corpus_mirror
from dsl_llada.hub import is_commit_sha, is_offline, resolve_revision

HUB = config.get("hub") or {}
HUB_LOCK = HUB.get("lock_file", "config/hub.lock.yaml")
HUB_CACHE = HUB.get("cache_dir", "resources/hub")
# config hub.offline, or HF_HUB_OFFLINE / HF_DATASETS_OFFLINE in the environment
HUB_OFFLINE = bool(HUB.get("offline", True)) or is_offline()
HUB_UPDATE = bool(HUB.get("update_lock", False))
DATASET_MIRRORS = "resources/datasets"
# texts_100.json of the authors' release [§5.1, §7]: fengsxy/DSL-LLaDA, eval_data/, commit 33f2925
PAPER_TEXTS_SHA256 = "1a640a4a88d6a4439f70eceeb9ca5db95ca3f8efe066322a97245233a30f5f21"
PAPER_COMMIT = "33f29254b28eb3466e0cff9d88bee060da31c633"

HUB_MODELS = [k for k, m in config["models"].items() if m["source"] == "hub"]
USED_MODELS = sorted(
    {m["model"] for m in METHODS.values()} | set(config["robustness"]["models"])
)
TRAINED_MODELS = [m for m in USED_MODELS if config["models"][m]["source"] == "train"]

# Everything below runs at parse time, before any job: specs are built and checked, and every hub
# artifact this config reads is resolved to a commit SHA (an explicit `revision:` or the lock).
BENCH_SPECS, DOWNLOAD_JOBS, CORPUS_JOB, REVISIONS = {}, {}, {}, {}
PINS = []  # (config key, hub id, kind, explicit revision, may update the lock)
if not TOY:
    # models were checked by _check_lock (common.smk): read the lock, never update it here
    for _name in HUB_MODELS:
        _m = config["models"][_name]
        PINS.append(
            (f"models.{_name}", _m["hub_id"], "model", _m.get("revision"), False)
        )
    _bench = config["benchmarks"]
    for _name in BENCHES:
        # PAPER_BENCHMARKS, then benchmarks.* (n, seed, max_source_words), then specs.<name>;
        # gen_length always from benchmarks.gen_length
        _given = dict((_bench.get("specs") or {}).get(_name) or {})
        if _name not in PAPER_BENCHMARKS and not _given:
            raise WorkflowError(
                f"benchmarks.specs.{_name}: missing (not a paper benchmark, so its hub id, split, "
                f"fields and template must be given; keys: {list(BenchmarkSpec.keys())})"
            )
        _spec = PAPER_BENCHMARKS[_name].to_dict() if _name in PAPER_BENCHMARKS else {}
        _spec.update(
            {k: _bench[k] for k in ("n", "seed", "max_source_words") if k in _bench}
        )
        if (
            _given.get("gen_length", _bench["gen_length"][_name])
            != _bench["gen_length"][_name]
        ):
            raise WorkflowError(
                f"benchmarks.specs.{_name}.gen_length: {_given['gen_length']} differs from "
                f"benchmarks.gen_length.{_name} = {_bench['gen_length'][_name]}"
            )
        _spec.update(_given, name=_name, gen_length=_bench["gen_length"][_name])
        try:
            _where = f"benchmarks.specs.{_name}"
            BENCH_SPECS[_name] = BenchmarkSpec.from_dict(_spec, where=_where).to_dict()
        except BenchmarkError as err:
            raise WorkflowError(str(err))
        PINS.append((_where, BENCH_SPECS[_name]["hub_id"], "dataset", None, HUB_UPDATE))
    if TRAINED_MODELS:
        _data, _train = config["cpt"]["data"], config["cpt"]["train"]
        CORPUS_JOB = {
            "hub_id": _data.get("hub_id") or FINEWEB_EDU,
            "config_name": _data.get("config_name") or FINEWEB_CONFIG,
            "split": "train",
            # a local copy: cpt.data.path, else what download_cpt_corpus writes
            "path": _data.get("path") or str(default_corpus_mirror(DATASET_MIRRORS)),
            "block_size": _data["block_size"],
            "n_blocks": _data["n_blocks"],
            "shuffle_buffer": _data.get("shuffle_buffer", 10000),
            "seed": config["seed"],
            "offline": HUB_OFFLINE,
            "cache_dir": f"{HUB_CACHE}/datasets",
            "special_ids": config["models"]["base"].get("special_ids"),
        }
        PINS.append(
            (
                "cpt.data",
                CORPUS_JOB["hub_id"],
                "dataset",
                _data.get("revision"),
                HUB_UPDATE,
            )
        )
        _need = _train["steps"] * _train["global_batch"]
        if _data["n_blocks"] < _need:
            raise WorkflowError(
                f"cpt.data.n_blocks: {_data['n_blocks']} < cpt.train.steps x global_batch = {_need}; "
                "the paper's run reads every block once [§2.1-§2.2]"
            )
    _texts = config["robustness"].get("texts")
    if not _texts:
        raise WorkflowError(
            "robustness.texts: required when models.base.source is not 'toy' (the paper's "
            "texts_100.json, see config/README.md)"
        )
    if not os.path.exists(_texts):
        logger.warning(
            f"robustness.texts {_texts} is missing: the robustness jobs cannot run until it is there. "
            f"Copy eval_data/texts_100.json of github.com/fengsxy/DSL-LLaDA at commit {PAPER_COMMIT} "
            f"to {_texts} (sha256 {PAPER_TEXTS_SHA256}; see config/README.md)."
        )
for _where, _hub_id, _kind, _explicit, _update in PINS:
    if _explicit:
        if not is_commit_sha(_explicit):
            raise WorkflowError(
                f"{_where}.revision: {_explicit!r} is not a 40-hex commit SHA"
            )
        REVISIONS[_where] = _explicit
        continue
    try:
        REVISIONS[_where] = resolve_revision(
            HUB_LOCK, _hub_id, _kind, offline=HUB_OFFLINE, update=_update
        )
    except ValueError as err:  # an empty entry offline, a missing entry, a moved pin
        raise WorkflowError(f"{_where}: {err}")
if CORPUS_JOB:
    CORPUS_JOB["revision"] = REVISIONS["cpt.data"]
for _name in HUB_MODELS if not TOY else []:
    _m = config["models"][_name]
    DOWNLOAD_JOBS[_name] = {
        "name": _name,
        "hub_id": _m["hub_id"],
        "revision": REVISIONS[f"models.{_name}"],
        "revision_from": "config" if _m.get("revision") else HUB_LOCK,
        "lock_file": HUB_LOCK,
        "cache_dir": HUB_CACHE,
        "offline": HUB_OFFLINE,
        "mirror": _m.get("path"),
        "family": _m.get("family", "llada"),
        "dtype": _m.get("dtype", "bfloat16"),
        "special_tokens": _m.get("special_tokens"),
        "special_ids": _m.get("special_ids"),
    }


localrules:
    download_model,
    build_benchmark,
    download_cpt_corpus,


rule download_model:
    input:
        hub_only(),
        # a checkpoint without tokenizer files (a DSL snapshot) takes the base model's
        base_tokenizer=lambda wc: [] if wc.model == "base" else model_dir("base"),
    output:
        model=directory("resources/models/{model}"),
    log:
        "logs/download_model/{model}.log",
    wildcard_constraints:
        model="|".join(HUB_MODELS) or "(?!x)x",
    cache: "omit-software"
    container:
        config["containers"]["cpu"]
    params:
        job=lambda wc: DOWNLOAD_JOBS[wc.model],
    script:
        "../scripts/download_model.py"


rule build_benchmark:
    input:
        hub_only(),
    output:
        records="results/data/benchmarks/{bench}.json",
    log:
        "logs/build_benchmark/{bench}.log",
    wildcard_constraints:
        bench="|".join(BENCHES),
    container:
        config["containers"]["cpu"]
    params:
        spec=lambda wc: BENCH_SPECS[wc.bench],
        revision=lambda wc: REVISIONS[f"benchmarks.specs.{wc.bench}"],
        offline=HUB_OFFLINE,
        mirror_root=DATASET_MIRRORS,
        cache_dir=f"{HUB_CACHE}/datasets",
    script:
        "../scripts/build_benchmark.py"


rule download_cpt_corpus:
    input:
        hub_only(),
    output:
        corpus=directory(str(default_corpus_mirror(DATASET_MIRRORS))),
    log:
        "logs/download_cpt_corpus.log",
    container:
        config["containers"]["cpu"]
    params:
        job=CORPUS_JOB,
    script:
        "../scripts/download_cpt_corpus.py"


rule prepare_cpt_corpus:
    input:
        hub_only(),
        tokenizer=model_dir("base"),
        corpus=CORPUS_JOB.get("path", []),
    output:
        data=directory("results/data/train/cpt"),
    log:
        "logs/prepare_cpt_corpus.log",
    container:
        config["containers"]["cpu"]
    threads: 4
    resources:
        mem_mb=16000,
        runtime=8 * 60,
    params:
        job=CORPUS_JOB,
    script:
        "../scripts/prepare_cpt_corpus.py"
