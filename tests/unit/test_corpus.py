"""FineWeb-Edu preparation [protocol §2.1] on a local JSONL mirror with a tiny word tokenizer."""

import json
import os

import numpy as np
import pytest

from dsl_llada.backbone import build_toy_tokenizer
from dsl_llada.corpus import CorpusError, CorpusSource, default_corpus_mirror, is_train_index, prepare_corpus
from dsl_llada.data import TokenDataset

N_DOCS = 400
BLOCK = 16
FILLER = [f"w{i}" for i in range(40)]


def _doc(i: int) -> str:
    # a marker word naming the example index, then 6-17 filler words
    return " ".join([f"doc{i}"] + [FILLER[(i * 7 + j) % len(FILLER)] for j in range(6 + i % 12)])


@pytest.fixture(scope="module")
def tokenizer():
    return build_toy_tokenizer([f"doc{i}" for i in range(N_DOCS)] + FILLER)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    path = tmp_path_factory.mktemp("fineweb") / "sample.jsonl"
    with path.open("w") as fh:
        for i in range(N_DOCS):  # fineweb-edu rows carry more fields than text
            fh.write(json.dumps({"text": _doc(i), "id": f"<urn:{i}>", "score": 3.1}) + "\n")
    return path


def _prepare(out, tokenizer, mirror, **kw):
    args = dict(
        block_size=BLOCK, n_blocks=60, source=mirror, revision="a" * 40, shuffle_buffer=50, seed=42, map_batch=100
    )
    args.update(kw)
    return prepare_corpus(out, tokenizer, **args)


def _markers(ids: np.ndarray, tokenizer) -> set[int]:
    vocab = {v: k for k, v in tokenizer.get_vocab().items()}
    return {int(vocab[t][3:]) for t in np.unique(ids) if vocab[int(t)].startswith("doc")}


def test_carve_out_rule_matches_protocol():
    """i % 100 < 5 is validation and i % 100 == 5 is dropped [§2.1]: neither is trained on."""
    assert [i for i in (0, 4, 5, 6, 99, 100, 104, 105, 106) if is_train_index(i)] == [6, 99, 106]


def test_blocks_shape_carve_out_and_meta(tmp_path, tokenizer, mirror):
    out = tmp_path / "cpt"
    meta = _prepare(out, tokenizer, mirror)
    data = TokenDataset(out)  # what training.train reads
    assert data.input_ids.shape == (60, BLOCK) and data.input_ids.dtype == np.int32
    assert data.maskable is None  # pre-training text: every position maskable [§2.1]
    seen = _markers(np.asarray(data.input_ids), tokenizer)
    assert seen, "no document markers in the blocks"
    assert all(i % 100 > 5 for i in seen), sorted(i for i in seen if i % 100 <= 5)
    # documents are joined by EOS [dsl_llada.data.pack_blocks]
    assert (np.asarray(data.input_ids) == tokenizer.eos_token_id).any()
    assert meta["seq_len"] == BLOCK and meta["total"] == 60
    assert meta["corpus"]["local_mirror"] == str(mirror)
    assert meta["shuffle"] == {"buffer_size": 50, "seed": 42}
    assert meta["tokenization"]["separator_id"] == tokenizer.eos_token_id
    assert meta["read"]["examples_tokenized"] > 0
    # meta.json is published last: it is newer than the array
    assert os.stat(out / "meta.json").st_mtime_ns >= os.stat(out / "input_ids.npy").st_mtime_ns
    assert not (out / "meta.json.tmp").exists()


def test_all_train_documents_reach_the_blocks(tmp_path, tokenizer, mirror):
    """Without the shuffle and with one map batch, every train document but the dropped tail
    is packed, and no validation or index-5 document is."""
    out = tmp_path / "all"
    # 400 docs -> 376 train docs; ~13 tokens each + EOS -> ~300 blocks of 16
    n_ok = _count_blocks(tokenizer, map_batch=1000)
    _prepare(out, tokenizer, mirror, n_blocks=n_ok, shuffle_buffer=0, map_batch=1000)
    seen = _markers(np.load(out / "input_ids.npy"), tokenizer)
    train = {i for i in range(N_DOCS) if i % 100 > 5}
    assert seen <= train
    assert len(train - seen) <= 2  # only the tail cut with the remainder


def _count_blocks(tokenizer, map_batch):
    lengths = [len(_doc(i).split()) + 1 for i in range(N_DOCS) if i % 100 > 5]
    total = 0
    for start in range(0, len(lengths), map_batch):  # remainder dropped per map batch [§2.1]
        total += sum(lengths[start : start + map_batch]) // BLOCK
    return total


def test_remainder_dropped_per_map_batch(tmp_path, tokenizer, mirror):
    n = _count_blocks(tokenizer, map_batch=10)
    _prepare(tmp_path / "ok", tokenizer, mirror, n_blocks=n, shuffle_buffer=0, map_batch=10)
    with pytest.raises(CorpusError, match=f"ended after {n} blocks"):
        _prepare(tmp_path / "short", tokenizer, mirror, n_blocks=n + 1, shuffle_buffer=0, map_batch=10)
    assert (tmp_path / "short" / "input_ids.npy").exists()
    assert not (tmp_path / "short" / "meta.json").exists()  # incomplete folders are never taken as done


def test_deterministic_and_seeded(tmp_path, tokenizer, mirror):
    _prepare(tmp_path / "a", tokenizer, mirror)
    _prepare(tmp_path / "b", tokenizer, mirror)
    _prepare(tmp_path / "c", tokenizer, mirror, seed=7)
    a, b, c = (np.load(tmp_path / x / "input_ids.npy") for x in "abc")
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    meta_a = json.loads((tmp_path / "a" / "meta.json").read_text())
    meta_b = json.loads((tmp_path / "b" / "meta.json").read_text())
    assert meta_a == meta_b


def test_offline_without_mirror_says_what_to_fetch(tmp_path, tokenizer, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no resources/datasets/fineweb-edu here
    with pytest.raises(CorpusError) as err:
        prepare_corpus(tmp_path / "x", tokenizer, block_size=BLOCK, n_blocks=1, revision="b" * 40, offline=True)
    msg = str(err.value)
    assert "HuggingFaceFW/fineweb-edu" in msg and "sample-10BT" in msg
    assert "hf download" in msg and "b" * 40 in msg and "cpt.data.path" in msg


def test_missing_mirror_and_bad_revision(tmp_path, tokenizer, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CorpusError, match="does not exist"):
        prepare_corpus(tmp_path / "x", tokenizer, block_size=BLOCK, n_blocks=1, source=tmp_path / "nope")
    with pytest.raises(CorpusError, match="40-hex commit SHA"):
        prepare_corpus(tmp_path / "x", tokenizer, block_size=BLOCK, n_blocks=1, revision="main", offline=False)


def test_corpus_source_options_and_default_mirror(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CorpusError, match=r"unknown option\(s\) \['revison'\]"):
        CorpusSource.from_options({"revison": "a" * 40})
    fineweb, other = CorpusSource(), CorpusSource(hub_id="org/other")
    assert fineweb.with_default_mirror() is fineweb  # no local copy yet
    default_corpus_mirror().mkdir(parents=True)
    assert fineweb.with_default_mirror().describe("text")["local_mirror"] == str(default_corpus_mirror())
    assert other.with_default_mirror().source is None  # only FineWeb-Edu has a default mirror


def test_corpus_download_offline_names_the_exact_mirror_command(tmp_path):
    """The tokenising job reads a local copy; the login-node download, offline, says what to run."""
    from dsl_llada.corpus import CorpusError, corpus_data_pattern, download_corpus_mirror

    assert corpus_data_pattern("sample-10BT") == "sample/10BT/*"
    sha = "b" * 40
    with pytest.raises(CorpusError) as err:
        download_corpus_mirror("HuggingFaceFW/fineweb-edu", "sample-10BT", sha, tmp_path / "m", offline=True)
    assert (
        f"hf download HuggingFaceFW/fineweb-edu --repo-type dataset --revision {sha} "
        f"--include 'sample/10BT/*' --local-dir {(tmp_path / 'm').resolve()}"
    ) in str(err.value)
    assert not (tmp_path / "m").exists()
