"""Tests for the toy world (the CPU stand-in for the paper's data, protocol 4.1 and 7)."""

from __future__ import annotations

import json
import random
import re
import statistics
import time
from pathlib import Path

import pytest

from dsl_llada import toyworld as tw

# Exact paper instruction strings (protocol section 4.1), hard-coded on purpose.
PAPER_TEMPLATES = {
    "xsum": "Summarize the following text in one sentence:",
    "cnn_dailymail": "Summarize the following news article in 2-3 sentences:",
    "pubmed": "Summarize the following scientific paper in a concise abstract:",
    "arxiv": "Summarize the following research paper in a concise abstract:",
}
# (source bounds, reference bounds, generation-window limit on the reference)
LENGTHS = {
    "xsum": ((45, 80), (8, 16), 24),
    "cnn_dailymail": ((70, 120), (20, 35), 56),
    "pubmed": ((100, 150), (30, 50), 56),
    "arxiv": ((100, 150), (30, 50), 56),
}
SMALL = dict(n_pretrain_docs=120, n_train_per_task=60, n_eval_per_task=40, n_corruption_texts=30)
DEFAULT = dict(n_pretrain_docs=4000, n_train_per_task=1500, n_eval_per_task=64, n_corruption_texts=100)
STOPWORDS = set(
    "a an the of in on at to for and or by with from is are was were be been has have "
    "had it its this that these we our as over after than also into".split()
)
TOKEN = re.compile(r'^([A-Za-z0-9]+([-.][A-Za-z0-9]+)*|[.,:;"-])$')


@pytest.fixture(scope="module")
def world() -> tw.ToyWorld:
    return tw.make_world(0, **SMALL)


@pytest.fixture(scope="module")
def default_world() -> tuple[tw.ToyWorld, float]:
    start = time.perf_counter()
    w = tw.make_world(0, **DEFAULT)
    return w, time.perf_counter() - start


def _files(outdir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(outdir)): p.read_bytes() for p in sorted(outdir.rglob("*")) if p.is_file()}


def _source_of(prompt: str) -> str:
    return prompt.split("\n\n", 1)[1]


def test_same_seed_gives_byte_identical_files(tmp_path):
    a = tw.write_world(tw.make_world(7, **SMALL), tmp_path / "a")
    b = tw.write_world(tw.make_world(7, **SMALL), tmp_path / "b")
    files_a, files_b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert files_a == files_b
    assert a.keys() == b.keys()
    assert sorted(files_a) == sorted(
        [
            "corpus.jsonl",
            "instructions.jsonl",
            "corruption_texts.json",
            "benchmarks/xsum.json",
            "benchmarks/cnn_dailymail.json",
            "benchmarks/pubmed.json",
            "benchmarks/arxiv.json",
        ]
    )


def test_different_seed_gives_different_world(tmp_path):
    tw.write_world(tw.make_world(1, **SMALL), tmp_path / "a")
    tw.write_world(tw.make_world(2, **SMALL), tmp_path / "b")
    files_a, files_b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert files_a.keys() == files_b.keys()
    for name in files_a:
        assert files_a[name] != files_b[name], name


def test_test_split_does_not_depend_on_training_sizes():
    small = tw.make_world(3, 10, 10, 20, 5)
    large = tw.make_world(3, 50, 40, 20, 5)
    assert small.benchmarks == large.benchmarks


def test_write_world_returns_paths_and_leaves_no_temp_files(tmp_path, world):
    paths = tw.write_world(world, tmp_path / "out")
    assert set(paths) == {"corpus", "instructions", "corruption_texts", *tw.TASKS}
    for name, path in paths.items():
        assert Path(path).is_file(), name
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.endswith(".tmp")]
    corpus = [json.loads(line) for line in Path(paths["corpus"]).read_text().splitlines()]
    assert corpus == [{"text": d} for d in world.pretrain_docs]
    pairs = [json.loads(line) for line in Path(paths["instructions"]).read_text().splitlines()]
    assert pairs == world.instructions
    for task in tw.TASKS:
        text = Path(paths[task]).read_text()
        assert text.startswith('[\n {\n  "id"')  # JSON list, indent=1
        assert json.loads(text) == world.benchmarks[task]
    assert json.loads(Path(paths["corruption_texts"]).read_text()) == world.corruption_texts


def test_record_formats(world):
    assert list(world.benchmarks) == list(PAPER_TEMPLATES)
    assert set(tw.TASKS) == set(PAPER_TEMPLATES)
    for task, records in world.benchmarks.items():
        assert len(records) == SMALL["n_eval_per_task"]
        for i, record in enumerate(records):
            assert set(record) == {"id", "source", "reference", "prompt"}
            assert record["id"] == f"{task}-{i:05d}"
            assert all(isinstance(v, str) and v for v in record.values())
    assert len(world.instructions) == 4 * SMALL["n_train_per_task"]
    for pair in world.instructions:
        assert set(pair) == {"task", "prompt", "response"}
        assert pair["task"] in tw.TASKS
    assert len(world.pretrain_docs) == SMALL["n_pretrain_docs"]
    assert [c["id"] for c in world.corruption_texts] == list(range(SMALL["n_corruption_texts"]))
    assert all(set(c) == {"id", "text"} for c in world.corruption_texts)


def test_prompt_is_paper_template_blank_line_source(world):
    for task, template in PAPER_TEMPLATES.items():
        assert tw.TASKS[task].template == template
        for record in world.benchmarks[task]:
            assert record["prompt"] == template + "\n\n" + record["source"]
    for pair in world.instructions:
        template = PAPER_TEMPLATES[pair["task"]]
        assert pair["prompt"].startswith(template + "\n\n")
        assert pair["prompt"].count("\n") == 2


def test_text_is_wikitext_style(world):
    texts = list(world.pretrain_docs) + [c["text"] for c in world.corruption_texts]
    for records in world.benchmarks.values():
        texts += [r["source"] for r in records] + [r["reference"] for r in records]
    texts += [_source_of(p["prompt"]) for p in world.instructions]
    texts += [p["response"] for p in world.instructions]
    for text in texts:
        assert text == " ".join(text.split()), text  # single spaces, no newlines
        bad = [tok for tok in text.split() if not TOKEN.match(tok)]
        assert not bad, (bad, text)  # punctuation is always a separate token


@pytest.mark.parametrize("task", list(LENGTHS))
def test_lengths_within_regime_and_window(world, task):
    (src_lo, src_hi), (ref_lo, ref_hi), window = LENGTHS[task]
    spec = tw.TASKS[task]
    assert spec.source_len == (src_lo, src_hi) and spec.reference_len == (ref_lo, ref_hi)
    pairs = [(r["source"], r["reference"]) for r in world.benchmarks[task]]
    pairs += [(_source_of(p["prompt"]), p["response"]) for p in world.instructions if p["task"] == task]
    for source, reference in pairs:
        assert src_lo <= len(source.split()) <= src_hi
        assert ref_lo <= len(reference.split()) <= min(ref_hi, window)
        assert len(reference.split()) < len(source.split())
        n_sentences = reference.split().count(".")
        if task == "xsum":
            assert n_sentences == 1 and reference.endswith(" .")
        elif task == "cnn_dailymail":
            assert 2 <= n_sentences <= 3


def test_corruption_texts_are_short_clean_and_distinct(world):
    lengths = [len(c["text"].split()) for c in world.corruption_texts]
    assert all(25 <= n <= 60 for n in lengths), lengths
    assert len({c["text"] for c in world.corruption_texts}) == len(world.corruption_texts)


def test_test_documents_disjoint_from_training(world):
    test_sources = {r["source"] for records in world.benchmarks.values() for r in records}
    assert len(test_sources) == 4 * SMALL["n_eval_per_task"]
    train_sources = {_source_of(p["prompt"]) for p in world.instructions}
    assert not test_sources & train_sources
    assert not test_sources & set(world.pretrain_docs)


def test_fact_sets_are_excluded_from_training_draws():
    rng = random.Random(0)
    facts = tw.sample_facts("xsum", random.Random(5))
    exclude = {tw.facts_key(facts)}
    for _ in range(200):  # the excluded fact set is never redrawn
        drawn, _ = tw._draw_document("xsum", rng, exclude)
        assert tw.facts_key(drawn) not in exclude


@pytest.mark.parametrize("task", list(LENGTHS))
def test_references_are_multimodal_for_fixed_facts(task):
    (_, _), (ref_lo, ref_hi), _ = LENGTHS[task]
    for fact_seed in range(5):
        facts = tw.sample_facts(task, random.Random(fact_seed))
        refs = {tw.render_reference(task, facts, random.Random(i)) for i in range(50)}
        assert len(refs) >= 3, refs
        assert all(ref_lo <= len(r.split()) <= ref_hi for r in refs)


@pytest.mark.parametrize("task", list(LENGTHS))
def test_reference_content_is_a_function_of_the_facts(task):
    """Every rendering of one document's summary reports the same facts (the same extra
    sentences, so the same sentence count) whatever its wording and order."""
    counts = set()
    for fact_seed in range(8):
        facts = tw.sample_facts(task, random.Random(fact_seed))
        content = tw.summary_content(task, facts)
        assert content == tw.summary_content(task, dict(reversed(list(facts.items()))))
        refs = [tw.render_reference(task, facts, random.Random(i)) for i in range(30)]
        per_doc = {r.split().count(".") for r in refs}
        # news summaries open with one sentence; trial and paper ones with one or two
        assert max(per_doc) - min(per_doc) <= (0 if tw.TASKS[task].domain == "news" else 1), refs
        counts |= per_doc
    if tw.TASKS[task].n_extra_sentences[1] > 0:
        assert len(counts) > 1  # the amount of content varies between documents


@pytest.mark.parametrize("task", list(LENGTHS))
def test_reference_content_words_come_from_source(world, task):
    recalls = []
    for record in world.benchmarks[task]:
        source = set(record["source"].lower().split())
        content = [
            t for t in record["reference"].lower().split() if t not in STOPWORDS and any(ch.isalnum() for ch in t)
        ]
        recalls.append(sum(t in source for t in content) / len(content))
    assert statistics.mean(recalls) >= 0.6


def test_vocabulary_small_sorted_and_complete(default_world):
    w, _ = default_world
    vocab = tw.vocabulary(w)
    assert len(vocab) <= 1500
    assert vocab == sorted(set(vocab))
    known = set(vocab)
    texts = list(w.pretrain_docs) + [c["text"] for c in w.corruption_texts]
    texts += [p["prompt"] + " " + p["response"] for p in w.instructions]
    texts += [r[k] for rs in w.benchmarks.values() for r in rs for k in ("source", "reference", "prompt")]
    for text in texts:
        assert set(text.split()) <= known
    for template in PAPER_TEMPLATES.values():
        assert set(template.split()) <= known


def test_default_sizes_are_fast(default_world):
    w, seconds = default_world
    assert len(w.instructions) == 4 * DEFAULT["n_train_per_task"]
    assert seconds < 10  # budget is 5 s; slack for a loaded shared CI machine


@pytest.mark.parametrize("arg", ["n_pretrain_docs", "n_train_per_task", "n_eval_per_task", "n_corruption_texts"])
@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_invalid_counts_raise_value_error_naming_argument(arg, bad):
    kwargs = dict(SMALL, **{arg: bad})
    with pytest.raises(ValueError, match=arg):
        tw.make_world(0, **kwargs)


def test_invalid_seed_or_task_raises():
    with pytest.raises(ValueError, match="seed"):
        tw.make_world("0", **SMALL)
    with pytest.raises(ValueError, match="task"):
        tw.sample_facts("billsum", random.Random(0))
