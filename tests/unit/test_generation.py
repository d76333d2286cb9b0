"""Sampling shards: determinism, sharding, batch-size invariance, resume, bad records."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from dsl_llada.dsl import DSLConfig, DSLModel
from dsl_llada.generation import MethodSpec, RecordError, load_records, sample_shard, sample_sweep
from dsl_llada.errors import StageError
from dsl_llada.tables import score_samples

WORDS_TEXT = "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 . w13 , w14"


@pytest.fixture(scope="module")
def dsl_dir(tmp_path_factory, tiny_backbone):
    path = tmp_path_factory.mktemp("dsl")
    DSLModel(tiny_backbone, DSLConfig(noise_dim=8)).save(path)
    return path


@pytest.fixture(scope="module")
def records_path(tmp_path_factory):
    words = WORDS_TEXT.split()
    records = [
        {
            "id": f"r{i}",
            "source": "s",
            "reference": " ".join(words[i % 5 : i % 5 + 6]),
            "prompt": "Summarize:\n\n" + " ".join(words[: 3 + i % 9]),
        }
        for i in range(9)
    ]
    path = tmp_path_factory.mktemp("data") / "bench.json"
    path.write_text(json.dumps(records))
    return path


SDE = MethodSpec(name="dsl_sde", model="dsl", sampler="sde", top_k=16)
BATCHING = dict(memory_budget_mb=1024, max_batch=64)  # the schema's sampling defaults
EOS_BLOCK = MethodSpec(name="llada_eos_block", model="dsl", sampler="remasking", block_length=8, eos_inf=True)


def _run(dsl_dir, records_path, out, method, **kw):
    args = dict(method=method, nfe=8, gen_length=16, shard=0, n_shards=1, seed=42, **BATCHING)
    args.update(kw)
    sample_shard(dsl_dir, records_path, out, **args)
    return out.read_bytes()


@pytest.mark.parametrize("method", [SDE, EOS_BLOCK])
def test_same_seed_same_bytes_and_batch_size_invariant(dsl_dir, records_path, tmp_path, method):
    a = _run(dsl_dir, records_path, tmp_path / "a.jsonl", method)
    b = _run(dsl_dir, records_path, tmp_path / "b.jsonl", method)
    assert a == b
    c = _run(dsl_dir, records_path, tmp_path / "c.jsonl", method, max_batch=1)
    d = _run(dsl_dir, records_path, tmp_path / "d.jsonl", method, max_batch=4)
    assert a == c == d


def test_different_seed_changes_sde(dsl_dir, records_path, tmp_path):
    a = _run(dsl_dir, records_path, tmp_path / "a.jsonl", SDE)
    b = _run(dsl_dir, records_path, tmp_path / "b.jsonl", SDE, seed=43)
    assert a != b


def test_sweep_equals_one_shard_per_nfe(dsl_dir, records_path, tmp_path):
    outputs = {4: tmp_path / "sweep4.jsonl", 8: tmp_path / "sweep8.jsonl"}
    stats = sample_sweep(
        dsl_dir, records_path, outputs, method=SDE, gen_length=16, shard=1, n_shards=2, seed=42, **BATCHING
    )
    assert set(stats) == {4, 8} and all(s["n"] == 4 for s in stats.values())
    for nfe, path in outputs.items():
        assert path.read_bytes() == _run(
            dsl_dir, records_path, tmp_path / f"one{nfe}.jsonl", SDE, nfe=nfe, shard=1, n_shards=2
        )
    assert outputs[4].read_bytes() != outputs[8].read_bytes()


def test_sharded_merge_equals_unsharded(dsl_dir, records_path, tmp_path):
    whole = tmp_path / "whole.jsonl"
    _run(dsl_dir, records_path, whole, SDE)
    shards = []
    for k in range(3):
        shards.append(tmp_path / f"s{k}.jsonl")
        _run(dsl_dir, records_path, shards[-1], SDE, shard=k, n_shards=3)
    merged = {json.loads(line)["id"]: json.loads(line) for s in shards for line in s.read_text().splitlines()}
    single = {json.loads(line)["id"]: json.loads(line) for line in whole.read_text().splitlines()}
    assert merged == single
    thresholds = {"premature_min_words": 3}
    out1 = score_samples([str(whole)], records_path, thresholds, tmp_path / "a.json", tmp_path / "a.csv", {})
    out3 = score_samples(
        [str(s) for s in shards], records_path, thresholds, tmp_path / "b.json", tmp_path / "b.csv", {}
    )
    assert out1 == out3


def test_merge_refuses_missing_or_torn_shards(dsl_dir, records_path, tmp_path):
    shard0 = tmp_path / "s0.jsonl"
    _run(dsl_dir, records_path, shard0, SDE, shard=0, n_shards=2)
    with pytest.raises(StageError, match="samples of .* are missing"):
        score_samples([str(shard0)], records_path, {}, tmp_path / "x.json", tmp_path / "x.csv", {})
    torn = tmp_path / "torn.jsonl"
    torn.write_text(shard0.read_text()[:-20])
    with pytest.raises(StageError, match="not valid JSON"):
        score_samples([str(torn)], records_path, {}, tmp_path / "x.json", tmp_path / "x.csv", {})
    assert not (tmp_path / "x.json").exists()


def test_killed_shard_resumes_to_identical_file(dsl_dir, records_path, tmp_path):
    reference = _run(dsl_dir, records_path, tmp_path / "ref.jsonl", SDE)
    out = tmp_path / "out.jsonl"
    progress = tmp_path / "out.jsonl.progress.jsonl"
    code = (
        "import sys, time; import dsl_llada.generation as G\n"
        "real = G._generate_batch\n"
        "def slow(*a, **k):\n"
        "    for row in real(*a, **k):\n"
        "        time.sleep(0.4); yield row\n"
        "G._generate_batch = slow\n"
        f"G.sample_shard({str(dsl_dir)!r}, {str(records_path)!r}, {str(out)!r}, method=G.MethodSpec(name='dsl_sde', "
        "model='dsl', sampler='sde', top_k=16), nfe=8, gen_length=16, shard=0, n_shards=1, seed=42, max_batch=1, "
        "memory_budget_mb=1024)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ, OMP_NUM_THREADS="1"))
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if progress.exists() and len(progress.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "a killed shard must not publish its output"
    done_before = len(progress.read_text().splitlines())
    assert 3 <= done_before < 9
    with open(progress, "a") as handle:  # a torn last line, as a kill mid-write would leave
        handle.write('{"id": "r8", "te')
    assert _run(dsl_dir, records_path, out, SDE, max_batch=1) == reference
    assert not progress.exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b'[{"id": 1, "reference": "a b"}]', "has no field 'prompt'"),
        (b'[{"id": 1, "prompt": "  ", "reference": "a b"}]', "empty 'prompt'"),
        (b'[{"id": 1, "prompt": "x", "reference": ""}]', "empty 'reference'"),
        (b'[{"id": 1, "prompt": "\xff\xfe", "reference": "a"}]', "not valid UTF-8"),
        (b'{"id": 1}', "expected a JSON list"),
        (b'[{"id": 1,', "not valid JSON"),
    ],
)
def test_bad_records_name_file_and_record(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(RecordError, match=message) as err:
        load_records(path)
    assert str(path) in str(err.value)


def test_long_prompts_are_truncated_and_counted(dsl_dir, tmp_path):
    records = [
        {"id": "long", "source": "s", "reference": "w1 w2", "prompt": " ".join(["w3"] * 400)},
        {"id": "short", "source": "s", "reference": "w1 w2", "prompt": "w1 w2"},
    ]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(records))
    stats = sample_shard(
        dsl_dir, path, tmp_path / "o.jsonl", method=SDE, nfe=4, gen_length=16, shard=0, n_shards=1, seed=1, **BATCHING
    )
    rows = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert stats["truncated_prompts"] == 1 and rows[0]["prompt_truncated"] and not rows[1]["prompt_truncated"]
    assert rows[0]["prompt_tokens"] <= 256 - 16


def test_sidecar_model_identity_is_content_and_revision(tmp_path, tiny_backbone):
    """Sample sidecars record what the model was (locked revision, content hash), not its path."""
    from dsl_llada.io import model_identity

    model = tmp_path / "m"
    tiny_backbone.save(model)
    a = model_identity(model)
    assert len(a["content_sha256"]) == 64 and a["revision"] is None
    copy = tmp_path / "copy"
    __import__("shutil").copytree(model, copy)
    assert model_identity(copy)["content_sha256"] == a["content_sha256"]  # content, not the path
    (copy / "train_metrics.json").write_text('{"seconds": 12.3}')  # a run report: timings differ per run
    assert model_identity(copy)["content_sha256"] == a["content_sha256"]
    (copy / "model.safetensors").write_bytes((copy / "model.safetensors").read_bytes()[:-1] + b"\0")
    assert model_identity(copy)["content_sha256"] != a["content_sha256"]
    meta = json.loads((model / "dsl_llada_backbone.json").read_text())
    meta.update(hub_id="GSAI-ML/LLaDA-8B-Instruct", revision="a" * 40)
    (model / "dsl_llada_backbone.json").write_text(json.dumps(meta))
    (model / "manifest.sha256.json").write_text('{"sha256": {}}')
    b = model_identity(model)
    assert b["revision"] == "a" * 40 and b["content_hash"].startswith("sha256 of manifest")


def test_seeds_repeat_only_stochastic_methods_and_score_with_cis(dsl_dir, records_path, tmp_path):
    sde = tmp_path / "sde.jsonl"
    _run(dsl_dir, records_path, sde, SDE, n_seeds=3)
    rows = [json.loads(line) for line in sde.read_text().splitlines()]
    assert len(rows) == 9 * 3 and {r["seed_index"] for r in rows} == {0, 1, 2}
    first = [r for r in rows if r["seed_index"] == 0]
    assert json.dumps(first) == json.dumps(
        [
            json.loads(x) | {"seed_index": 0}
            for x in _run(dsl_dir, records_path, tmp_path / "one.jsonl", SDE).splitlines()
        ]
    )
    assert [r["tokens"] for r in first] != [r["tokens"] for r in rows if r["seed_index"] == 2]
    remask = tmp_path / "remask.jsonl"
    _run(dsl_dir, records_path, remask, EOS_BLOCK, n_seeds=3)  # deterministic: one run
    assert {json.loads(line)["seed_index"] for line in remask.read_text().splitlines()} == {0}
    summary = score_samples(
        [str(sde)],
        records_path,
        {"premature_min_words": 3},
        tmp_path / "s.json",
        tmp_path / "s.csv",
        {},
        {"n": 200, "seed": 0, "level": 0.95},
    )
    assert summary["n"] == 9 and summary["n_seeds"] == 3
    assert summary["rouge1_ci_low"] <= summary["rouge1"] <= summary["rouge1_ci_high"]
    sde.write_text("\n".join(sde.read_text().splitlines()[:-1]) + "\n")  # one seed of one record lost
    with pytest.raises(StageError, match=r"seed index 2"):
        score_samples([str(sde)], records_path, {}, tmp_path / "x.json", tmp_path / "x.csv", {})
