"""The continued pre-training corpus: FineWeb-Edu streamed, carved, tokenised and packed [protocol §2.1].

The authors' pipeline (LLaDA-XDLM ``llada_cpt.py``), reproduced with the same Hugging Face
``datasets`` streaming operations so the example order is the one their Trainer saw:

1. ``load_dataset("HuggingFaceFW/fineweb-edu", "sample-10BT", split="train", streaming=True)``
   at the commit SHA locked in ``config/hub.lock.yaml`` (or a local mirror of its files);
2. a 5 % validation carve-out by example index: ``i % 100 < 5`` is validation, ``i % 100 > 5``
   is train; ``i % 100 == 5`` belongs to neither, as upstream (harmless, §2.1 ⚠). Validation is
   never evaluated (``do_eval`` off), so only the train side is materialised;
3. tokenise ``text`` with the base model's tokenizer (default ``add_special_tokens``: whether a
   BOS is prepended is the tokenizer config's choice, recorded in ``meta.json``);
4. pack into ``block_size`` blocks with :func:`dsl_llada.data.pack_blocks` (documents joined by
   the EOS id), one 1,000-example map batch at a time, so the remainder of each batch is dropped
   as in the authors' ``group_texts``;
5. streaming shuffle of the blocks, buffer 10,000, seed 42 (``IterableDataset.shuffle``, which
   also shuffles the order of the source files).

The result is the folder format of :func:`dsl_llada.data.write_token_dataset` (``input_ids.npy``
of shape (n_blocks, block_size), int32, written through ``numpy.lib.format.open_memmap`` so 2 B
tokens never sit in memory; ``meta.json`` last, its presence marking the folder complete), so
:class:`dsl_llada.data.TokenDataset` and ``training.train`` read it unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from .data import pack_blocks
from .hub import is_commit_sha, is_offline

__all__ = [
    "CorpusError",
    "FINEWEB_EDU",
    "FINEWEB_CONFIG",
    "HOLDOUT_MODULUS",
    "VALIDATION_BELOW",
    "TRAIN_ABOVE",
    "MAP_BATCH",
    "CorpusSource",
    "is_train_index",
    "open_corpus",
    "packed_blocks",
    "write_blocks",
    "eos_separator",
    "preparation_meta",
    "prepare_corpus",
    "default_corpus_mirror",
]

log = logging.getLogger(__name__)

FINEWEB_EDU = "HuggingFaceFW/fineweb-edu"  # [§2.1]
FINEWEB_CONFIG = "sample-10BT"  # [§2.1]
HOLDOUT_MODULUS = 100  # carve-out by example index [§2.1]
VALIDATION_BELOW = 5  # i % 100 < 5 -> validation
TRAIN_ABOVE = 5  # i % 100 > 5 -> train; i % 100 == 5 is dropped as upstream [§2.1 ⚠]
MAP_BATCH = 1000  # examples per tokenise-and-pack batch; each batch's remainder is dropped [§2.1]

_LOCAL_BUILDERS = {
    ".json": "json",
    ".jsonl": "json",
    ".json.gz": "json",
    ".jsonl.gz": "json",
    ".json.zst": "json",
    ".jsonl.zst": "json",
    ".parquet": "parquet",
}


class CorpusError(ValueError):
    """The corpus cannot be prepared as asked; the message names the source, key or file."""


def is_train_index(index: int) -> bool:
    """True for the examples the training run sees (``i % 100 > 5``)."""
    return index % HOLDOUT_MODULUS > TRAIN_ABOVE


def default_corpus_mirror(root: str | os.PathLike = "resources/datasets") -> Path:
    """Where a local copy of FineWeb-Edu sample-10BT is looked for when no path is configured."""
    return Path(root) / "fineweb-edu" / FINEWEB_CONFIG


def _suffix(path: Path) -> str:
    if path.suffix in (".gz", ".zst"):
        return "".join(path.suffixes[-2:]).lower()
    return path.suffix.lower()


def _local_files(path: Path) -> tuple[str, list[str]]:
    """(builder, sorted data files) of a mirror file or folder; one format per mirror."""
    if path.is_file():
        files = [path]
    else:
        files = sorted(p for p in path.rglob("*") if p.is_file() and _suffix(p) in _LOCAL_BUILDERS)
        files = [p for p in files if ".cache" not in p.relative_to(path).parts]
    if not files:
        raise CorpusError(
            f"corpus mirror {path}: no .parquet / .jsonl / .json(.gz) files found "
            "(expected the dataset's data files, e.g. the sample/10BT/*.parquet files of fineweb-edu)"
        )
    builders = {_LOCAL_BUILDERS.get(_suffix(p)) for p in files}
    if None in builders:
        raise CorpusError(f"corpus mirror {path}: must be a .parquet / .jsonl / .json(.gz) file, got {files[0].name}")
    if len(builders) > 1:
        raise CorpusError(f"corpus mirror {path}: mixes formats {sorted(builders)}; keep one")
    return builders.pop(), [str(p) for p in files]


@dataclass(frozen=True)
class CorpusSource:
    """Where the raw corpus comes from [§2.1]: the hub dataset ``hub_id`` (config
    ``config_name``, ``split``) at the 40-hex commit ``revision``, or the local mirror ``source``
    (a data file, a folder of them, or a ``save_to_disk`` folder). ``offline`` None follows the
    environment (:func:`dsl_llada.hub.is_offline`); ``cache_dir`` is the ``datasets`` cache."""

    hub_id: str = FINEWEB_EDU
    config_name: str | None = FINEWEB_CONFIG
    split: str = "train"
    revision: str | None = None
    source: str | os.PathLike | None = None
    offline: bool | None = None
    cache_dir: str | os.PathLike | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> CorpusSource:
        """The source from keyword options (its field names); an unknown key is an error naming it."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise CorpusError(f"corpus: unknown option(s) {unknown}; the corpus source takes {sorted(known)}")
        return cls(**options)

    def with_default_mirror(self) -> CorpusSource:
        """This source, reading FineWeb-Edu from :func:`default_corpus_mirror` when no mirror is
        given and that folder exists."""
        if self.source is None and default_corpus_mirror().exists() and self.hub_id == FINEWEB_EDU:
            return replace(self, source=default_corpus_mirror())
        return self

    def describe(self, text_field: str) -> dict[str, Any]:
        """The ``corpus`` section of ``meta.json``: hub id, config, split, SHA, mirror, field."""
        return {
            "hub_id": self.hub_id,
            "config_name": self.config_name,
            "split": self.split,
            "revision": self.revision,
            "local_mirror": None if self.source is None else str(self.source),
            "text_field": text_field,
        }


def open_corpus(corpus: CorpusSource):
    """The raw corpus as a streaming ``datasets.IterableDataset`` [§2.1].

    A mirror (``corpus.source``: a file, or a folder of data files, e.g. a ``hf download`` of
    the dataset repository at the locked SHA) replaces the hub; a folder written by
    ``save_to_disk`` is read with ``load_from_disk(...).to_iterable_dataset()``. Without one,
    online only, ``load_dataset(hub_id, config_name, split=split, streaming=True,
    revision=revision)`` with ``revision`` a 40-hex commit SHA. Offline with nothing local is an
    error that says what to fetch and where to put it.
    """
    if corpus.source is not None:
        return _open_mirror(Path(corpus.source), corpus.split, corpus.cache_dir)
    return _stream_from_hub(corpus)


def _open_mirror(path: Path, split: str, cache_dir: str | os.PathLike | None):
    """A local mirror as a streaming dataset: a ``save_to_disk`` folder (its ``split``), or
    data files read with the ``json`` / ``parquet`` builder."""
    import datasets

    if not path.exists():
        raise CorpusError(f"corpus mirror {path} does not exist (cpt.data.path)")
    if path.is_dir() and ((path / "state.json").exists() or (path / "dataset_dict.json").exists()):
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise CorpusError(f"corpus mirror {path}: has splits {list(loaded)}, not {split!r}")
            loaded = loaded[split]
        return loaded.to_iterable_dataset()
    builder, files = _local_files(path)
    log.info("corpus: local mirror %s (%d %s file(s))", path, len(files), builder)
    return datasets.load_dataset(
        builder,
        data_files=files,
        split="train",
        streaming=True,
        cache_dir=None if cache_dir is None else str(cache_dir),
    )


def _stream_from_hub(corpus: CorpusSource):
    """The hub dataset streamed at its locked SHA; offline, an error saying what to fetch."""
    import datasets

    hub_id, config_name, split, revision = corpus.hub_id, corpus.config_name, corpus.split, corpus.revision
    offline = is_offline() if corpus.offline is None else corpus.offline
    config = f" (config {config_name!r})" if config_name else ""
    if offline:
        target = default_corpus_mirror().resolve()
        rev = revision if is_commit_sha(revision) else "<the SHA locked in config/hub.lock.yaml>"
        include = f" --include 'sample/{config_name.split('-', 1)[-1]}/*'" if config_name == FINEWEB_CONFIG else ""
        raise CorpusError(
            f"corpus: offline and no local copy of {hub_id!r}{config}, split {split!r}. On a machine "
            f"with network run `hf download {hub_id} --repo-type dataset --revision {rev}{include} "
            f"--local-dir {target}` (huggingface-hub's CLI; older versions call it "
            "huggingface-cli), then copy that folder here and set cpt.data.path to it "
            f"(or leave it at {target}, which is used when cpt.data.path is empty)"
        )
    if not is_commit_sha(revision):
        raise CorpusError(
            f"corpus: streaming {hub_id!r}{config} needs a 40-hex commit SHA revision, got {revision!r}; "
            "take it from config/hub.lock.yaml (dsl_llada.hub.resolve_revision)"
        )
    return datasets.load_dataset(
        hub_id,
        config_name,
        split=split,
        streaming=True,
        revision=revision,
        cache_dir=None if corpus.cache_dir is None else str(corpus.cache_dir),
    )


def packed_blocks(
    stream,
    tokenizer,
    *,
    block_size: int,
    separator: int,
    text_field: str = "text",
    shuffle_buffer: int = 10_000,
    seed: int = 42,
    map_batch: int = MAP_BATCH,
    add_special_tokens: bool = True,
    stats: dict | None = None,
):
    """Train-side carve-out -> tokenise -> pack -> shuffle, lazily, as an ``IterableDataset``
    of ``{"input_ids": [block_size ids]}`` [§2.1].

    ``stats`` (a dict) is updated with ``examples_tokenized``, ``tokens_tokenized`` and
    ``blocks_packed`` as the stream is consumed (the shuffle buffer reads ahead, so they count
    what was read, not only what was kept).
    """
    if block_size < 1:
        raise CorpusError(f"cpt.data.block_size must be >= 1, got {block_size}")
    if map_batch < 1:
        raise CorpusError(f"map batch must be >= 1, got {map_batch}")
    stats = stats if stats is not None else {}
    stats.setdefault("examples_tokenized", 0)
    stats.setdefault("tokens_tokenized", 0)
    stats.setdefault("blocks_packed", 0)

    def tokenise_and_pack(batch: Mapping[str, list]) -> dict[str, list]:
        texts = batch[text_field]
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise CorpusError(f"corpus: field {text_field!r} of an example is {type(text).__name__}, not text")
        ids = tokenizer(list(texts), add_special_tokens=add_special_tokens)["input_ids"]
        blocks = list(pack_blocks(ids, block_size, separator))
        stats["examples_tokenized"] += len(texts)
        stats["tokens_tokenized"] += sum(len(x) for x in ids)
        stats["blocks_packed"] += len(blocks)
        return {"input_ids": blocks}

    columns = getattr(stream, "column_names", None)
    if columns is not None and text_field not in columns:
        raise CorpusError(f"corpus: no field {text_field!r} (fields: {columns})")
    carved = stream.filter(lambda _example, index: is_train_index(index), with_indices=True)
    carved = carved.select_columns([text_field])
    packed = carved.map(tokenise_and_pack, batched=True, batch_size=map_batch, remove_columns=[text_field])
    if shuffle_buffer > 0:
        packed = packed.shuffle(seed=seed, buffer_size=shuffle_buffer)
    return packed


def _write_meta_last(out: Path, meta: dict) -> None:
    tmp = out / "meta.json.tmp"
    tmp.write_text(json.dumps(meta, indent=1) + "\n")
    os.replace(tmp, out / "meta.json")


def write_blocks(
    blocks: Iterable[Mapping[str, Any]] | Iterable[list[int]],
    out_dir: str | os.PathLike,
    *,
    n_blocks: int,
    block_size: int,
    vocab_size: int | None = None,
    meta: dict | None = None,
    log_every: int = 10_000,
) -> dict:
    """Write the first ``n_blocks`` blocks to ``out_dir/input_ids.npy`` (int32 memmap), then
    ``meta.json`` last: the format of :func:`dsl_llada.data.write_token_dataset`.

    Fewer than ``n_blocks`` blocks in the stream is an error (nothing is silently shortened); a
    half-written folder has no ``meta.json``, which :class:`~dsl_llada.data.TokenDataset` refuses.
    """
    from numpy.lib.format import open_memmap

    if n_blocks < 1:
        raise CorpusError(f"cpt.data.n_blocks must be >= 1, got {n_blocks}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "meta.json").unlink(missing_ok=True)  # the folder is incomplete until the end
    array = open_memmap(out / "input_ids.npy", mode="w+", dtype=np.int32, shape=(n_blocks, block_size))
    written, max_id, t0 = 0, -1, time.perf_counter()
    for item in blocks:
        if written >= n_blocks:
            break
        ids = item["input_ids"] if isinstance(item, Mapping) else item
        row = np.asarray(ids, dtype=np.int64)
        if row.shape != (block_size,):
            raise CorpusError(f"corpus: block {written} has shape {row.shape}, expected ({block_size},)")
        if row.min() < 0 or row.max() >= np.iinfo(np.int32).max:
            raise CorpusError(f"corpus: block {written} has ids outside [0, 2**31)")
        max_id = max(max_id, int(row.max()))
        array[written] = row
        written += 1
        if log_every and written % log_every == 0:
            rate = written * block_size / max(time.perf_counter() - t0, 1e-9)
            log.info("corpus: %d / %d blocks (%.0f tokens/s)", written, n_blocks, rate)
    array.flush()
    del array
    if written < n_blocks:
        raise CorpusError(
            f"corpus: the stream ended after {written} blocks of {block_size} tokens, but "
            f"cpt.data.n_blocks = {n_blocks}; lower n_blocks or use a larger corpus"
        )
    if vocab_size is not None and max_id >= vocab_size:
        raise CorpusError(f"corpus: token id {max_id} is outside the tokenizer's vocabulary ({vocab_size})")
    full = {
        "format": "token_dataset",
        "seq_len": block_size,
        "total": n_blocks,
        "dtype": "int32",
        "max_token_id": max_id,
        **(meta or {}),
    }
    _write_meta_last(out, full)
    return full


def _bos_prepended(tokenizer, add_special_tokens: bool) -> bool:
    bos = getattr(tokenizer, "bos_token_id", None)
    if bos is None:
        return False
    probe = tokenizer(["a"], add_special_tokens=add_special_tokens)["input_ids"][0]
    return bool(probe) and probe[0] == bos


def eos_separator(tokenizer, separator: int | None = None) -> int:
    """The id that joins documents when packing [§2.1]: ``separator``, else the tokenizer's EOS."""
    if separator is None:
        separator = getattr(tokenizer, "eos_token_id", None)
        if separator is None:
            raise CorpusError("corpus: the tokenizer has no EOS token; pass separator=")
    return int(separator)


def preparation_meta(
    corpus: CorpusSource,
    tokenizer,
    *,
    text_field: str,
    add_special_tokens: bool,
    separator: int,
    block_size: int,
    map_batch: int,
    shuffle_buffer: int,
    seed: int,
    extra_meta: dict | None = None,
) -> dict:
    """What ``meta.json`` records of a preparation [§2.1]: the source, the carve-out rule, the
    tokenisation, packing and shuffle settings, then ``extra_meta``."""
    return {
        "corpus": corpus.describe(text_field),
        "carve_out": {
            "rule": f"example index i: i % {HOLDOUT_MODULUS} < {VALIDATION_BELOW} validation (not written), "
            f"i % {HOLDOUT_MODULUS} > {TRAIN_ABOVE} train, i % {HOLDOUT_MODULUS} == {TRAIN_ABOVE} dropped",
            "protocol": "§2.1",
        },
        "tokenization": {
            "add_special_tokens": add_special_tokens,
            "bos_prepended": _bos_prepended(tokenizer, add_special_tokens),
            "separator_id": separator,
            "vocab_size": len(tokenizer),
        },
        "packing": {"block_size": block_size, "map_batch": map_batch, "remainder": "dropped per map batch"},
        "shuffle": {"buffer_size": shuffle_buffer, "seed": seed},
        **(extra_meta or {}),
    }


def prepare_corpus(
    out_dir: str | os.PathLike,
    tokenizer,
    *,
    block_size: int,
    n_blocks: int,
    shuffle_buffer: int = 10_000,
    seed: int = 42,
    separator: int | None = None,
    text_field: str = "text",
    map_batch: int = MAP_BATCH,
    add_special_tokens: bool = True,
    extra_meta: dict | None = None,
    **corpus_options: Any,
) -> dict:
    """Stream, carve, tokenise, pack, shuffle and write ``n_blocks`` training blocks [§2.1].

    ``corpus_options`` are the fields of :class:`CorpusSource` (``hub_id``, ``config_name``,
    ``split``, ``revision``, ``source``, ``offline``, ``cache_dir``); without ``source``,
    FineWeb-Edu is read from :func:`default_corpus_mirror` when that folder exists.
    ``separator`` defaults to the tokenizer's EOS id. Returns the ``meta.json`` content, which
    records the source (hub id + locked SHA, or the mirror path), every preprocessing setting and
    the counts read.
    """
    separator = eos_separator(tokenizer, separator)
    corpus = CorpusSource.from_options(corpus_options).with_default_mirror()
    # one list of settings: what packs the blocks is what meta.json records
    settings = dict(
        block_size=block_size,
        separator=separator,
        text_field=text_field,
        shuffle_buffer=shuffle_buffer,
        seed=seed,
        map_batch=map_batch,
        add_special_tokens=add_special_tokens,
    )
    stats: dict = {}
    blocks = packed_blocks(open_corpus(corpus), tokenizer, stats=stats, **settings)
    meta = preparation_meta(corpus, tokenizer, extra_meta=extra_meta, **settings)
    t0 = time.perf_counter()
    written = write_blocks(
        blocks,
        out_dir,
        n_blocks=n_blocks,
        block_size=block_size,
        vocab_size=len(tokenizer),
        meta=dict(meta, read=stats),
    )
    log.info("corpus: %d blocks x %d tokens in %.0f s (%s)", n_blocks, block_size, time.perf_counter() - t0, stats)
    return written


def corpus_data_pattern(config_name: str | None) -> str:
    """The repository folder of a FineWeb-Edu config's data files (``sample-10BT`` -> ``sample/10BT/*``)."""
    if config_name and config_name.startswith("sample-"):
        return f"sample/{config_name.split('-', 1)[1]}/*"
    if config_name:
        return f"data/{config_name}/*"
    return "data/*"


def download_corpus_mirror(
    hub_id: str,
    config_name: str | None,
    revision: str | None,
    out_dir: str | os.PathLike,
    *,
    offline: bool,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """Fetch the corpus's data files at the locked SHA into ``out_dir`` (published by rename), so
    tokenising can run as a compute job that reads only local files [§2.1]. Offline, the error
    gives the exact command to run on a machine with network."""
    from .hub import is_commit_sha

    out = Path(out_dir)
    pattern = corpus_data_pattern(config_name)
    command = (
        f"hf download {hub_id} --repo-type dataset --revision {revision} --include '{pattern}' "
        f"--local-dir {out.resolve()}"
    )
    if offline:
        raise CorpusError(
            f"corpus: offline and no local copy of {hub_id!r} at {out}. On a machine with network run "
            f"`{command}`, then copy that folder here (or set cpt.data.path to a copy)"
        )
    if not is_commit_sha(revision):
        raise CorpusError(
            f"corpus: downloading {hub_id!r} needs a 40-hex commit SHA, got {revision!r} (config/hub.lock.yaml)"
        )
    from huggingface_hub import snapshot_download

    tmp = out.with_name(f".{out.name}.tmp")
    try:
        snapshot_download(
            hub_id,
            repo_type="dataset",
            revision=revision,
            allow_patterns=[pattern],
            local_dir=str(tmp),
            cache_dir=None if cache_dir is None else str(cache_dir),
        )
    except Exception as exc:
        raise CorpusError(f"could not download {hub_id!r} at {revision}: {exc}; or run `{command}`") from exc
    _local_files(tmp)  # it holds data files
    if out.exists():
        raise CorpusError(f"{out} appeared while downloading; remove one of {out} and {tmp}")
    os.replace(tmp, out)
    return out
