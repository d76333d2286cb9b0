"""The authors' evaluation files (``eval_data/`` of fengsxy/DSL-LLaDA at a pinned commit), fetched
with a sha256 check [protocol §7].

A user's clone has none of them; the workflow's ``fetch_paper_eval`` rule gets each file the
workflow reads either from a local mirror folder (offline machines: the files under their upstream
names) or from GitHub at :data:`PAPER_EVAL_COMMIT`. A file is published only after its sha256
matches :data:`PAPER_EVAL_FILES`, so a wrong or truncated copy is never taken as the paper's.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.request
from pathlib import Path

from .io import atomic_write_json

__all__ = [
    "PAPER_EVAL_REPO",
    "PAPER_EVAL_COMMIT",
    "PAPER_EVAL_FILES",
    "PaperEvalError",
    "paper_eval_url",
    "sha256_of",
    "fetch_paper_eval_file",
]

PAPER_EVAL_REPO = "fengsxy/DSL-LLaDA"
#: [protocol source key R]: the research code release the eval files come from.
PAPER_EVAL_COMMIT = "33f29254b28eb3466e0cff9d88bee060da31c633"
#: File name under ``eval_data/`` -> sha256 of the file at :data:`PAPER_EVAL_COMMIT` [protocol §7].
PAPER_EVAL_FILES: dict[str, str] = {
    "texts_100.json": "1a640a4a88d6a4439f70eceeb9ca5db95ca3f8efe066322a97245233a30f5f21",
    "semantic_corruption_manual.json": "193a9796da280876c0f444b6248a09fcf73cc89dd14cb59d22a3be9a8eb54a5e",
    "correction_benchmark_50.json": "d9d91db73d76df394e8a5c0e137e2d4891683134e6f5f06283e630983d02eff2",
    "sde_prompts_200.json": "befcb6c864e90c9d8cb2478840aff706264f5a22a88b93239570efd947f7b8fc",
}


class PaperEvalError(ValueError):
    """A paper eval file is unknown, unreachable or not the pinned one; the message names it."""


def paper_eval_url(name: str, commit: str = PAPER_EVAL_COMMIT) -> str:
    """Raw GitHub URL of ``eval_data/<name>`` at ``commit``."""
    return f"https://raw.githubusercontent.com/{PAPER_EVAL_REPO}/{commit}/eval_data/{name}"


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_paper_eval_file(name: str, dest: str | Path, mirror: str | Path | None = None, timeout: float = 60.0) -> dict:
    """Copy ``name`` from ``mirror`` (a folder holding the upstream file names) or download it from
    GitHub at :data:`PAPER_EVAL_COMMIT`; check its sha256; publish it atomically at ``dest``.

    Writes ``<dest>.meta.json`` (source, commit, sha256) and returns the same dict. Raises
    :class:`PaperEvalError` naming the file on an unknown name, a missing mirror copy, a failed
    download or a sha256 mismatch (then ``dest`` is not created).
    """
    if name not in PAPER_EVAL_FILES:
        raise PaperEvalError(f"{name}: not one of the pinned paper eval files {sorted(PAPER_EVAL_FILES)}")
    expected = PAPER_EVAL_FILES[name]
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with open(fd, "wb") as out:
            if mirror:
                src = Path(mirror) / name
                if not src.is_file():
                    raise PaperEvalError(f"{name}: not in the mirror folder {mirror} (paper_eval.mirror)")
                source = str(src)
                with open(src, "rb") as handle:
                    shutil.copyfileobj(handle, out)
            else:
                source = paper_eval_url(name)
                try:
                    with urllib.request.urlopen(source, timeout=timeout) as response:
                        shutil.copyfileobj(response, out)
                except OSError as err:
                    raise PaperEvalError(
                        f"{name}: download from {source} failed ({err}); on an offline machine "
                        "set paper_eval.mirror to a folder holding the file"
                    ) from None
        got = sha256_of(tmp)
        if got != expected:
            raise PaperEvalError(
                f"{name}: sha256 {got} from {source} does not match the pinned {expected} "
                f"({PAPER_EVAL_REPO} eval_data/ at {PAPER_EVAL_COMMIT})"
            )
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    meta = {"file": name, "source": source, "repo": PAPER_EVAL_REPO, "commit": PAPER_EVAL_COMMIT, "sha256": got}
    atomic_write_json(f"{dest}.meta.json", meta)
    return meta
