"""Atomic file publishing and provenance sidecars.

Nothing half-written may be taken as done: every result is written to a temp file in the
same folder and renamed into place. Every result gets ``<file>.meta.json`` recording the git
commit, package versions, torch/CUDA, device, seed, model revision and a config hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "dsl_llada",
    "torch",
    "transformers",
    "accelerate",
    "datasets",
    "tokenizers",
    "rouge-score",
    "pandas",
    "numpy",
)


def atomic_write_text(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj, indent: int | None = 1) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def config_hash(section) -> str:
    return hashlib.sha256(json.dumps(section, sort_keys=True, default=str).encode()).hexdigest()[:16]


def git_commit() -> str:
    if os.environ.get("DSL_LLADA_GIT_COMMIT"):  # set inside containers, where .git is absent
        return os.environ["DSL_LLADA_GIT_COMMIT"]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def device_info() -> dict:
    import torch

    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version()}
    if torch.cuda.is_available():
        info["device"] = torch.cuda.get_device_name(0)
        info["device_count"] = torch.cuda.device_count()
    else:
        info["device"] = f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    return info


def write_provenance(
    result_path: str | Path, *, config, seed=None, model_revision=None, extra: dict | None = None
) -> Path:
    """Write ``<result>.meta.json`` beside a result file."""
    meta = {
        "result": Path(result_path).name,
        "git_commit": git_commit(),
        "packages": package_versions(),
        **device_info(),
        "seed": seed,
        "model_revision": model_revision,
        "config_hash": config_hash(config),
        "config": config,
    }
    if extra:
        meta.update(extra)
    out = Path(f"{result_path}.meta.json")
    atomic_write_json(out, meta)
    return out


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


#: A trained model folder's run report (loss history, wall time, throughput): not the model, and
#: not the same bytes twice, so it is left out of the folder's content hash.
TRAIN_METRICS = "train_metrics.json"


def model_identity(model_dir: str | Path) -> dict:
    """What a result was computed with: the model folder's hub id and locked revision (written
    by the download rule) and a sha256 over its content.

    The content hash is the sha256 of the folder's ``manifest.sha256.json`` when the download
    rule wrote one (it lists every file's sha256, checked on reuse), else of the sorted list of
    ``relative path, file sha256`` of every file (trained or local models) except the run report
    :data:`TRAIN_METRICS`, so the same weights give the same hash.
    """
    root = Path(model_dir)
    meta_file = root / "dsl_llada_backbone.json"
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    manifest = root / "manifest.sha256.json"
    if manifest.is_file():
        content, how = _file_sha256(manifest), "sha256 of manifest.sha256.json"
    else:
        lines = [
            f"{p.relative_to(root).as_posix()} {_file_sha256(p)}\n"
            for p in sorted(root.rglob("*"))
            if p.is_file() and ".cache" not in p.relative_to(root).parts and p.name != TRAIN_METRICS
        ]
        content, how = hashlib.sha256("".join(lines).encode()).hexdigest(), "sha256 of sorted 'path sha256' lines"
    return {
        "path": str(model_dir),
        "hub_id": meta.get("hub_id"),
        "revision": meta.get("revision"),
        "content_sha256": content,
        "content_hash": how,
    }
