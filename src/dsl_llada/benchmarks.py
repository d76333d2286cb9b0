"""Summarization benchmarks: hub rows -> the paper's evaluation records (protocol §4.1, §7).

A benchmark is a :class:`BenchmarkSpec`, built from config by
:meth:`BenchmarkSpec.from_dict`, so a new benchmark needs no code. The four paper
benchmarks are in :data:`PAPER_BENCHMARKS`.

The sampling rule follows the authors' ``build_summarization_data.py``:
shuffle the row indices with ``random.Random(seed)``, walk them in that order,
keep rows whose text and summary are non-empty after stripping, stop at ``n``.
One deliberate difference: upstream's 1,000-sample files store the dataset tag
("xsum", ...) in ``source``; our records store the (truncated) source text there,
so extractive baselines can use it. The ``prompt`` is the same either way.
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .hub import is_commit_sha, is_offline
from .prompts import SUMMARY_TEMPLATES, summary_prompt

__all__ = [
    "BenchmarkError",
    "BenchmarkSpec",
    "BuildReport",
    "PAPER_BENCHMARKS",
    "truncate_words",
    "build_records",
    "default_mirror_path",
    "load_rows",
]


class BenchmarkError(ValueError):
    """Bad benchmark config or data: names the file / row / key at fault."""


@dataclass(frozen=True)
class BenchmarkSpec:
    """One summarization benchmark (protocol §4.1).

    ``template`` is the instruction line; the prompt is ``template + "\\n\\n" +
    source``. ``id_field`` is the row column copied into the record id (the row
    index is used when the column is absent or None).
    """

    name: str
    hub_id: str
    split: str
    text_field: str
    summary_field: str
    template: str
    gen_length: int
    config_name: str | None = None
    n: int = 1000
    seed: int = 42
    max_source_words: int = 1500
    id_field: str | None = "id"

    _REQUIRED = ("name", "hub_id", "split", "text_field", "summary_field", "template", "gen_length")
    _INT_KEYS = ("gen_length", "n", "seed", "max_source_words")

    def __post_init__(self) -> None:
        where = f"benchmark {self.name!r}"
        for key in ("name", "hub_id", "split", "text_field", "summary_field", "template"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise BenchmarkError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
        for key in ("config_name", "id_field"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise BenchmarkError(f"{where}: {key!r} must be a non-empty string or null, got {value!r}")
        for key in self._INT_KEYS:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise BenchmarkError(f"{where}: {key!r} must be an integer, got {value!r}")
            if key != "seed" and value < 1:
                raise BenchmarkError(f"{where}: {key!r} must be >= 1, got {value}")

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """All config keys a benchmark entry may have."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, where: str = "benchmark config") -> BenchmarkSpec:
        """Build a spec from a config mapping; unknown or missing keys are an error naming them."""
        if not isinstance(d, Mapping):
            raise BenchmarkError(f"{where}: a benchmark entry must be a mapping, got {type(d).__name__}")
        label = f"{where} {d.get('name')!r}" if "name" in d else where
        allowed = cls.keys()
        unknown = sorted(set(d) - set(allowed))
        if unknown:
            raise BenchmarkError(f"{label}: unknown key(s) {unknown}; allowed keys: {list(allowed)}")
        missing = [k for k in cls._REQUIRED if k not in d]
        if missing:
            raise BenchmarkError(f"{label}: missing required key(s) {missing}")
        return cls(**dict(d))

    def to_dict(self) -> dict[str, Any]:
        """The config mapping of this spec (inverse of :meth:`from_dict`)."""
        return dataclasses.asdict(self)


#: The four paper benchmarks (protocol §4.1; templates verbatim).
PAPER_BENCHMARKS: dict[str, BenchmarkSpec] = {
    spec.name: spec
    for spec in (
        BenchmarkSpec(
            name="xsum",
            hub_id="EdinburghNLP/xsum",
            split="test",
            text_field="document",
            summary_field="summary",
            template=SUMMARY_TEMPLATES["xsum"],
            gen_length=128,
        ),
        BenchmarkSpec(
            name="cnn_dailymail",
            hub_id="cnn_dailymail",
            config_name="3.0.0",
            split="test",
            text_field="article",
            summary_field="highlights",
            template=SUMMARY_TEMPLATES["cnn_dailymail"],
            gen_length=256,
        ),
        BenchmarkSpec(
            name="pubmed",
            hub_id="ccdv/pubmed-summarization",
            split="test",
            text_field="article",
            summary_field="abstract",
            template=SUMMARY_TEMPLATES["pubmed"],
            gen_length=256,
        ),
        BenchmarkSpec(
            name="arxiv",
            hub_id="ccdv/arxiv-summarization",
            split="test",
            text_field="article",
            summary_field="abstract",
            template=SUMMARY_TEMPLATES["arxiv"],
            gen_length=256,
        ),
    )
}


@dataclass
class BuildReport:
    """Counts from :func:`build_records`: rows in the split, rows visited, rows skipped
    for an empty text or summary, sources cut at the word cap, records kept."""

    benchmark: str
    rows_total: int = 0
    rows_seen: int = 0
    skipped_empty: int = 0
    truncated: int = 0
    kept: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def truncate_words(text: str, max_words: int) -> tuple[str, bool]:
    """Whitespace truncation of a source to ``max_words`` words (protocol §4.1: 1,500).

    Returns ``(text, was_truncated)``. A text within the cap is returned unchanged
    (its own spacing kept); a longer one becomes ``" ".join(words[:max_words])``,
    as in the authors' builder.
    """
    words = text.split()
    if len(words) <= max_words:
        return text, False
    return " ".join(words[:max_words]), True


def _field(row: Mapping[str, Any], key: str, index: int, spec: BenchmarkSpec) -> str:
    try:
        value = row[key]
    except (KeyError, IndexError, TypeError):
        available = list(row.keys()) if isinstance(row, Mapping) else type(row).__name__
        raise BenchmarkError(
            f"benchmark {spec.name!r}: row {index} has no field {key!r} (fields: {available})"
        ) from None
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BenchmarkError(
            f"benchmark {spec.name!r}: row {index} field {key!r} must be a string, got {type(value).__name__}"
        )
    return value.strip()


def build_records(rows: Sequence[Mapping[str, Any]], spec: BenchmarkSpec) -> tuple[list[dict], BuildReport]:
    """The paper's evaluation records from hub rows (protocol §4.1 sampling, §7 record format).

    ``order = list(range(len(rows))); random.Random(spec.seed).shuffle(order)``; walk
    ``order`` keeping rows whose stripped text and summary are non-empty, until
    ``spec.n``. Each record is ``{"id", "source", "reference", "prompt"}``: ``id`` is
    ``str(row[spec.id_field])`` (the row index if that column is absent or None),
    ``source`` the stripped text cut to ``spec.max_source_words`` words, ``reference``
    the stripped summary, ``prompt`` = :func:`dsl_llada.prompts.summary_prompt`. Returns
    ``(records, BuildReport)``. ``rows`` may be a list of dicts or a ``datasets.Dataset``.
    """
    total = len(rows)
    report = BuildReport(benchmark=spec.name, rows_total=total)
    order = list(range(total))
    random.Random(spec.seed).shuffle(order)
    records: list[dict] = []
    for index in order:
        if len(records) >= spec.n:
            break
        row = rows[index]
        report.rows_seen += 1
        if not isinstance(row, Mapping):
            raise BenchmarkError(f"benchmark {spec.name!r}: row {index} is {type(row).__name__}, expected a mapping")
        text = _field(row, spec.text_field, index, spec)
        summary = _field(row, spec.summary_field, index, spec)
        if not text or not summary:
            report.skipped_empty += 1
            continue
        source, cut = truncate_words(text, spec.max_source_words)
        report.truncated += int(cut)
        raw_id = row.get(spec.id_field) if spec.id_field else None
        records.append(
            {
                "id": str(raw_id if raw_id is not None else index),
                "source": source,
                "reference": summary,
                "prompt": summary_prompt(spec.template, source),
            }
        )
    report.kept = len(records)
    if len(records) < spec.n:
        raise BenchmarkError(
            f"benchmark {spec.name!r}: needs {spec.n} rows with non-empty "
            f"{spec.text_field!r} and {spec.summary_field!r}, but only {len(records)} of "
            f"{total} rows have them ({report.skipped_empty} skipped as empty)"
        )
    return records, report


# ---------------------------------------------------------------- loading rows


def default_mirror_path(spec: BenchmarkSpec, root: str | os.PathLike = "resources/datasets") -> Path:
    """Where :func:`load_rows` looks for a local copy: ``<root>/<name>/<split>``
    (a folder written by ``Dataset.save_to_disk``)."""
    return Path(root) / spec.name / spec.split


# Hub datasets whose main branch is a loading script (datasets >= 4 refuses scripts): their rows
# come from the hub's automatic parquet conversion, branch refs/convert/parquet [protocol §4.1].
PARQUET_BRANCH = "refs/convert/parquet"
SCRIPT_DATASETS = frozenset({"EdinburghNLP/xsum", "xsum", "ccdv/pubmed-summarization", "ccdv/arxiv-summarization"})


def mirror_command(spec: BenchmarkSpec, mirror: Path, revision: str | None) -> str:
    """The exact command that writes ``spec``'s split to ``mirror`` on a machine with network."""
    rev = PARQUET_BRANCH if spec.hub_id in SCRIPT_DATASETS else (revision or "<SHA from config/hub.lock.yaml>")
    return (
        f'python -c "import datasets; datasets.load_dataset({spec.hub_id!r}, {spec.config_name!r}, '
        f'split={spec.split!r}, revision={rev!r}).save_to_disk({str(mirror.resolve())!r})"'
    )


def _load_local(spec: BenchmarkSpec, path: Path, cache_dir: str | os.PathLike | None):
    import datasets

    if path.is_dir():
        try:
            loaded = datasets.load_from_disk(str(path))
        except Exception as exc:
            raise BenchmarkError(
                f"benchmark {spec.name!r}: {path} is not a folder written by save_to_disk: {exc}"
            ) from exc
        if isinstance(loaded, datasets.DatasetDict):
            if spec.split not in loaded:
                raise BenchmarkError(f"benchmark {spec.name!r}: {path} has splits {list(loaded)}, not {spec.split!r}")
            loaded = loaded[spec.split]
        return loaded
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    builder = {".json": "json", ".jsonl": "json", ".json.gz": "json", ".jsonl.gz": "json", ".parquet": "parquet"}.get(
        suffix.lower()
    )
    if builder is None:
        raise BenchmarkError(
            f"benchmark {spec.name!r}: local mirror {path} must be a save_to_disk folder or a "
            ".json / .jsonl / .parquet file"
        )
    try:
        return datasets.load_dataset(
            builder,
            data_files=str(path),
            split="train",
            cache_dir=None if cache_dir is None else str(cache_dir),
        )
    except Exception as exc:
        raise BenchmarkError(f"benchmark {spec.name!r}: cannot read {path} as {builder}: {exc}") from exc


def load_rows(
    spec: BenchmarkSpec,
    source: str | os.PathLike | None = None,
    *,
    revision: str | None = None,
    offline: bool | None = None,
    mirror_root: str | os.PathLike = "resources/datasets",
    cache_dir: str | os.PathLike | None = None,
):
    """The rows of ``spec``'s split, from a local mirror or the hub (protocol §4.1).

    ``source`` may be a ``save_to_disk`` folder (a ``Dataset`` or a ``DatasetDict``
    holding ``spec.split``) or a JSON / JSONL / parquet file. Without ``source``,
    :func:`default_mirror_path` under ``mirror_root`` is used if it exists;
    otherwise, online, ``datasets.load_dataset(spec.hub_id, spec.config_name,
    split=spec.split, revision=revision)`` with ``revision`` a locked commit SHA
    (R5). Offline (``offline`` or ``HF_HUB_OFFLINE`` / ``HF_DATASETS_OFFLINE``)
    with nothing local is an error that says what to fetch and where to put it.
    Returns a ``datasets.Dataset`` (a sequence of row dicts).
    """
    if source is not None:
        path = Path(source)
        if not path.exists():
            raise BenchmarkError(f"benchmark {spec.name!r}: local mirror {path} does not exist")
        return _load_local(spec, path, cache_dir)
    mirror = default_mirror_path(spec, mirror_root)
    if mirror.exists():
        return _load_local(spec, mirror, cache_dir)
    if offline is None:
        offline = is_offline()
    config = f", config {spec.config_name!r}" if spec.config_name else ""
    if offline:
        raise BenchmarkError(
            f"benchmark {spec.name!r}: offline and no local copy of {spec.hub_id!r}{config}, split "
            f"{spec.split!r}. On a machine with network run `{mirror_command(spec, mirror, revision)}` "
            f"and copy {mirror.resolve()} here (or pass a .json / .jsonl / .parquet file as the source)"
        )
    if not is_commit_sha(revision):
        raise BenchmarkError(
            f"benchmark {spec.name!r}: hub download of {spec.hub_id!r} needs a 40-hex commit SHA "
            f"revision, got {revision!r}; take it from config/hub.lock.yaml "
            "(dsl_llada.hub.resolve_revision)"
        )
    import datasets

    if spec.hub_id in SCRIPT_DATASETS:
        revision = parquet_revision(spec.hub_id)
    try:
        return datasets.load_dataset(
            spec.hub_id,
            spec.config_name,
            split=spec.split,
            revision=revision,
            cache_dir=None if cache_dir is None else str(cache_dir),
        )
    except Exception as exc:
        raise BenchmarkError(
            f"benchmark {spec.name!r}: could not load {spec.hub_id!r}{config} split "
            f"{spec.split!r} at {revision}: {exc}. Or run `{mirror_command(spec, mirror, revision)}`"
        ) from exc


def parquet_revision(hub_id: str) -> str:
    """The commit SHA of ``hub_id``'s parquet-conversion branch, read once per build: the rows are
    loaded at that SHA (not at the moving branch name) and it is recorded in the sidecar."""
    from huggingface_hub import HfApi

    try:
        sha = HfApi().dataset_info(hub_id, revision=PARQUET_BRANCH).sha
    except Exception as exc:
        raise BenchmarkError(f"{hub_id}: cannot resolve {PARQUET_BRANCH} to a commit SHA: {exc}") from exc
    if not is_commit_sha(sha):
        raise BenchmarkError(f"{hub_id}: {PARQUET_BRANCH} resolved to {sha!r}, not a commit SHA")
    import logging

    logging.getLogger(__name__).info("%s: rows from %s at %s", hub_id, PARQUET_BRANCH, sha)
    return sha


# ---------------------------------------------------------------- shipped subsets

# ``source`` values that are a dataset tag rather than the article (pubmed/arxiv subsets).
