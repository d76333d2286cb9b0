"""Pinned Hugging Face Hub downloads, the way lock files pin packages (requirement R5).

Policy (see the header of ``config/hub.lock.yaml``):

* Every hub artifact the workflow touches is listed in the lock file with its kind
  and a 40-hex commit SHA. Branch or tag names are refused: they move.
* The SHA is filled in once, online, by :func:`resolve_revision` with
  ``update=True`` (config ``hub.update_lock: true``), which asks the hub for the
  current commit and writes it to the lock. After that every run uses the locked
  SHA, online or offline. An empty entry while offline is an error that says how
  to fill it.
* ``trust_remote_code`` is only allowed with a locked commit SHA
  (:func:`require_locked_sha`).
* Model downloads take only safetensors weights plus configs, tokenizer files and
  the remote-code ``*.py`` files (:data:`MODEL_ALLOW_PATTERNS`); pickled
  ``*.bin`` / ``*.pt`` weights are never fetched or accepted.
* A downloaded folder gets a sha256 manifest (:func:`write_manifest`) that is
  checked on every reuse (:func:`verify_manifest`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from .io import atomic_write_text

__all__ = [
    "HubError",
    "LockError",
    "ManifestError",
    "KINDS",
    "PAPER_HUB_ENTRIES",
    "MODEL_ALLOW_PATTERNS",
    "PICKLE_WEIGHT_SUFFIXES",
    "LOCK_HEADER",
    "is_commit_sha",
    "is_offline",
    "read_lock",
    "write_lock",
    "hub_commit_sha",
    "resolve_revision",
    "require_locked_sha",
    "download_model",
    "write_manifest",
    "verify_manifest",
]

log = logging.getLogger(__name__)


class HubError(ValueError):
    """A hub artifact cannot be used as asked (unpinned, missing, unsafe)."""


class LockError(HubError):
    """Problem with the hub lock file (names the file and the hub id)."""


class ManifestError(HubError):
    """A downloaded folder does not match its sha256 manifest (names the file)."""


KINDS: tuple[str, ...] = ("model", "dataset")

#: Every hub id the paper workflow uses, with its kind (protocol §2, §4.1).
#: ``HuggingFaceFW/fineweb-edu`` is used with config ``sample-10BT``; the lock pins
#: the repository commit, which covers all its configs.
PAPER_HUB_ENTRIES: dict[str, str] = {
    "GSAI-ML/LLaDA-8B-Instruct": "model",
    "liddlefish/DSL-LLaDA-Beta1": "model",
    "liddlefish/DSL-LLaDA-Beta2": "model",
    "liddlefish/DSL-LLaDA-Highpass": "model",
    "EdinburghNLP/xsum": "dataset",
    "cnn_dailymail": "dataset",
    "ccdv/pubmed-summarization": "dataset",
    "ccdv/arxiv-summarization": "dataset",
    "HuggingFaceFW/fineweb-edu": "dataset",
    # the scorers, AR references and reasoning sets of the paper items [§4.3, §3.7, §6.2]
    "openai-community/gpt2-large": "model",
    "FacebookAI/roberta-large": "model",
    "Qwen/Qwen2.5-7B-Instruct": "model",
    "meta-llama/Llama-3.1-8B-Instruct": "model",
    "openai/gsm8k": "dataset",
    "EleutherAI/hendrycks_math": "dataset",
}

#: What :func:`download_model` fetches: no pickled weights, ever.
MODEL_ALLOW_PATTERNS: list[str] = [
    "*.json",
    "*.safetensors",
    "*.py",
    "*.txt",
    "*.model",
    "tokenizer*",
]

#: Weight files that are Python pickles (arbitrary code on load); refused.
PICKLE_WEIGHT_SUFFIXES: tuple[str, ...] = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")

_SHA_RE = re.compile(r"^[0-9a-f]{40}$")

LOCK_HEADER = """\
# Hub lock file: the commit every Hugging Face Hub artifact is pinned to (R5).
#
# Policy
# - Each entry is `<hub id>: {kind: model|dataset, revision: <40-hex commit SHA>}`.
#   Only full commit SHAs are accepted; branch or tag names (main, v1.0) move and
#   are refused.
# - An empty revision means "not pinned yet". Our build machines cannot reach the
#   hub, so the SHAs are filled in the way lock files are: run once online with
#   hub.update_lock: true in a config (dsl_llada.hub.resolve_revision(..., update=True)); it asks the
#   hub for the current commit, writes it here and logs that it did. Commit the
#   updated file. You may also paste a SHA from the repository's "History" page.
# - Offline, an empty entry is an error: nothing is ever downloaded unpinned.
# - trust_remote_code is only allowed with a pinned SHA.
# - HuggingFaceFW/fineweb-edu is read with config sample-10BT; cnn_dailymail with
#   config 3.0.0. The SHA pins the whole repository, so it covers the config.
# - dsl_llada.hub.write_lock rewrites this file (keys sorted) with this fixed
#   header (LOCK_HEADER in src/dsl_llada/hub.py); comments added elsewhere are lost.
"""


def is_commit_sha(revision: Any) -> bool:
    """True for a full 40-hex lower-case git commit SHA (the only pin R5 accepts)."""
    return isinstance(revision, str) and bool(_SHA_RE.match(revision))


def is_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` or ``HF_DATASETS_OFFLINE`` is set to a true value."""
    truthy = {"1", "true", "yes", "on"}
    return any(os.environ.get(var, "").strip().lower() in truthy for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


# ---------------------------------------------------------------- lock file


def _check_entry(path: Path | str, repo_id: Any, entry: Any) -> dict[str, str]:
    if not isinstance(repo_id, str) or not repo_id.strip():
        raise LockError(f"{path}: hub id {repo_id!r} is not a non-empty string")
    if not isinstance(entry, Mapping):
        raise LockError(f"{path}: entry {repo_id!r} must be a mapping {{kind, revision}}, got {entry!r}")
    extra = sorted(set(entry) - {"kind", "revision"})
    if extra:
        raise LockError(f"{path}: entry {repo_id!r} has unknown key(s) {extra}; allowed: kind, revision")
    kind = entry.get("kind")
    if kind not in KINDS:
        raise LockError(f"{path}: entry {repo_id!r} has kind {kind!r}; expected one of {list(KINDS)}")
    revision = entry.get("revision", "")
    if revision is None:
        revision = ""
    if not isinstance(revision, str):
        raise LockError(f"{path}: entry {repo_id!r} revision must be a string, got {revision!r}")
    if revision and not is_commit_sha(revision):
        raise LockError(
            f"{path}: entry {repo_id!r} has revision {revision!r}, which is not a 40-hex commit "
            "SHA; branch and tag names move, so they are refused. Put the commit SHA there, "
            "or empty it and run once online with hub.update_lock: true"
        )
    return {"kind": kind, "revision": revision}


def read_lock(path: str | os.PathLike) -> dict[str, dict[str, str]]:
    """Read and validate a hub lock file: ``{hub id: {kind, revision}}`` (R5).

    An empty file is an empty lock. Errors name the file and the entry.
    """
    path = Path(path)
    if not path.is_file():
        raise LockError(f"hub lock file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LockError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise LockError(f"{path}: top level must be a mapping of hub id -> {{kind, revision}}")
    return {repo_id: _check_entry(path, repo_id, entry) for repo_id, entry in data.items()}


def write_lock(path: str | os.PathLike, lock: Mapping[str, Mapping[str, str]]) -> None:
    """Write a hub lock atomically (temp file + ``os.replace``), header first, keys sorted (R5)."""
    path = Path(path)
    clean = {rid: _check_entry(path, rid, entry) for rid, entry in lock.items()}
    body = yaml.safe_dump(
        {rid: clean[rid] for rid in sorted(clean)},
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
    )
    atomic_write_text(path, LOCK_HEADER + "\n" + body)


def hub_commit_sha(repo_id: str, kind: str) -> str:
    """Ask the hub for the current commit SHA of ``repo_id`` (the default resolver; needs network)."""
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        info = api.model_info(repo_id) if kind == "model" else api.dataset_info(repo_id)
    except Exception as exc:  # network, auth, offline mode, missing repo
        raise HubError(f"could not look up the current commit of {kind} {repo_id!r}: {exc}") from exc
    return info.sha


def resolve_revision(
    lock_path: str | os.PathLike,
    repo_id: str,
    kind: str,
    *,
    offline: bool,
    update: bool,
    resolver: Callable[[str, str], str] | None = None,
) -> str:
    """The commit SHA to download ``repo_id`` at, from the lock file (R5 pinning policy).

    * A locked 40-hex SHA is returned as-is (unless ``update``).
    * An empty entry offline is an error naming the id and the lock file.
    * An empty entry online, or any entry with ``update=True``, calls
      ``resolver(repo_id, kind)`` (default :func:`hub_commit_sha`), checks that
      the answer is a commit SHA, writes it to the lock and logs that it did.
    * An id missing from the lock is an error unless ``update=True`` (then it is added).
    * A branch/tag name in the lock, or a kind that differs, is an error.
    """
    if kind not in KINDS:
        raise HubError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    lock_path = Path(lock_path)
    lock = read_lock(lock_path)
    entry = lock.get(repo_id)
    if entry is None:
        if not update:
            raise LockError(
                f"{repo_id!r} is not in the hub lock file {lock_path}; add "
                f"`{repo_id}: {{kind: {kind}, revision: ''}}` there and fill in its commit SHA, "
                "or run once online with hub.update_lock: true"
            )
        entry = {"kind": kind, "revision": ""}
    elif entry["kind"] != kind:
        raise LockError(f"{lock_path}: {repo_id!r} is locked as a {entry['kind']}, but was requested as a {kind}")
    revision = entry["revision"]
    if revision and not update:
        return revision
    if offline:
        if update:
            raise LockError(
                f"cannot update the locked revision of {repo_id!r} in {lock_path} while offline; "
                "set hub.update_lock: true on a machine that reaches the Hugging Face Hub"
            )
        raise LockError(
            f"no locked revision for {repo_id!r} in {lock_path} and the hub is offline; "
            f"run once online with hub.update_lock: true / fill in its commit SHA in {lock_path}"
        )
    sha = (resolver or hub_commit_sha)(repo_id, kind)
    if not is_commit_sha(sha):
        raise LockError(f"the hub answered {sha!r} for {repo_id!r}, which is not a 40-hex commit SHA")
    lock[repo_id] = {"kind": kind, "revision": sha}
    write_lock(lock_path, lock)
    if revision and revision != sha:
        log.warning("hub lock %s: %s %s moved %s -> %s (updated)", lock_path, kind, repo_id, revision, sha)
    else:
        log.warning("hub lock %s: pinned %s %s to %s (written to the lock)", lock_path, kind, repo_id, sha)
    return sha


def require_locked_sha(revision: Any) -> str:
    """``trust_remote_code`` is only allowed with a 40-hex commit SHA (R5); returns it."""
    if not is_commit_sha(revision):
        raise HubError(
            f"trust_remote_code needs a pinned 40-hex commit SHA, got revision {revision!r}; "
            "resolve it through config/hub.lock.yaml (dsl_llada.hub.resolve_revision)"
        )
    return revision


# ---------------------------------------------------------------- downloads


def _pickle_files(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in PICKLE_WEIGHT_SUFFIXES
    )


def _require_safetensors(root: Path, what: str) -> None:
    if not any(p.is_file() for p in root.rglob("*.safetensors")):
        pickles = _pickle_files(root)
        extra = f" (it has pickled weights {pickles}, which are never loaded)" if pickles else ""
        raise HubError(f"{what} {root} has no *.safetensors weights{extra}")


def download_model(
    repo_id: str,
    revision: str | None,
    cache_dir: str | os.PathLike,
    local_mirror: str | os.PathLike | None = None,
) -> Path:
    """Folder of a model pinned to ``revision``; safetensors only (R5).

    With ``local_mirror`` that folder is used instead of the hub; it must hold
    ``*.safetensors`` weights (a mirror with only ``pytorch_model.bin`` is refused).
    Otherwise ``huggingface_hub.snapshot_download`` fetches only
    :data:`MODEL_ALLOW_PATTERNS` at the 40-hex SHA ``revision`` into ``cache_dir``.
    """
    if local_mirror is not None:
        mirror = Path(local_mirror)
        if not mirror.is_dir():
            raise HubError(f"local mirror for {repo_id!r} is not a folder: {mirror}")
        if revision:
            require_locked_sha(revision)
        _require_safetensors(mirror, f"local mirror for {repo_id!r}")
        return mirror
    if not is_commit_sha(revision):
        raise HubError(
            f"download of {repo_id!r} needs a 40-hex commit SHA, got {revision!r}; "
            "take it from config/hub.lock.yaml (dsl_llada.hub.resolve_revision)"
        )
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(
            repo_id,
            revision=revision,
            cache_dir=str(cache_dir),
            allow_patterns=list(MODEL_ALLOW_PATTERNS),
        )
    except Exception as exc:
        raise HubError(
            f"could not get {repo_id!r} at {revision} into {cache_dir}: {exc}. Offline, place a "
            "copy of the model folder (config.json, *.safetensors, tokenizer files) somewhere "
            "and pass it as the local mirror"
        ) from exc
    folder = Path(folder)
    _require_safetensors(folder, f"download of {repo_id!r}")
    return folder


# ---------------------------------------------------------------- manifests


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _manifest_files(root: Path, manifest_path: Path) -> list[str]:
    try:
        skip = manifest_path.resolve()
    except OSError:
        skip = manifest_path
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if rel.parts and rel.parts[0] == ".cache":  # huggingface_hub's local_dir metadata
            continue
        if rel.as_posix() == ".snakemake_timestamp":  # Snakemake's marker in directory() outputs
            continue
        if p.is_file() and p.resolve() != skip:
            out.append(rel.as_posix())
    return sorted(out)


def write_manifest(root: str | os.PathLike, path: str | os.PathLike, root_label: str | None = None) -> dict[str, str]:
    """Write the sha256 of every file under ``root`` to JSON ``path`` (atomic); returns it (R5).

    Paths are relative to ``root`` (POSIX), sorted. Symlinks (the hub cache's
    snapshot links) are followed. The manifest itself and ``.cache/`` are skipped.
    """
    root, path = Path(root), Path(path)
    if not root.is_dir():
        raise ManifestError(f"cannot write a manifest: {root} is not a folder")
    files = {rel: _sha256(root / rel) for rel in _manifest_files(root, path)}
    if not files:
        raise ManifestError(f"cannot write a manifest: {root} holds no files")
    label = str(root) if root_label is None else root_label  # informational; never verified
    atomic_write_text(path, json.dumps({"root": label, "sha256": files}, indent=2) + "\n")
    return files


def verify_manifest(root: str | os.PathLike, path: str | os.PathLike) -> None:
    """Check ``root`` against the manifest at ``path`` (R5); error names the first bad file.

    A file that is missing, changed, or present but not in the manifest is an
    error (checked in sorted path order).
    """
    root, path = Path(root), Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist (write it with write_manifest)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        expected = data["sha256"]
        if not isinstance(expected, dict):
            raise TypeError("sha256 is not a mapping")
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ManifestError(f"manifest {path} is malformed: {exc}") from None
    if not root.is_dir():
        raise ManifestError(f"{root} (checked against {path}) is not a folder")
    present = set(_manifest_files(root, path))
    for rel in sorted(set(expected) | present):
        if rel not in present:
            raise ManifestError(f"{root}: file {rel} is listed in {path} but missing")
        if rel not in expected:
            raise ManifestError(f"{root}: file {rel} is not listed in {path} (unexpected file)")
        if _sha256(root / rel) != expected[rel]:
            raise ManifestError(f"{root}: file {rel} does not match its sha256 in {path}")


# ---------------------------------------------------------------- committed artifacts

#: The manifest every committed model artifact carries (the same format as a snapshot's).
ARTIFACT_MANIFEST = "manifest.sha256.json"


def manifest_digest(folder: str | os.PathLike) -> str:
    """sha256 of a folder's manifest file: one value that pins every file the manifest lists."""
    path = Path(folder) / ARTIFACT_MANIFEST
    if not path.is_file():
        raise ManifestError(f"{folder}: no {ARTIFACT_MANIFEST} (an artifact folder carries its manifest)")
    return _sha256(path)


def read_artifact_lock(path: str | os.PathLike) -> dict[str, str]:
    """``{artifact folder: manifest sha256}`` from an artifact lock file (YAML ``<folder>:
    {manifest_sha256: <64 hex>}``); errors name the file and the entry."""
    path = Path(path)
    if not path.is_file():
        raise LockError(f"artifact lock file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise LockError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise LockError(f"{path}: top level must be a mapping of folder -> {{manifest_sha256}}")
    out = {}
    for folder, entry in data.items():
        digest = entry.get("manifest_sha256") if isinstance(entry, Mapping) else None
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise LockError(f"{path}: entry {folder!r} needs manifest_sha256: <64 hex>, got {entry!r}")
        out[str(folder).rstrip("/")] = digest
    return out


def locked_artifact_digest(lock_file: str | os.PathLike, folder: str) -> str:
    """The manifest sha256 the lock pins ``folder`` to; a folder without an entry is an error."""
    lock = read_artifact_lock(lock_file)
    key = str(folder).rstrip("/")
    if key not in lock:
        raise LockError(
            f"{lock_file}: no entry for artifact {key!r}; add `{key}: {{manifest_sha256: <sha256 of "
            f"{key}/{ARTIFACT_MANIFEST}>}}` (the toy_base preset writes it next to the folder it builds)"
        )
    return lock[key]


def verify_artifact(folder: str | os.PathLike, lock_file: str | os.PathLike) -> str:
    """Check a committed artifact folder: its manifest must hash to the lock's entry, and every
    file must match the manifest (a changed, missing or extra file is an error naming it).
    Returns the manifest sha256."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ManifestError(f"artifact {folder} is not a folder")
    expected = locked_artifact_digest(lock_file, str(folder))
    actual = manifest_digest(folder)
    if actual != expected:
        raise ManifestError(
            f"{folder}/{ARTIFACT_MANIFEST} has sha256 {actual}, but {lock_file} pins {expected}: "
            "the manifest was changed or replaced (after a deliberate rebuild, update the lock entry)"
        )
    verify_manifest(folder, folder / ARTIFACT_MANIFEST)
    return actual
