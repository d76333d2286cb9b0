"""The authors' evaluation files (``eval_data/`` of fengsxy/DSL-LLaDA at a pinned commit, and the
script that holds the homophone/OCR pairs), fetched with a sha256 check [protocol §7].

A user's clone has none of them; the workflow's ``fetch_paper_eval`` rule gets each file the
workflow reads either from a local mirror folder (offline machines: the files under their upstream
base names, or a checkout of the repository) or from GitHub at :data:`PAPER_EVAL_COMMIT`. A file is
published only after its sha256 matches :data:`PAPER_EVAL_FILES`, so a wrong or truncated copy is
never taken as the paper's.

The 30 hand-made homophone/OCR pairs of §5.3 exist only as a list literal inside the authors'
``eval_realistic_correction.py``; :func:`extract_noisy_edit_pairs` reads them from the script's
syntax tree (the script is never run) into the ``{id, original, corrupted}`` records the
correction suite reads.
"""

from __future__ import annotations

import ast
import hashlib
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .io import atomic_write_json

__all__ = [
    "PAPER_EVAL_REPO",
    "PAPER_EVAL_COMMIT",
    "PAPER_EVAL_FILES",
    "HOMOPHONE_SCRIPT",
    "PaperEvalFile",
    "PaperEvalError",
    "paper_eval_url",
    "sha256_of",
    "fetch_paper_eval_file",
    "extract_noisy_edit_pairs",
    "write_homophone_pairs",
]

PAPER_EVAL_REPO = "fengsxy/DSL-LLaDA"
#: [protocol source key R]: the research code release the eval files come from.
PAPER_EVAL_COMMIT = "33f29254b28eb3466e0cff9d88bee060da31c633"


@dataclass(frozen=True)
class PaperEvalFile:
    """One pinned file of the authors' repository: its path there, its sha256 at
    :data:`PAPER_EVAL_COMMIT`, and what a user can do instead when it cannot be had (or "")."""

    path: str
    sha256: str
    otherwise: str = ""


#: The authors' script with the 30 homophone/OCR pairs (``noisy_edit_pairs`` in ``build_manual_cases``).
HOMOPHONE_SCRIPT = "eval_realistic_correction.py"

#: Base name (the file name the workflow and a mirror folder use) -> the pinned file [protocol §7].
PAPER_EVAL_FILES: dict[str, PaperEvalFile] = {
    "texts_100.json": PaperEvalFile(
        "eval_data/texts_100.json", "1a640a4a88d6a4439f70eceeb9ca5db95ca3f8efe066322a97245233a30f5f21"
    ),
    "semantic_corruption_manual.json": PaperEvalFile(
        "eval_data/semantic_corruption_manual.json", "193a9796da280876c0f444b6248a09fcf73cc89dd14cb59d22a3be9a8eb54a5e"
    ),
    "correction_benchmark_50.json": PaperEvalFile(
        "eval_data/correction_benchmark_50.json", "d9d91db73d76df394e8a5c0e137e2d4891683134e6f5f06283e630983d02eff2"
    ),
    "sde_prompts_200.json": PaperEvalFile(
        "eval_data/sde_prompts_200.json", "befcb6c864e90c9d8cb2478840aff706264f5a22a88b93239570efd947f7b8fc"
    ),
    # sha256 computed from an archived copy of the script at the pinned commit (a public code index),
    # not from a GitHub download; the same archive reproduced correction_benchmark_50.json byte for
    # byte (its pinned sha256 above). config/README.md, "The authors' eval files".
    HOMOPHONE_SCRIPT: PaperEvalFile(
        "workspace_extras/dsl_llada_active/eval_realistic_correction.py",
        "19940c72d2163c7fbe1d47385ea72876b1b9d466afc8571794514b0f5793928f",
        otherwise="to run without it, set robustness.correction.homophone_pairs to your own JSON list of "
        "{id, original, corrupted} pairs, or to null (homophone/OCR suite off)",
    ),
}


class PaperEvalError(ValueError):
    """A paper eval file is unknown, unreachable or not the pinned one; the message names it."""


def paper_eval_url(name: str, commit: str = PAPER_EVAL_COMMIT) -> str:
    """Raw GitHub URL of the pinned file ``name`` (its path in the repository) at ``commit``."""
    return f"https://raw.githubusercontent.com/{PAPER_EVAL_REPO}/{commit}/{_pinned(name).path}"


def _pinned(name: str) -> PaperEvalFile:
    if name not in PAPER_EVAL_FILES:
        raise PaperEvalError(f"{name}: not one of the pinned paper eval files {sorted(PAPER_EVAL_FILES)}")
    return PAPER_EVAL_FILES[name]


def _error(name: str, message: str) -> PaperEvalError:
    """The error for ``name``, with what the user can do instead where the file has such advice."""
    otherwise = PAPER_EVAL_FILES[name].otherwise
    return PaperEvalError(f"{name}: {message}" + (f"; {otherwise}" if otherwise else ""))


def _mirror_copy(name: str, mirror: str | Path) -> Path:
    """``name`` in a mirror folder: under its base name, else under its path in the repository."""
    for src in (Path(mirror) / name, Path(mirror) / PAPER_EVAL_FILES[name].path):
        if src.is_file():
            return src
    raise _error(name, f"not in the mirror folder {mirror} (paper_eval.mirror)")


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_paper_eval_file(name: str, dest: str | Path, mirror: str | Path | None = None, timeout: float = 60.0) -> dict:
    """Copy ``name`` from ``mirror`` (a folder holding the upstream base names, or a checkout of the
    repository) or download it from GitHub at :data:`PAPER_EVAL_COMMIT`; check its sha256; publish it
    atomically at ``dest``.

    Writes ``<dest>.meta.json`` (source, commit, path in the repository, sha256) and returns the same
    dict. Raises :class:`PaperEvalError` naming the file on an unknown name, a missing mirror copy, a
    failed download or a sha256 mismatch (then ``dest`` is not created).
    """
    pinned = _pinned(name)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with open(fd, "wb") as out:
            if mirror:
                src = _mirror_copy(name, mirror)
                source = str(src)
                with open(src, "rb") as handle:
                    shutil.copyfileobj(handle, out)
            else:
                source = paper_eval_url(name)
                try:
                    with urllib.request.urlopen(source, timeout=timeout) as response:
                        shutil.copyfileobj(response, out)
                except OSError as err:
                    raise _error(
                        name,
                        f"download from {source} failed ({err}); on an offline machine "
                        "set paper_eval.mirror to a folder holding the file",
                    ) from None
        got = sha256_of(tmp)
        if got != pinned.sha256:
            raise _error(
                name,
                f"sha256 {got} from {source} does not match the pinned {pinned.sha256} "
                f"({PAPER_EVAL_REPO} {pinned.path} at {PAPER_EVAL_COMMIT})",
            )
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    meta = {
        "file": name,
        "path": pinned.path,
        "source": source,
        "repo": PAPER_EVAL_REPO,
        "commit": PAPER_EVAL_COMMIT,
        "sha256": got,
    }
    atomic_write_json(f"{dest}.meta.json", meta)
    return meta


# ---------------------------------------------------------------- the homophone/OCR pairs [§5.3]


def _assignments(tree: ast.AST, variable: str) -> list[ast.Assign | ast.AnnAssign]:
    """Every ``variable = ...`` (plain or annotated) anywhere in ``tree``, function bodies included."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == variable for t in node.targets):
            found.append(node)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == variable:
            found.append(node)
    return [node for node in found if node.value is not None]


def _is_text_pair(item) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and all(isinstance(s, str) and s.strip() for s in item)


def extract_noisy_edit_pairs(script: str | Path, variable: str = "noisy_edit_pairs") -> list[dict]:
    """The authors' homophone/OCR pairs [§5.3] from ``script`` without running it.

    Parses the file with :mod:`ast`, takes the one assignment to ``variable`` (in the authors' file
    a list literal inside ``build_manual_cases``), evaluates it with :func:`ast.literal_eval` and
    checks it is a non-empty list of ``(original, corrupted)`` tuples of non-empty strings. Returns
    ``{"id": "noisy_edit_<k>", "original", "corrupted", "category": "spelling_ocr_homophone"}`` per
    pair, numbered from 0 in list order as the authors' script numbers its cases. Raises
    :class:`PaperEvalError` naming the file otherwise.
    """
    path = Path(script)
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as err:
        raise PaperEvalError(f"{path}: not valid Python ({err.msg}, line {err.lineno})") from None
    nodes = _assignments(tree, variable)
    if len(nodes) != 1:
        lines = ", ".join(str(node.lineno) for node in nodes)
        found = f"{len(nodes)} assignments to {variable} (lines {lines})" if nodes else f"no assignment to {variable}"
        raise PaperEvalError(f"{path}: {found}; expected exactly one (the homophone/OCR pairs)")
    node = nodes[0]
    try:
        value = ast.literal_eval(node.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as err:
        raise PaperEvalError(f"{path}: {variable} (line {node.lineno}) is not a literal ({err})") from None
    if not isinstance(value, list) or not value:
        raise PaperEvalError(f"{path}: {variable} (line {node.lineno}) is not a non-empty list")
    for k, item in enumerate(value):
        if not _is_text_pair(item):
            raise PaperEvalError(
                f"{path}: {variable}[{k}] (line {node.lineno}) is {item!r:.120}, not an "
                "(original, corrupted) tuple of two non-empty strings"
            )
    return [
        {"id": f"noisy_edit_{k}", "original": original, "corrupted": corrupted, "category": "spelling_ocr_homophone"}
        for k, (original, corrupted) in enumerate(value)
    ]


def write_homophone_pairs(script: str | Path, dest: str | Path) -> list[dict]:
    """:func:`extract_noisy_edit_pairs` of ``script``, written atomically to ``dest`` as JSON."""
    pairs = extract_noisy_edit_pairs(script)
    atomic_write_json(dest, pairs)
    return pairs
