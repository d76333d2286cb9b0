"""Tests for dsl_llada.benchmarks (protocol §4.1 sampling/prompts, §7 record formats)."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

import json  # noqa: E402
import random  # noqa: E402

import datasets  # noqa: E402
import pytest  # noqa: E402

from dsl_llada.benchmarks import (  # noqa: E402
    PAPER_BENCHMARKS,
    BenchmarkError,
    BenchmarkSpec,
    build_records,
    default_mirror_path,
    load_rows,
    truncate_words,
)

from helpers import paper_eval_dir
from paper_subsets import SUBSET_FILES, article, load_subset


def tiny_spec(**over) -> BenchmarkSpec:
    d = dict(
        name="tiny",
        hub_id="someone/tiny-sum",
        split="test",
        text_field="document",
        summary_field="summary",
        template="Summarize:",
        gen_length=32,
        n=10,
        max_source_words=5,
    )
    d.update(over)
    return BenchmarkSpec.from_dict(d)


def synthetic_rows(count=30):
    rows = []
    for i in range(count):
        text = " ".join(f"t{i}w{j}" for j in range(3 + i % 6))  # 3..8 words; >5 gets cut
        summary = f"summary of {i}"
        if i % 7 == 3:
            text = "   "
        if i % 11 == 5:
            summary = None
        rows.append({"id": f"r{i}", "document": "  " + text + "\n", "summary": summary})
    return rows


def usable(row):
    return bool(row["document"].strip()) and bool((row["summary"] or "").strip())


# ------------------------------------------------------------------ build_records


def test_build_records_reproduces_random42_walk():
    rows = synthetic_rows()
    spec = tiny_spec()
    records, report = build_records(rows, spec)

    order = list(range(len(rows)))
    random.Random(42).shuffle(order)
    expected, seen = [], 0
    for i in order:
        if len(expected) == spec.n:
            break
        seen += 1
        if usable(rows[i]):
            expected.append(i)
    assert [r["id"] for r in records] == [f"r{i}" for i in expected]
    assert report.rows_total == 30 and report.kept == 10 and report.rows_seen == seen
    assert report.skipped_empty == seen - 10 > 0
    assert report.truncated == sum(len(rows[i]["document"].split()) > 5 for i in expected) > 0


def test_build_records_record_format_and_truncation():
    rows = synthetic_rows()
    records, _ = build_records(rows, tiny_spec())
    by_id = {r["id"]: r for r in records}
    for rid, rec in by_id.items():
        assert set(rec) == {"id", "source", "reference", "prompt"}
        original = rows[int(rid[1:])]
        words = original["document"].split()
        if len(words) > 5:
            assert rec["source"] == " ".join(words[:5])
        else:
            assert rec["source"] == original["document"].strip()
        assert rec["reference"] == original["summary"].strip()
        assert rec["prompt"] == "Summarize:\n\n" + rec["source"]


def test_truncate_words_keeps_text_within_cap():
    assert truncate_words("a  b\nc", 3) == ("a  b\nc", False)
    assert truncate_words("a  b\nc d", 3) == ("a b c", True)


def test_build_records_id_falls_back_to_row_index():
    rows = [{"document": "x y", "summary": "s"}, {"id": None, "document": "x", "summary": "s"}]
    records, _ = build_records(rows, tiny_spec(n=2))
    assert sorted(r["id"] for r in records) == ["0", "1"]
    records, _ = build_records([{"id": 7, "document": "x", "summary": "s"}], tiny_spec(n=1))
    assert records[0]["id"] == "7"


def test_build_records_too_few_rows():
    rows = [{"id": i, "document": "text" if i < 3 else "", "summary": "s"} for i in range(6)]
    with pytest.raises(BenchmarkError, match=r"'tiny'.*needs 10 .*only 3 of 6 rows.*3 skipped"):
        build_records(rows, tiny_spec())


def test_build_records_missing_field_names_field_and_row():
    rows = [{"id": i, "document": "text", "summary": "s"} for i in range(5)]
    del rows[2]["summary"]
    with pytest.raises(BenchmarkError, match=r"row 2 has no field 'summary'"):
        build_records(rows, tiny_spec(n=5))


def test_build_records_non_string_field():
    rows = [{"id": 0, "document": 12, "summary": "s"}]
    with pytest.raises(BenchmarkError, match=r"row 0 field 'document' must be a string"):
        build_records(rows, tiny_spec(n=1))


def test_build_records_on_a_datasets_dataset_matches_list():
    rows = synthetic_rows()
    ds = datasets.Dataset.from_list(rows)
    assert build_records(ds, tiny_spec())[0] == build_records(rows, tiny_spec())[0]


def test_other_seed_gives_other_sample():
    rows = synthetic_rows()
    a = [r["id"] for r in build_records(rows, tiny_spec())[0]]
    b = [r["id"] for r in build_records(rows, tiny_spec(seed=7))[0]]
    assert a != b


# ------------------------------------------------------------------ BenchmarkSpec


def test_paper_benchmarks_match_protocol():
    assert set(PAPER_BENCHMARKS) == {"xsum", "cnn_dailymail", "pubmed", "arxiv"}
    x, c = PAPER_BENCHMARKS["xsum"], PAPER_BENCHMARKS["cnn_dailymail"]
    assert (x.hub_id, x.config_name, x.text_field, x.summary_field, x.gen_length) == (
        "EdinburghNLP/xsum",
        None,
        "document",
        "summary",
        128,
    )
    assert (c.hub_id, c.config_name, c.text_field, c.summary_field, c.gen_length) == (
        "cnn_dailymail",
        "3.0.0",
        "article",
        "highlights",
        256,
    )
    for name in ("pubmed", "arxiv"):
        s = PAPER_BENCHMARKS[name]
        assert (s.text_field, s.summary_field, s.gen_length) == ("article", "abstract", 256)
    for s in PAPER_BENCHMARKS.values():
        assert (s.split, s.n, s.seed, s.max_source_words) == ("test", 1000, 42, 1500)


def test_spec_round_trip_and_new_benchmark_by_config():
    for spec in PAPER_BENCHMARKS.values():
        assert BenchmarkSpec.from_dict(spec.to_dict()) == spec
    billsum = BenchmarkSpec.from_dict(
        {
            "name": "billsum",
            "hub_id": "FiscalNote/billsum",
            "split": "test",
            "text_field": "text",
            "summary_field": "summary",
            "template": "Summarize the following legislation:",
            "gen_length": 256,
        }
    )
    assert billsum.n == 1000 and billsum.config_name is None


def test_spec_unknown_key():
    d = PAPER_BENCHMARKS["xsum"].to_dict() | {"gen_len": 128}
    with pytest.raises(BenchmarkError, match=r"'xsum'.*unknown key\(s\) \['gen_len'\]"):
        BenchmarkSpec.from_dict(d, where="config/config.yaml: benchmarks")


def test_spec_missing_key():
    d = PAPER_BENCHMARKS["xsum"].to_dict()
    del d["summary_field"]
    with pytest.raises(BenchmarkError, match=r"missing required key\(s\) \['summary_field'\]"):
        BenchmarkSpec.from_dict(d)


@pytest.mark.parametrize(
    "key,value,msg",
    [
        ("gen_length", "128", "'gen_length' must be an integer"),
        ("n", 0, "'n' must be >= 1"),
        ("template", "", "'template' must be a non-empty string"),
        ("config_name", 3, "'config_name'"),
    ],
)
def test_spec_bad_values(key, value, msg):
    d = PAPER_BENCHMARKS["xsum"].to_dict() | {key: value}
    with pytest.raises(BenchmarkError, match=msg):
        BenchmarkSpec.from_dict(d)


# ------------------------------------------------------------------ load_rows


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_load_rows_from_json_jsonl_parquet_and_disk(tmp_path):
    rows = [r | {"summary": r["summary"] or ""} for r in synthetic_rows()]
    spec = tiny_spec()
    expected = build_records(rows, spec)[0]

    jl = tmp_path / "rows.jsonl"
    _write_jsonl(jl, rows)
    js = tmp_path / "rows.json"
    js.write_text(json.dumps(rows))
    ds = datasets.Dataset.from_list(rows)
    pq = tmp_path / "rows.parquet"
    ds.to_parquet(str(pq))
    disk = tmp_path / "disk"
    ds.save_to_disk(str(disk))
    dd = tmp_path / "dd"
    datasets.DatasetDict({"test": ds}).save_to_disk(str(dd))

    for src in (jl, js, pq, disk, dd):
        loaded = load_rows(spec, src, cache_dir=tmp_path / "cache")
        assert len(loaded) == 30
        assert build_records(loaded, spec)[0] == expected, src


def test_load_rows_default_mirror_path(tmp_path):
    spec = tiny_spec()
    mirror = default_mirror_path(spec, tmp_path / "resources/datasets")
    assert mirror == tmp_path / "resources/datasets/tiny/test"
    datasets.Dataset.from_list([{"id": "a", "document": "d", "summary": "s"}]).save_to_disk(str(mirror))
    loaded = load_rows(spec, mirror_root=tmp_path / "resources/datasets", offline=True)
    assert loaded[0]["id"] == "a"


def test_load_rows_offline_without_mirror_says_what_and_where(tmp_path):
    spec = PAPER_BENCHMARKS["cnn_dailymail"]
    with pytest.raises(BenchmarkError) as err:
        load_rows(spec, mirror_root=tmp_path / "m", offline=True)
    msg = str(err.value)
    assert "'cnn_dailymail'" in msg and "'3.0.0'" in msg and "'test'" in msg
    assert str((tmp_path / "m/cnn_dailymail/test").resolve()) in msg
    assert "save_to_disk" in msg


def test_load_rows_refuses_unpinned_hub_revision(tmp_path):
    with pytest.raises(BenchmarkError, match="40-hex commit SHA"):
        load_rows(PAPER_BENCHMARKS["xsum"], mirror_root=tmp_path, offline=False, revision="main")


def test_load_rows_bad_local_sources(tmp_path):
    with pytest.raises(BenchmarkError, match="does not exist"):
        load_rows(tiny_spec(), tmp_path / "nope.jsonl")
    bad = tmp_path / "rows.csv"
    bad.write_text("a,b\n")
    with pytest.raises(BenchmarkError, match=r"\.json / \.jsonl / \.parquet"):
        load_rows(tiny_spec(), bad)
    dd = tmp_path / "dd"
    datasets.DatasetDict({"train": datasets.Dataset.from_list([{"a": "b"}])}).save_to_disk(str(dd))
    with pytest.raises(BenchmarkError, match=r"splits \['train'\], not 'test'"):
        load_rows(tiny_spec(), dd)


# ------------------------------------------------------------------ shipped subsets


def test_shipped_subsets_load_and_match_templates():
    root = paper_eval_dir("xsum_100.json")
    if root is None:
        pytest.skip("shipped eval subsets (shared/data/paper_eval) not present in this clone")
    for name, fname in SUBSET_FILES.items():
        recs = load_subset(root / fname)
        template = PAPER_BENCHMARKS[name].template
        assert len(recs) == 100
        for r in recs:
            assert r["prompt"].startswith(template + "\n\n"), (name, r["id"])
            text = article(r, template)
            assert len(text.split()) > 5 and not text.startswith("Summarize")
        if name in ("pubmed", "arxiv"):
            assert recs[0]["id"] == str(recs[0]["idx"]) and recs[0]["source"] == name
            assert article(recs[0], template) == recs[0]["prompt"][len(template) + 2 :]
        else:
            assert article(recs[0], template) == recs[0]["source"]
    xsum = load_subset(root / "xsum_100.json")
    assert [r["id"] for r in xsum[:3]] == ["0", "1", "2"]


@pytest.mark.parametrize("name", ["xsum", "pubmed", "arxiv"])
def test_script_datasets_offline_error_gives_the_parquet_mirror_command(name, tmp_path):
    """xsum and ccdv/* ship loading scripts that datasets >= 4 refuses: their rows come from the
    parquet conversion, and offline the error is the exact command that writes the mirror."""
    from dsl_llada.benchmarks import SCRIPT_DATASETS, BenchmarkError, default_mirror_path, load_rows

    spec = PAPER_BENCHMARKS[name]
    assert spec.hub_id in SCRIPT_DATASETS
    mirror = default_mirror_path(spec, tmp_path).resolve()
    with pytest.raises(BenchmarkError) as err:
        load_rows(spec, revision="c" * 40, offline=True, mirror_root=tmp_path)
    assert (
        f"datasets.load_dataset({spec.hub_id!r}, {spec.config_name!r}, split='test', "
        f"revision='refs/convert/parquet').save_to_disk({str(mirror)!r})"
    ) in str(err.value)
