"""The download plan of a hub run: what the download rules fetch, each at a commit SHA.

The workflow (``workflow/rules/download.smk``) calls :func:`download_plan` once, at parse
time, on the validated config (schema defaults filled in). Building the plan checks every
benchmark spec and the corpus size, and resolves every hub artifact the run reads to a commit
SHA (an explicit ``revision:`` or ``config/hub.lock.yaml``), so a bad key or a missing lock
entry stops the run before any job starts [protocol §2.1, §2.5, §4.1]. Torch-free: planning a
run never loads a model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .benchmarks import PAPER_BENCHMARKS, BenchmarkError, BenchmarkSpec
from .corpus import FINEWEB_CONFIG, FINEWEB_EDU, default_corpus_mirror
from .hub import is_commit_sha, is_offline, resolve_revision
from .paper_eval import PAPER_EVAL_COMMIT, PAPER_EVAL_REPO

__all__ = ["DownloadError", "DownloadPlan", "HubSettings", "download_plan"]


class DownloadError(ValueError):
    """A config that cannot be downloaded; the message starts with the dotted key."""


@dataclass(frozen=True)
class HubSettings:
    """The ``hub`` config section. ``offline`` is also true when the environment says so
    (``HF_HUB_OFFLINE`` / ``HF_DATASETS_OFFLINE``)."""

    lock_file: str
    cache_dir: str
    offline: bool
    update_lock: bool

    @classmethod
    def from_config(cls, config: dict) -> HubSettings:
        hub = config["hub"]
        return cls(
            lock_file=hub["lock_file"],
            cache_dir=hub["cache_dir"],
            offline=bool(hub["offline"]) or is_offline(),
            update_lock=bool(hub["update_lock"]),
        )


@dataclass(frozen=True)
class DownloadPlan:
    """Parameters of every download job, keyed as the rules' wildcards are.

    ``models``: model name -> ``download_model`` job; ``benchmarks``: benchmark name -> spec
    dict for ``build_benchmark``; ``corpus``: the ``prepare_cpt_corpus`` job (``None`` when no
    model is trained); ``revisions``: config key -> commit SHA; ``warnings``: what the run
    should say but need not stop for.
    """

    hub: HubSettings
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    benchmarks: dict[str, dict[str, Any]] = field(default_factory=dict)
    corpus: dict[str, Any] | None = None
    revisions: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Pin:
    """One hub artifact to resolve: its config key, hub id, kind and explicit revision."""

    where: str
    hub_id: str
    kind: str
    revision: str | None
    may_update_lock: bool


def used_models(config: dict) -> list[str]:
    """Models a job reads: those of the sampling methods and of the robustness study."""
    sampled = {m["model"] for m in config["sampling"]["methods"].values()}
    return sorted(sampled | set(config["robustness"]["models"]))


def benchmark_spec(config: dict, name: str) -> dict[str, Any]:
    """The spec of benchmark ``name``: PAPER_BENCHMARKS, then ``benchmarks.*`` (n, seed,
    max_source_words), then ``benchmarks.specs.<name>``; gen_length from benchmarks.gen_length."""
    bench = config["benchmarks"]
    where = f"benchmarks.specs.{name}"
    given = dict((bench.get("specs") or {}).get(name) or {})
    if name not in PAPER_BENCHMARKS and not given:
        raise DownloadError(
            f"{where}: missing (not a paper benchmark, so its hub id, split, "
            f"fields and template must be given; keys: {list(BenchmarkSpec.keys())})"
        )
    gen_length = bench["gen_length"][name]
    if given.get("gen_length", gen_length) != gen_length:
        raise DownloadError(
            f"{where}.gen_length: {given['gen_length']} differs from benchmarks.gen_length.{name} = {gen_length}"
        )
    spec = PAPER_BENCHMARKS[name].to_dict() if name in PAPER_BENCHMARKS else {}
    spec.update({k: bench[k] for k in ("n", "seed", "max_source_words") if k in bench})
    spec.update(given, name=name, gen_length=gen_length)
    try:
        return BenchmarkSpec.from_dict(spec, where=where).to_dict()
    except BenchmarkError as err:
        raise DownloadError(str(err)) from None


def corpus_job(config: dict, hub: HubSettings) -> dict[str, Any]:
    """The continued pre-training corpus job [§2.1-§2.2], without its revision."""
    data, train = config["cpt"]["data"], config["cpt"]["train"]
    need = train["steps"] * train["global_batch"]
    if data["n_blocks"] < need:
        raise DownloadError(
            f"cpt.data.n_blocks: {data['n_blocks']} < cpt.train.steps x global_batch = {need}; "
            "the paper's run reads every block once [§2.1-§2.2]"
        )
    return {
        "hub_id": data["hub_id"] or FINEWEB_EDU,
        "config_name": data["config_name"] or FINEWEB_CONFIG,
        "split": "train",
        # a local copy: cpt.data.path, else what rule download_cpt_corpus writes
        "path": data["path"] or str(default_corpus_mirror()),
        "block_size": data["block_size"],
        "n_blocks": data["n_blocks"],
        "shuffle_buffer": data["shuffle_buffer"],
        "seed": config["seed"],
        "offline": hub.offline,
        "cache_dir": f"{hub.cache_dir}/datasets",
        "special_ids": config["models"]["base"].get("special_ids"),
    }


def model_job(config: dict, name: str, revision: str, hub: HubSettings) -> dict[str, Any]:
    """The ``download_model`` job of model ``name`` at ``revision``."""
    model = config["models"][name]
    return {
        "name": name,
        "hub_id": model["hub_id"],
        "revision": revision,
        "revision_from": "config" if model["revision"] else hub.lock_file,
        "lock_file": hub.lock_file,
        "cache_dir": hub.cache_dir,
        "offline": hub.offline,
        "mirror": model["path"],
        "family": model["family"],
        "dtype": model["dtype"],
        "special_tokens": model.get("special_tokens"),
        "special_ids": model.get("special_ids"),
    }


def texts_warnings(config: dict) -> list[str]:
    """robustness.texts is required off the toy. The default, the authors' texts_100.json, is
    fetched by rule fetch_paper_eval; any other missing file only warns (no rule makes it)."""
    texts = config["robustness"]["texts"]
    if not texts:
        raise DownloadError(
            "robustness.texts: required when models.base.source is not 'toy' (the paper's "
            "texts_100.json, see config/README.md)"
        )
    fetched = f"{config['paper_eval']['dir']}/texts_100.json"
    if os.path.exists(texts) or texts == fetched:
        return []
    return [
        f"robustness.texts {texts} is missing and no rule makes it: the robustness jobs cannot run "
        f"until it is there. {fetched} (the default) is fetched from github.com/{PAPER_EVAL_REPO} at "
        f"commit {PAPER_EVAL_COMMIT} by rule fetch_paper_eval."
    ]


def resolve_pin(pin: _Pin, hub: HubSettings) -> str:
    """The commit SHA of one pin: its explicit revision, else the lock file's entry."""
    if pin.revision:
        if not is_commit_sha(pin.revision):
            raise DownloadError(f"{pin.where}.revision: {pin.revision!r} is not a 40-hex commit SHA")
        return pin.revision
    try:
        return resolve_revision(hub.lock_file, pin.hub_id, pin.kind, offline=hub.offline, update=pin.may_update_lock)
    except ValueError as err:  # an empty entry offline, a missing entry, a moved pin
        raise DownloadError(f"{pin.where}: {err}") from None


def download_plan(config: dict) -> DownloadPlan:
    """Every download of a hub run (``models.base.source`` not ``toy``), checked and pinned.

    ``config`` is the validated config with the schema's defaults filled in. Raises
    :class:`DownloadError` naming the config key at fault.
    """
    hub = HubSettings.from_config(config)
    used = used_models(config)
    hub_models = [k for k, m in config["models"].items() if m["source"] == "hub"]
    # models were checked against the lock by the config check: read the lock, never update it here
    pins = [
        _Pin(f"models.{k}", config["models"][k]["hub_id"], "model", config["models"][k]["revision"], False)
        for k in hub_models
    ]
    benchmarks = {name: benchmark_spec(config, name) for name in config["benchmarks"]["names"]}
    pins += [
        _Pin(f"benchmarks.specs.{k}", s["hub_id"], "dataset", None, hub.update_lock) for k, s in benchmarks.items()
    ]
    corpus = None
    if any(config["models"][m]["source"] == "train" for m in used):
        corpus = corpus_job(config, hub)
        pins.append(_Pin("cpt.data", corpus["hub_id"], "dataset", config["cpt"]["data"]["revision"], hub.update_lock))
    warnings = texts_warnings(config)
    revisions = {pin.where: resolve_pin(pin, hub) for pin in pins}
    if corpus is not None:
        corpus["revision"] = revisions["cpt.data"]
    models = {k: model_job(config, k, revisions[f"models.{k}"], hub) for k in hub_models}
    return DownloadPlan(hub, models, benchmarks, corpus, revisions, warnings)
