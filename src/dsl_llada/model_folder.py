"""A self-describing model folder from a pinned hub snapshot or a local mirror (rule download_model).

``resources/models/{model}`` holds:

* the snapshot's files (safetensors, configs, tokenizer; never pickles), hard-linked from the
  hub cache (copied across file systems) or from a local mirror. A hub repository's own *.py
  files come along with the snapshot but never run: the model is :mod:`dsl_llada.llada` and the
  tokenizer loads from ``tokenizer.json``;
* ``dsl_llada_backbone.json``: family, special ids (checked against the tokenizer), hub id, SHA;
* ``dsl_llada_download.meta.json``: provenance (git commit, packages, source, counts);
* ``manifest.sha256.json`` (last): sha256 of every file, for later verification.

The hub-cache snapshot gets its own manifest under ``<cache_dir>/manifests/`` on first download;
every reuse of that snapshot is verified against it first.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from .backbone import BACKBONE_META, load_tokenizer, special_ids_from_tokenizer
from .hub import (
    PICKLE_WEIGHT_SUFFIXES,
    HubError,
    download_model,
    resolve_revision,
    verify_artifact,
    verify_manifest,
    write_manifest,
)
from .io import atomic_write_text, write_provenance

__all__ = [
    "MANIFEST",
    "PROVENANCE",
    "TOKENIZER_FILES",
    "check_planned_revision",
    "fetch_snapshot",
    "materialise",
    "copy_base_tokenizer",
    "backbone_meta",
    "build_model_folder",
]

log = logging.getLogger("download_model")  # the rule's name in its log, as before the move
MANIFEST = "manifest.sha256.json"
PROVENANCE = "dsl_llada_download"  # -> dsl_llada_download.meta.json
OWN_FILES = {MANIFEST, f"{PROVENANCE}.meta.json", BACKBONE_META}  # written here, never linked
ARTIFACT_PROVENANCE = "provenance.json"  # how a committed artifact was built (toy_base preset)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model")


def check_planned_revision(job: dict) -> None:
    """A SHA that came from the lock file must still be the one locked: the lock is read again,
    never the network (the SHA was fixed, and written, when the DAG was built)."""
    if job["revision_from"] == "config":
        return
    locked = resolve_revision(job["lock_file"], job["hub_id"], "model", offline=True, update=False)
    if locked != job["revision"]:
        raise HubError(
            f"{job['lock_file']} now pins {job['hub_id']!r} to {locked}, but this job was planned with "
            f"{job['revision']}; run snakemake again"
        )


def fetch_snapshot(job: dict) -> tuple[Path, dict[str, str]]:
    """(snapshot folder, source record): the local mirror ``job["mirror"]`` when set, else the
    hub-cache snapshot at the SHA, checked against (or, the first time, given) its manifest."""
    hub_id, sha, name = job["hub_id"], job["revision"], job["name"]
    cache_dir = Path(job["cache_dir"])
    if job.get("mirror"):
        folder = download_model(hub_id, sha, cache_dir, local_mirror=job["mirror"])
        return Path(folder), {"kind": "local mirror", "path": str(job["mirror"])}
    try:
        folder = download_model(hub_id, sha, cache_dir)
    except HubError as err:
        if not job["offline"]:
            raise
        raise HubError(
            f"models.{name}: offline and {hub_id}@{sha} is not in the hub cache {cache_dir}. On a machine "
            f"with network run `hf download {hub_id} --revision {sha} --local-dir <dir>` (older "
            f"huggingface-hub: huggingface-cli), copy <dir> here and set models.{name}.path: <dir>, "
            f"or run this rule once online (hub.offline: false). Cause: {err}"
        ) from None
    reuse = cache_dir / "manifests" / f"{hub_id.replace('/', '--')}@{sha}.sha256.json"
    if reuse.exists():
        verify_manifest(folder, reuse)
        log.info("hub cache snapshot %s verified against %s", folder, reuse)
    else:
        write_manifest(folder, reuse)
        log.info("hub cache snapshot %s: manifest written to %s", folder, reuse)
    return Path(folder), {"kind": "hub", "snapshot": str(folder), "snapshot_manifest": str(reuse)}


def materialise(src: Path, out: Path) -> tuple[int, int]:
    """Hard-link (or copy) every file of ``src`` into ``out``; pickled weights are skipped.
    Returns (files, bytes)."""
    n_files, n_bytes = 0, 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if ".cache" in rel.parts or not path.is_file() or rel.as_posix() in OWN_FILES:
            continue
        if path.suffix.lower() in PICKLE_WEIGHT_SUFFIXES:
            log.warning("skipped pickled weights %s (never loaded)", rel)
            continue
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        real = path.resolve()
        try:
            os.link(real, dest)
        except OSError:
            shutil.copy2(real, dest)
        n_files += 1
        n_bytes += dest.stat().st_size
    return n_files, n_bytes


def copy_base_tokenizer(out: Path, base_tokenizer: str | None, hub_id: str, sha: str) -> str | None:
    """Give a folder without tokenizer files the base model's (a DSL snapshot: LLaDA's
    vocabulary is unchanged [§1.1]); returns where they came from, None when none were needed."""
    if any((out / f).exists() for f in TOKENIZER_FILES):
        return None
    if not base_tokenizer:
        raise HubError(f"{hub_id}@{sha} has no tokenizer files ({', '.join(TOKENIZER_FILES)})")
    for fname in TOKENIZER_FILES:
        if (Path(base_tokenizer) / fname).exists():
            shutil.copyfile(Path(base_tokenizer) / fname, out / fname)
    log.warning("%s has no tokenizer files: took the base model's from %s", hub_id, base_tokenizer)
    return str(base_tokenizer)


def backbone_meta(job: dict, out: Path) -> dict[str, Any]:
    """The ``dsl_llada_backbone.json`` content: family, hub id, SHA, dtype and, when
    ``special_tokens`` are configured, the special ids looked up in the folder's tokenizer and
    checked against ``special_ids`` [§1.6] (a mismatch is an error)."""
    meta = {"family": job["family"], "hub_id": job["hub_id"], "revision": job["revision"], "dtype": job["dtype"]}
    if job.get("special_tokens"):
        tokenizer = load_tokenizer(out)  # tokenizer.json only: no remote code, no prompt
        special = special_ids_from_tokenizer(tokenizer, job["special_tokens"], job.get("special_ids"))
        meta["special_ids"] = special.as_dict()  # checked: tokenizer ids == models.<name>.special_ids
        log.info("special ids %s match the config", meta["special_ids"])
    else:
        log.warning("models.%s.special_tokens not set: the special ids were not checked", job["name"])
    return meta


def build_artifact_folder(job: dict, out: str | os.PathLike) -> dict[str, str]:
    """A model artifact committed to this repository (the toy base), taken the hub snapshot's way:
    verified against the lock and its manifest on every run, then materialised into ``out`` with
    provenance and the sha256 manifest last. Returns the manifest's entries."""
    folder, out = Path(job["artifact"]), Path(out)
    digest = verify_artifact(folder, job["lock_file"])
    log.info("artifact %s verified: manifest sha256 %s pinned by %s", folder, digest, job["lock_file"])
    built = json.loads((folder / ARTIFACT_PROVENANCE).read_text())
    for key in ("world", "benchmarks_gen_length"):
        if built.get(key) != job[key]:
            raise HubError(
                f"models.{job['name']}.artifact: {folder} was trained on {key} = {built.get(key)}, but this config "
                f"has {job[key]}; its test records could overlap the base model's training data. Rebuild the base "
                "with `snakemake toy_base --configfile config/presets/toy_base.yaml --cores all` (config/README.md)"
            )
    out.mkdir(parents=True, exist_ok=True)
    n_files, n_bytes = materialise(folder, out)
    # the artifact's own backbone metadata (family, special ids) is part of what the lock pins
    atomic_write_text(out / BACKBONE_META, (folder / BACKBONE_META).read_text())
    log.info("%s: %d files, %.2f MB in %s", folder, n_files, n_bytes / 1e6, out)
    write_provenance(
        out / PROVENANCE,
        config=job,
        model_revision=f"sha256:{digest}",
        extra={
            "source": {"kind": "committed artifact", "path": str(folder), "manifest_sha256": digest},
            "files": n_files,
            "bytes": n_bytes,
            "built_with": built,
        },
    )
    files = write_manifest(out, out / MANIFEST)  # last: covers every file above
    log.info("manifest of %d files written to %s", len(files), out / MANIFEST)
    return files


def build_model_folder(job: dict, out: str | os.PathLike, base_tokenizer: str | None = None) -> dict[str, str]:
    """Build ``out`` from the download job planned by :mod:`dsl_llada.downloads`: check the SHA,
    fetch the snapshot, link its files, add the base tokenizer if needed, write the backbone
    meta and the provenance, and the sha256 manifest last. Returns the manifest's entries. A job
    with ``artifact`` (a committed model folder) goes to :func:`build_artifact_folder`."""
    if job.get("artifact"):
        return build_artifact_folder(job, out)
    out = Path(out)
    hub_id, sha = job["hub_id"], job["revision"]
    check_planned_revision(job)
    folder, source = fetch_snapshot(job)
    out.mkdir(parents=True, exist_ok=True)
    n_files, n_bytes = materialise(folder, out)
    log.info("%s@%s: %d files, %.2f GB in %s", hub_id, sha, n_files, n_bytes / 1e9, out)
    tokenizer_from = copy_base_tokenizer(out, base_tokenizer, hub_id, sha)
    meta = backbone_meta(job, out)
    # atomic (a new inode): never writes through a hard link into the cache or the mirror
    atomic_write_text(out / BACKBONE_META, json.dumps(meta, indent=1) + "\n")
    write_provenance(
        out / PROVENANCE,
        config=job,
        model_revision=sha,
        extra={
            "hub_id": hub_id,
            "source": source,
            "files": n_files,
            "bytes": n_bytes,
            "tokenizer_from": tokenizer_from,
            "backbone_meta": meta,
        },
    )
    files = write_manifest(out, out / MANIFEST)  # last: covers every file above
    log.info("manifest of %d files written to %s", len(files), out / MANIFEST)
    return files
