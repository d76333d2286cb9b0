"""A seeded synthetic news/science world: the CPU-only stand-in for the paper's data.

The paper evaluates an 8B masked-diffusion LM on XSum, CNN/DailyMail, PubMed and arXiv
(protocol section 4.1) and probes noisy-state robustness on 100 short WikiText snippets
(section 7, ``texts_100``). The toy world mirrors all of that at a scale a ~1M-parameter
word-level model can learn in minutes:

* documents are short reports generated from a small *fact set* (who, what, where, when, a
  number, a quote; or population / drug / outcome for trials; method / dataset / gain for
  ML papers), padded with background sentences, so summarising means extracting and
  compressing facts that are all present in the source;
* the four benchmarks reuse the paper's exact instruction templates and record format
  ``{id, source, reference, prompt}`` with prompt = template + "\\n\\n" + source;
* text is WikiText-style (single spaces, punctuation as separate tokens), so ``str.split``
  is the tokenisation and the whole world fits in a closed vocabulary of < 1,500 words.

Why multimodal: every summary sentence has several paraphrase templates with optional
clauses, and multi-sentence summaries vary their order; the reference is one random
rendering. If the summary were a deterministic function of the document, the conditional
target distribution would be a point mass and few-step parallel decoding could not fail
by mixing modes (repetition, garbled text), so the sampler comparison at low NFE would
be empty. The *content* is still a function of the facts, so a model can learn to copy
names, places and numbers from the source and reach high ROUGE.

This module is the logic; the content is data in two modules of its own: the document kinds with
their templates (``toyworld_kinds``) and the closed word lists (``toyworld_lexicon``).

Everything uses local ``random.Random`` instances (no global state): equal arguments give
byte-identical files from :func:`write_world`.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from .io import atomic_write_text
from .prompts import SUMMARY_TEMPLATES, summary_prompt
from .toyworld_kinds import KINDS, KINDS_BY_DOMAIN, DocumentKind

# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class TaskSpec:
    """One toy benchmark; ``template`` is the paper's instruction string verbatim."""

    name: str
    template: str
    paper_benchmark: str
    domain: str  # "news", "biomedical" or "ml": which document kinds it draws
    source_len: tuple[int, int]  # inclusive bounds in whitespace tokens
    reference_len: tuple[int, int]
    reference_sentences: tuple[int, int]
    gen_window: int  # generation length downstream; references always fit in it
    n_extra_sentences: tuple[int, int]  # summary sentences beyond the main one


TASKS: dict[str, TaskSpec] = {
    "xsum": TaskSpec("xsum", SUMMARY_TEMPLATES["xsum"], "XSum", "news", (45, 80), (8, 16), (1, 1), 32, (0, 0)),
    "cnn_dailymail": TaskSpec(
        "cnn_dailymail",
        SUMMARY_TEMPLATES["cnn_dailymail"],
        "CNN/DailyMail",
        "news",
        (70, 120),
        (20, 35),
        (2, 3),
        64,
        (1, 2),
    ),
    "pubmed": TaskSpec(
        "pubmed",
        SUMMARY_TEMPLATES["pubmed"],
        "PubMed",
        "biomedical",
        (100, 150),
        (30, 50),
        (1, 5),
        64,
        (0, 2),
    ),
    "arxiv": TaskSpec(
        "arxiv",
        SUMMARY_TEMPLATES["arxiv"],
        "arXiv",
        "ml",
        (100, 150),
        (30, 50),
        (1, 5),
        64,
        (0, 2),
    ),
}

CORRUPTION_TEXT_LEN = (25, 60)

# --------------------------------------------------------------- text helpers

_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_WORD = re.compile(r"[A-Za-z0-9]")


def _capitalise_sentences(tokens: list[str]) -> list[str]:
    """Upper-case the first word of every sentence (slots are stored lower-case)."""
    out, start = [], True
    for tok in tokens:
        if start and _WORD.match(tok):
            tok = tok[0].upper() + tok[1:]
            start = False
        elif tok == ".":
            start = True
        out.append(tok)
    return out


def _fill(template: str, slots: dict, rng: random.Random) -> str:
    """Render a template: each ``[optional clause]`` kept with p=0.5, then slots."""
    text = _OPTIONAL.sub(lambda m: m.group(1) if rng.random() < 0.5 else "", template)
    return " ".join(_capitalise_sentences(text.format(**slots).split()))


def _n_tokens(text: str) -> int:
    return len(text.split())


def _n_sentences(text: str) -> int:
    return text.split().count(".")


# ------------------------------------------------------------- facts and renderings

_MAX_TRIES = 200


def _task(task: str) -> TaskSpec:
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    return TASKS[task]


def sample_facts(task: str, rng: random.Random) -> dict:
    """Draw one document's fact set (a dict of slot strings, including its ``kind``)."""
    return rng.choice(KINDS_BY_DOMAIN[_task(task).domain]).sample(rng)


def facts_key(facts: dict) -> tuple:
    """Hashable identity of a fact set, used to keep splits disjoint."""
    return tuple(sorted(facts.items()))


def _source_sentences(facts: dict, length: tuple[int, int], rng: random.Random) -> list[str] | None:
    """Core sentences plus background fillers up to a random target length.

    Returns None when the length window cannot be hit (the caller redraws).
    """
    kind = KINDS[facts["kind"]]
    lo, hi = length
    target = rng.randint(lo, hi)
    sections = []
    for core, fillers, _ in kind.sections:
        sections.append(
            (
                [_fill(rng.choice(kind.sentences[t][0]), facts, rng) for t in core],
                [_fill(f, facts, rng) for f in fillers],
            )
        )
    total = sum(_n_tokens(s) for core, _ in sections for s in core)
    # fillers from all sections compete in random order until the target is reached
    pool = [(i, f) for i, (_, fillers) in enumerate(sections) for f in fillers]
    rng.shuffle(pool)
    chosen: list[list[str]] = [[] for _ in sections]
    for i, sentence in pool:
        if total >= target:
            break
        if total + _n_tokens(sentence) <= hi:
            chosen[i].append(sentence)
            total += _n_tokens(sentence)
    if not lo <= total <= hi:
        return None
    out = []
    for (core, _), extra, (_, _, shuffle) in zip(sections, chosen, kind.sections):
        body = list(core)
        if shuffle:
            body += extra
            rng.shuffle(body)
        else:  # keep the core order ("we propose X" before "X does Y"), fillers in between
            for sentence in extra:
                body.insert(rng.randint(min(1, len(body)), len(body)), sentence)
        out.extend(body)
    return out


def render_source(task: str, facts: dict, rng: random.Random) -> str | None:
    """One rendering of the document for ``facts``; None if the length window was missed."""
    sentences = _source_sentences(facts, _task(task).source_len, rng)
    return None if sentences is None else " ".join(sentences)


def summary_content(task: str, facts: dict) -> list[str]:
    """Which extra sentence types the summary of ``facts`` adds to its main sentence: a
    function of the facts alone (seeded by their key), so every reference of one document
    reports the same facts and only the wording and order vary. The first choice whose
    summaries can meet the task's length and sentence bounds is taken."""
    spec = _task(task)
    kind = KINDS[facts["kind"]]
    seed = int.from_bytes(hashlib.sha256(repr(facts_key(facts)).encode()).digest()[:8], "big")
    content_rng = random.Random(seed)
    for attempt in range(_MAX_TRIES):
        n_extra = content_rng.randint(*spec.n_extra_sentences)
        extra_types = content_rng.sample(kind.extras, min(n_extra, len(kind.extras)))
        probe = random.Random(seed + attempt + 1)  # seeded check that some wording fits
        if any(_fits(spec, _render_summary(kind, facts, extra_types, probe)) for _ in range(50)):
            return extra_types
    raise RuntimeError(f"no {task} summary content within bounds for facts {facts}")


def _render_summary(kind: DocumentKind, facts: dict, extra_types: list[str], rng: random.Random) -> str:
    main = _fill(rng.choice(kind.main), facts, rng)
    order = rng.sample(extra_types, len(extra_types))
    return " ".join([main] + [_fill(rng.choice(kind.sentences[t][1]), facts, rng) for t in order])


def _fits(spec: TaskSpec, text: str) -> bool:
    return (
        spec.reference_len[0] <= _n_tokens(text) <= spec.reference_len[1]
        and spec.reference_sentences[0] <= _n_sentences(text) <= spec.reference_sentences[1]
    )


def render_reference(task: str, facts: dict, rng: random.Random) -> str:
    """One random paraphrase of the summary of ``facts`` within the task's bounds.

    The content (:func:`summary_content`) is a function of the facts; templates, optional
    clauses and the order of extra sentences are random, which is what makes the target
    distribution multimodal.
    """
    spec = _task(task)
    kind = KINDS[facts["kind"]]
    extra_types = summary_content(task, facts)
    for _ in range(_MAX_TRIES):
        text = _render_summary(kind, facts, extra_types, rng)
        if _fits(spec, text):
            return text
    raise RuntimeError(f"no {task} reference within bounds for facts {facts}")


def make_prompt(task: str, source: str) -> str:
    """The paper's prompt for a toy task [§4.1]."""
    return summary_prompt(_task(task).template, source)


def _draw_document(task: str, rng: random.Random, exclude: set) -> tuple[dict, str]:
    """Fresh facts (not in ``exclude``) and a source that fits the task's length window."""
    for _ in range(_MAX_TRIES):
        facts = sample_facts(task, rng)
        if facts_key(facts) in exclude:
            continue
        source = render_source(task, facts, rng)
        if source is not None:
            return facts, source
    raise RuntimeError(f"could not draw a {task} document")


# ---------------------------------------------------------------------- the world


@dataclass
class ToyWorld:
    pretrain_docs: list[str] = field(default_factory=list)
    instructions: list[dict] = field(default_factory=list)
    benchmarks: dict[str, list[dict]] = field(default_factory=dict)
    corruption_texts: list[dict] = field(default_factory=list)


def _check_positive(**counts: int) -> None:
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _split_rng(seed: int, split: str) -> random.Random:
    # one stream per split: the test set does not change when training sizes change
    return random.Random(f"toyworld:{seed}:{split}")


def _make_benchmark(task: str, n: int, rng: random.Random, used: set) -> list[dict]:
    records = []
    for i in range(n):
        facts, source = _draw_document(task, rng, used)
        used.add(facts_key(facts))
        records.append(
            {
                "id": f"{task}-{i:05d}",
                "source": source,
                "reference": render_reference(task, facts, rng),
                "prompt": make_prompt(task, source),
            }
        )
    return records


def _make_instructions(n_per_task: int, rng: random.Random, exclude: set) -> list[dict]:
    pairs = []
    for task in TASKS:
        for _ in range(n_per_task):
            facts, source = _draw_document(task, rng, exclude)
            pairs.append(
                {"task": task, "prompt": make_prompt(task, source), "response": render_reference(task, facts, rng)}
            )
    rng.shuffle(pairs)  # mixed tasks, as in a real instruction mix
    return pairs


def _make_pretrain_docs(n: int, rng: random.Random, exclude: set) -> list[str]:
    tasks = list(TASKS)
    return [_draw_document(rng.choice(tasks), rng, exclude)[1] for _ in range(n)]


def _make_corruption_texts(n: int, rng: random.Random) -> list[dict]:
    """Short clean snippets (consecutive document sentences), like texts_100."""
    lo, hi = CORRUPTION_TEXT_LEN
    tasks, texts, seen = list(TASKS), [], set()
    while len(texts) < n:
        task = rng.choice(tasks)
        sentences = _source_sentences(sample_facts(task, rng), TASKS[task].source_len, rng)
        if sentences is None:
            continue
        start, target, snippet = rng.randrange(len(sentences)), rng.randint(lo, hi), []
        for sentence in sentences[start:]:
            if _n_tokens(" ".join(snippet + [sentence])) > hi:
                break
            snippet.append(sentence)
            if _n_tokens(" ".join(snippet)) >= target:
                break
        text = " ".join(snippet)
        if _n_tokens(text) >= lo and text not in seen:
            seen.add(text)
            texts.append({"id": len(texts), "text": text})
    return texts


def make_world(
    seed: int, n_pretrain_docs: int, n_train_per_task: int, n_eval_per_task: int, n_corruption_texts: int
) -> ToyWorld:
    """Generate the whole toy world from ``seed``.

    Benchmark fact sets are drawn first and excluded from the training and pretraining
    draws, so no test document (or any rendering of its facts) is seen in training.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    _check_positive(
        n_pretrain_docs=n_pretrain_docs,
        n_train_per_task=n_train_per_task,
        n_eval_per_task=n_eval_per_task,
        n_corruption_texts=n_corruption_texts,
    )
    test_facts: set = set()
    benchmarks = {
        task: _make_benchmark(task, n_eval_per_task, _split_rng(seed, f"test:{task}"), test_facts) for task in TASKS
    }
    return ToyWorld(
        pretrain_docs=_make_pretrain_docs(n_pretrain_docs, _split_rng(seed, "pretrain"), test_facts),
        instructions=_make_instructions(n_train_per_task, _split_rng(seed, "train"), test_facts),
        benchmarks=benchmarks,
        corruption_texts=_make_corruption_texts(n_corruption_texts, _split_rng(seed, "corruption")),
    )


# ------------------------------------------------------------------------ output


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_world(world: ToyWorld, outdir: str | Path) -> dict[str, str]:
    """Write the world's files; returns {name: path}.

    Names: "corpus" (corpus.jsonl, {"text"} per line), "instructions"
    (instructions.jsonl), "corruption_texts" (corruption_texts.json) and one per task
    name (benchmarks/<task>.json, a JSON list with indent=1 like the paper's files).
    """
    outdir = Path(outdir)
    files = {
        "corpus": (outdir / "corpus.jsonl", _jsonl([{"text": d} for d in world.pretrain_docs])),
        "instructions": (outdir / "instructions.jsonl", _jsonl(world.instructions)),
        "corruption_texts": (
            outdir / "corruption_texts.json",
            json.dumps(world.corruption_texts, indent=1, ensure_ascii=False) + "\n",
        ),
    }
    for task, records in world.benchmarks.items():
        files[task] = (outdir / "benchmarks" / f"{task}.json", json.dumps(records, indent=1, ensure_ascii=False) + "\n")
    for path, text in files.values():
        atomic_write_text(path, text)
    return {name: str(path) for name, (path, _) in files.items()}


def vocabulary(world: ToyWorld) -> list[str]:
    """Sorted set of every whitespace token anywhere in the world (templates included)."""
    vocab: set[str] = set()
    for doc in world.pretrain_docs:
        vocab.update(doc.split())
    for pair in world.instructions:
        vocab.update(pair["prompt"].split())
        vocab.update(pair["response"].split())
    for records in world.benchmarks.values():
        for record in records:
            for key in ("source", "reference", "prompt"):
                vocab.update(record[key].split())
    for item in world.corruption_texts:
        vocab.update(item["text"].split())
    for spec in TASKS.values():
        vocab.update(spec.template.split())
    return sorted(vocab)
