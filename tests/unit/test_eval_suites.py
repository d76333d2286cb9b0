"""The authors' eval files (fetch + sha256), T-buckets, the realistic correction suites (§5.2-§5.3,
toy suites included) and T-context (§5.4), on tiny models and synthetic inputs."""

from __future__ import annotations

import dataclasses
import json
import os
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from dsl_llada import robustness as R
from helpers import robustness_settings, schema_defaults
from dsl_llada.paper_eval import (
    HOMOPHONE_SCRIPT,
    PAPER_EVAL_FILES,
    PaperEvalError,
    extract_noisy_edit_pairs,
    fetch_paper_eval_file,
    paper_eval_url,
    sha256_of,
    write_homophone_pairs,
)

REPO = Path(__file__).resolve().parents[2]


def _shared() -> Path | None:
    for cand in (
        os.environ.get("DSL_LLADA_PAPER_EVAL"),
        REPO.parent / "shared/data/paper_eval",
        REPO / "shared/data/paper_eval",
    ):
        if cand and Path(cand).is_dir():
            return Path(cand)
    return None


SHARED = _shared()
needs_shared = pytest.mark.skipif(SHARED is None, reason="../shared/data/paper_eval not present (a user's clone)")


# ------------------------------------------------------------------ the authors' files


@needs_shared
@pytest.mark.parametrize("name", sorted(PAPER_EVAL_FILES))
def test_fetch_from_mirror_checks_sha256_and_writes_provenance(tmp_path, name):
    if not (SHARED / name).is_file():
        pytest.skip(f"{name} is not in {SHARED}")  # the authors' script: no checked copy there
    dest = tmp_path / "paper_eval" / name
    meta = fetch_paper_eval_file(name, dest, mirror=SHARED)
    assert dest.read_bytes() == (SHARED / name).read_bytes()
    assert sha256_of(dest) == PAPER_EVAL_FILES[name].sha256 == meta["sha256"]
    assert meta["path"] == PAPER_EVAL_FILES[name].path == f"eval_data/{name}"
    side = json.loads(Path(f"{dest}.meta.json").read_text())
    assert side["commit"] == "33f29254b28eb3466e0cff9d88bee060da31c633" and side["source"] == str(SHARED / name)
    assert not [p for p in dest.parent.iterdir() if p.name.endswith(".tmp")]


@needs_shared
def test_fetched_files_load_with_the_suite_loaders(tmp_path):
    for name in ("texts_100.json", "semantic_corruption_manual.json", "correction_benchmark_50.json"):
        fetch_paper_eval_file(name, tmp_path / name, mirror=SHARED)
    assert len(R.load_texts(tmp_path / "texts_100.json")) == 100
    manual = R.load_manual_semantic(tmp_path / "semantic_corruption_manual.json")
    assert len(manual) == 84 and {r["difficulty"] for r in manual} == {"easy", "medium", "hard"}
    bench = R.load_correction_benchmark(tmp_path / "correction_benchmark_50.json")
    assert len(bench) == 50 and {r["category"] for r in bench} == {"math", "factual", "logical", "linguistic"}


def test_sha_mismatch_is_an_error_naming_the_file_and_publishes_nothing(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "correction_benchmark_50.json").write_text("[]\n")  # not the pinned bytes
    dest = tmp_path / "out" / "correction_benchmark_50.json"
    with pytest.raises(PaperEvalError, match=r"correction_benchmark_50\.json: sha256 .* does not match the pinned"):
        fetch_paper_eval_file("correction_benchmark_50.json", dest, mirror=mirror)
    assert not dest.exists() and not list(dest.parent.iterdir())


def test_unknown_or_missing_file_errors_name_it(tmp_path):
    with pytest.raises(PaperEvalError, match="nope.json: not one of the pinned"):
        fetch_paper_eval_file("nope.json", tmp_path / "x", mirror=tmp_path)
    with pytest.raises(PaperEvalError, match=r"texts_100\.json: not in the mirror folder"):
        fetch_paper_eval_file("texts_100.json", tmp_path / "t.json", mirror=tmp_path)


# ------------------------------------------------------------------ the homophone/OCR pairs [§5.3]

# A stand-in for the authors' script: the pairs as a list literal inside a function, next to code
# that would fail if the file were run (an import that does not exist, a top-level exit).
SCRIPT = textwrap.dedent(
    """
    import no_such_module_anywhere
    raise SystemExit("this file must never be executed")


    def build_cases():
        cases = []
        noisy_edit_pairs = [
            ("The kettle sat on the stove.",
             "The kettle sat on the stave."),
            ("A heron waded in the marsh.",
             "A herring waded in the marsh."),
            ("She read the whole letter twice.",
             "She red the whole letter twice."),
        ]
        for idx, (original, corrupted) in enumerate(noisy_edit_pairs):
            cases.append({"id": f"noisy_edit_{idx}"})
        return cases
    """
)


def _script(path: Path, text: str = SCRIPT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_noisy_edit_pairs_are_read_from_the_syntax_tree_without_running_the_script(tmp_path):
    script = _script(tmp_path / "eval_script.py")
    pairs = extract_noisy_edit_pairs(script)
    assert [p["id"] for p in pairs] == ["noisy_edit_0", "noisy_edit_1", "noisy_edit_2"]
    assert pairs[1] == {
        "id": "noisy_edit_1",
        "original": "A heron waded in the marsh.",
        "corrupted": "A herring waded in the marsh.",
        "category": "spelling_ocr_homophone",
    }
    out = tmp_path / "suites" / "homophone_pairs.json"
    assert write_homophone_pairs(script, out) == pairs
    assert json.loads(out.read_text(encoding="utf-8")) == pairs
    vocab: dict[str, int] = {}
    cases, dropped = R.text_pair_cases(pairs, lambda s: [vocab.setdefault(w, len(vocab)) for w in s.split()])
    assert len(cases) == 3 and dropped == 0  # the suite's own reader takes them as they are


@pytest.mark.parametrize(
    "body, message",
    [
        ("pairs = [('a b', 'a c')]\n", r"no assignment to noisy_edit_pairs"),
        ("noisy_edit_pairs = []\nnoisy_edit_pairs = []\n", r"2 assignments to noisy_edit_pairs \(lines 1, 2\)"),
        (
            "def f():\n    noisy_edit_pairs = [('a b', 'a c'), ('a b', 'a c', 'x')]\n",
            r"noisy_edit_pairs\[1\] \(line 2\)",
        ),
        ("noisy_edit_pairs = [('a b', '')]\n", r"noisy_edit_pairs\[0\] .*two non-empty strings"),
        ("noisy_edit_pairs = [('a b', 7)]\n", r"noisy_edit_pairs\[0\]"),
        ("noisy_edit_pairs = [['a b', 'a c']]\n", r"noisy_edit_pairs\[0\]"),  # a list, not a tuple
        ("noisy_edit_pairs = {'a': 'b'}\n", r"not a non-empty list"),
        ("noisy_edit_pairs = [('a b', WORD)]\n", r"noisy_edit_pairs \(line 1\) is not a literal"),
        ("noisy_edit_pairs = [(\n", r"not valid Python"),
    ],
)
def test_noisy_edit_pair_errors_name_the_file(tmp_path, body, message):
    script = _script(tmp_path / "odd_script.py", body)
    with pytest.raises(PaperEvalError, match=message) as err:
        extract_noisy_edit_pairs(script)
    assert str(err.value).startswith(f"{script}: ")
    out = tmp_path / "homophone_pairs.json"
    with pytest.raises(PaperEvalError):
        write_homophone_pairs(script, out)
    assert not out.exists()


def test_the_authors_script_is_pinned_by_its_path_in_the_repository():
    pinned = PAPER_EVAL_FILES[HOMOPHONE_SCRIPT]
    assert pinned.path == "workspace_extras/dsl_llada_active/eval_realistic_correction.py"
    assert len(pinned.sha256) == 64 and int(pinned.sha256, 16) >= 0
    assert paper_eval_url(HOMOPHONE_SCRIPT).endswith(
        "/33f29254b28eb3466e0cff9d88bee060da31c633/workspace_extras/dsl_llada_active/eval_realistic_correction.py"
    )
    assert paper_eval_url("texts_100.json").endswith(
        "/33f29254b28eb3466e0cff9d88bee060da31c633/eval_data/texts_100.json"
    )


def test_a_script_that_is_not_the_pinned_one_fails_naming_it_and_the_way_out(tmp_path):
    mirror = tmp_path / "mirror"
    _script(mirror / HOMOPHONE_SCRIPT)  # not the authors' bytes
    dest = tmp_path / "paper_eval" / HOMOPHONE_SCRIPT
    with pytest.raises(
        PaperEvalError, match=r"eval_realistic_correction\.py: sha256 .* does not match the pinned"
    ) as err:
        fetch_paper_eval_file(HOMOPHONE_SCRIPT, dest, mirror=mirror)
    assert "robustness.correction.homophone_pairs" in str(err.value) and "null" in str(err.value)
    assert not dest.exists() and not list(dest.parent.iterdir())
    with pytest.raises(
        PaperEvalError, match=r"eval_realistic_correction\.py: not in the mirror folder .*homophone_pairs"
    ):
        fetch_paper_eval_file(HOMOPHONE_SCRIPT, dest, mirror=tmp_path / "empty")


@pytest.mark.parametrize("where", [HOMOPHONE_SCRIPT, PAPER_EVAL_FILES[HOMOPHONE_SCRIPT].path])
def test_script_from_a_mirror_under_its_base_name_or_repository_path(tmp_path, monkeypatch, where):
    """A mirror folder holds the file under its base name, or is a checkout of the repository;
    the synthetic script passes only because its own sha256 is patched in as the pinned one."""
    mirror = tmp_path / "mirror"
    src = _script(mirror / where)
    pinned = PAPER_EVAL_FILES[HOMOPHONE_SCRIPT]
    monkeypatch.setitem(PAPER_EVAL_FILES, HOMOPHONE_SCRIPT, dataclasses.replace(pinned, sha256=sha256_of(src)))
    dest = tmp_path / "paper_eval" / HOMOPHONE_SCRIPT
    meta = fetch_paper_eval_file(HOMOPHONE_SCRIPT, dest, mirror=mirror)
    assert meta["source"] == str(src) and meta["path"] == pinned.path
    assert len(write_homophone_pairs(dest, tmp_path / "homophone_pairs.json")) == 3


# ------------------------------------------------------------------ T-buckets


def _scores(path: Path, ids, r1):
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"id": ids, "rouge1": r1}).to_csv(path, index=False)


def test_buckets_table_pairs_samples_by_id_and_uses_the_protocol_thresholds(tmp_path):
    from dsl_llada.tables import make_buckets_table

    bench = tmp_path / "scores" / "xsum"
    # deltas by id: a +7 (big win), b +1 (win), c +0.5 (tie), d -1 (loss), e -5 (big loss), f +4.999 -> 5.0
    _scores(bench / "dsl_sde/nfe8.csv", ["a", "b", "c", "d", "e", "f"], [17, 11, 10.5, 9, 5, 14.999])
    _scores(bench / "llada_eos_block/nfe8.csv", ["f", "e", "d", "c", "b", "a"], [10, 10, 10, 10, 10, 10])
    _scores(bench / "dsl_sde/nfe16.csv", ["a"], [1])  # the baseline has no NFE 16: no row
    frame = make_buckets_table([str(bench)], "dsl_sde", "llada_eos_block", tmp_path / "buckets.csv")
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["benchmark"], row["nfe"], row["n"]) == ("xsum", 8, 6)
    counts = {b: row[f"{b}_n"] for b in ("big_win", "win", "tie", "loss", "big_loss")}
    assert counts == {"big_win": 2, "win": 1, "tie": 1, "loss": 1, "big_loss": 1}
    assert row["sde_total_pct"] == pytest.approx(50.0)
    assert row["mean_delta_r1"] == pytest.approx(round((7 + 1 + 0.5 - 1 - 5 + 5.0) / 6, 2))
    assert pd.read_csv(tmp_path / "buckets.csv").shape[0] == 1


def test_buckets_table_rejects_unpaired_samples(tmp_path):
    from dsl_llada.tables import StageError, make_buckets_table

    bench = tmp_path / "xsum"
    _scores(bench / "dsl_sde/nfe8.csv", ["a", "b"], [1, 2])
    _scores(bench / "llada_eos_block/nfe8.csv", ["a", "c"], [1, 2])
    with pytest.raises(StageError, match="score different sample ids"):
        make_buckets_table([str(bench)], "dsl_sde", "llada_eos_block", tmp_path / "b.csv")


# ------------------------------------------------------------------ noisy edits, text pairs


def test_noisy_edits_follow_the_protocol_edit_types():
    edits = R.noisy_edits("modern")
    assert "modem" in edits  # rn -> m
    assert "moern" in edits and "mdoern" in edits  # inner deletion, inner transposition
    assert all(e[0] == "m" and e[-1] in "nm" for e in edits)  # first letter kept; last kept except by rn->m
    assert "clock" not in R.noisy_edits("clock") and "dock" in R.noisy_edits("clock")
    assert R.noisy_edits("cat") == [] and R.noisy_edits("ab12") == []


def _word_tokenizer(words):
    from dsl_llada.backbone import build_toy_tokenizer

    tok = build_toy_tokenizer(words)
    return tok, (lambda s: tok(s, add_special_tokens=False)["input_ids"]), tok.decode


def test_noisy_edit_cases_keep_only_single_token_edits():
    words = ["the", "modern", "modem", "clock", "dock", "table", "signal", "reached"]
    tok, encode, decode = _word_tokenizer(words)
    texts = [
        {"id": i, "tokens": encode(t)}
        for i, t in enumerate(["the modern clock reached the table", "the signal reached the modern dock", "the the"])
    ]
    cases = R.noisy_edit_cases(texts, encode, decode, rate=0.5, seed=42)
    assert [c["id"] for c in cases] == [0, 1]  # text 2 has no word of >= 4 letters
    for case, text in zip(cases, texts):
        diff = [i for i, (a, b) in enumerate(zip(case["original"], case["corrupted"])) if a != b]
        assert diff == case["positions"] and case["original"] == text["tokens"]
        cands = [i for i, t in enumerate(text["tokens"]) if len(decode([t])) >= 4]
        assert len(diff) == max(1, int(len(cands) * 0.5))
        for edit in case["edits"]:
            assert edit["edited"] in R.noisy_edits(edit["original"])
            assert case["corrupted"][edit["position"]] == encode(edit["edited"])[0]
    assert cases == R.noisy_edit_cases(texts, encode, decode, rate=0.5, seed=42)  # seeded


def test_text_pair_cases_align_and_drop_pairs_without_a_replacement():
    _, encode, _ = _word_tokenizer(["the", "report", "came", "from", "form", "committee", "a"])
    pairs = [
        {"id": 1, "original": "the report came from the committee", "corrupted": "the report came form the committee"},
        {"id": 2, "original": "the report", "corrupted": "the report came"},  # insertion only
        {"id": 3, "original": "a", "corrupted": "the"},
    ]  # too short
    cases, dropped = R.text_pair_cases(pairs, encode)
    assert dropped == 2 and [c["id"] for c in cases] == [1]
    assert cases[0]["positions"] == [3] and cases[0]["gold"][3] == encode("from")[0]


# ------------------------------------------------------------------ T-context


def test_context_corruption_counts_positions_and_seed():
    tokens = list(range(200, 240))  # L = 40
    out, masked, corrupted = R.context_corruption(tokens, 0.3, 20, 42, 100, 126000, mask_id=7)
    assert len(masked) == 12 and masked == sorted(masked)
    assert len(corrupted) == int(28 * 20 / 100) and not set(corrupted) & set(masked)
    assert all(out[p] == 7 for p in masked)
    assert all(out[i] == tokens[i] for i in range(40) if i not in set(masked) | set(corrupted))
    rng = np.random.RandomState(42 + 40 + 30 + 20)  # base + L + int(100 mask) + c
    assert masked == sorted(rng.choice(40, 12, replace=False).tolist())
    clean, masked0, none = R.context_corruption(tokens, 0.3, 0, 42, 100, 126000, mask_id=7)
    assert none == [] and [t for t in clean if t != 7] == [t for i, t in enumerate(tokens) if i not in masked0]
    assert masked0 != masked  # the corruption % is part of the seed
    with pytest.raises(ValueError, match="corrupt_pct"):
        R.context_corruption(tokens, 0.3, 120, 42, 100, 126000, mask_id=7)


def test_context_accuracy_is_pooled_over_masked_tokens():
    vocab, mask_id = 300, 1
    texts = [list(range(100, 100 + n)) for n in (25, 40, 10)]  # the 10-token text is skipped

    def oracle(ids, attn):  # knows the text from its length, ignores the input
        out = torch.zeros(ids.shape[0], ids.shape[1], vocab)
        for r in range(ids.shape[0]):
            n = int(attn[r].sum())
            out[r, torch.arange(n), torch.arange(100, 100 + n)] = 1
        return out

    def copier(ids, attn):  # repeats its input: never right on a [MASK]
        return torch.nn.functional.one_hot(ids, vocab).float()

    rows = R.evaluate_context_robustness(oracle, texts, [0.3, 0.5], [0, 50], 42, 100, 300, mask_id, 2, 0)
    assert [(r["mask_rate"], r["corrupt_pct"]) for r in rows] == [(0.3, 0), (0.3, 50), (0.5, 0), (0.5, 50)]
    assert all(r["accuracy"] == 1.0 and r["n_texts"] == 2 for r in rows)
    assert rows[0]["n_masked"] == int(25 * 0.3) + int(40 * 0.3)
    assert all(
        r["accuracy"] == 0.0
        for r in R.evaluate_context_robustness(copier, texts, [0.3], [0, 10], 42, 100, 300, mask_id, 2, 0)
    )


# ------------------------------------------------------------------ toy suites and the two eval stages


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A small toy world, a tiny toy backbone over its vocabulary, and its generated suites."""
    from dsl_llada.backbone import build_toy_backbone
    from dsl_llada.pipeline import build_toy_suites
    from dsl_llada.toyworld import make_world, vocabulary, write_world

    root = tmp_path_factory.mktemp("toy")
    world = make_world(0, 30, 5, 2, 40)
    write_world(world, root / "world")
    torch.set_num_threads(1)
    build_toy_backbone(
        vocabulary(world),
        dict(hidden_size=16, intermediate_size=32, num_layers=1, num_heads=2, max_positions=128),
        seed=0,
    ).save(root / "model")
    counts = build_toy_suites(
        root / "world", root / "model", {"manual": 20, "benchmark": 10, "homophone": 6}, 42, root / "suites"
    )
    return root, counts


def test_toy_suites_have_the_authors_shapes_and_load(toy):
    root, counts = toy
    manual = R.load_manual_semantic(root / "suites/semantic_corruption_manual.json")  # checks token annotations
    assert 10 <= len(manual) <= 20 and counts["semantic_corruption_manual.json"] == len(manual)
    assert {r["corruption_type"] for r in manual} <= {"same_category_swap", "number_swap"}
    assert {r["difficulty"] for r in manual} <= {"easy", "hard"} and all(len(r["positions"]) == 1 for r in manual)
    bench = R.load_correction_benchmark(root / "suites/correction_benchmark.json")
    assert 5 <= len(bench) <= 10
    for rec in bench:
        a, b = rec["original"].split(), rec["corrupted"].split()
        assert [i for i in range(len(a)) if a[i] != b[i]] == rec["error_positions"]
    pairs = json.loads((root / "suites/homophone_pairs.json").read_text())
    assert len(pairs) == 6 and all(p["original"] != p["corrupted"] for p in pairs)
    again = root / "again"
    from dsl_llada.pipeline import build_toy_suites

    build_toy_suites(root / "world", root / "model", {"manual": 20, "benchmark": 10, "homophone": 6}, 42, again)
    for name in ("semantic_corruption_manual.json", "correction_benchmark.json", "homophone_pairs.json"):
        assert (again / name).read_text() == (root / "suites" / name).read_text()  # seeded


def test_eval_stages_and_tables_on_a_tiny_model(toy):
    from dsl_llada.pipeline import eval_context_robustness, eval_correction_suites
    from dsl_llada.tables import make_context_table, make_correction_table

    root, _ = toy
    texts = root / "world/corruption_texts.json"
    suites = {
        "manual": root / "suites/semantic_corruption_manual.json",
        "benchmark": root / "suites/correction_benchmark.json",
        "homophone": root / "suites/homophone_pairs.json",
    }
    cfg = robustness_settings(
        random_rates=[0.1],
        base_seed=42,
        batch_size=8,
        max_length=256,
        correction={**schema_defaults("robustness")["correction"], "noisy_edit_rate": 0.1},
        context={"mask_rates": [0.3, 0.5], "corrupt_pcts": [0, 20], "min_length": 20},
    )
    corr = eval_correction_suites(root / "model", texts, suites, cfg, root / "out/correction.json")
    by_suite = {r["suite"] for r in corr["rows"]}
    assert by_suite == {"manual_semantic", "correction_benchmark", "noisy_edit", "homophone_ocr"}
    for r in corr["rows"]:
        assert 0 <= r["fix_rate"] <= 1 and 0 <= r["clean_preserved"] <= 1
        assert r["selective"] == pytest.approx(r["fix_rate"] - (1 - r["clean_preserved"]))
    groups = {(r["suite"], r["group_by"]) for r in corr["rows"]}
    assert {
        ("manual_semantic", "difficulty"),
        ("manual_semantic", "category"),
        ("manual_semantic", "corruption_type"),
        ("correction_benchmark", "category"),
        ("correction_benchmark", "difficulty"),
    } <= groups
    ctx = eval_context_robustness(root / "model", texts, cfg, root / "out/context.json")
    assert [(r["mask_rate"], r["corrupt_pct"]) for r in ctx["rows"]] == [(0.3, 0), (0.3, 20), (0.5, 0), (0.5, 20)]
    assert ctx == json.loads((root / "out/context.json").read_text())
    table = make_correction_table({"base": root / "out/correction.json"}, root / "out/correction.csv")
    assert table["fix_rate"].between(0, 100).all() and len(table) == len(corr["rows"])
    ctab = make_context_table({"base": root / "out/context.json"}, root / "out/context.csv")
    assert list(ctab["accuracy"]) == [round(r["accuracy"] * 100, 2) for r in ctx["rows"]]


def test_figure_reads_only_the_context_table(tmp_path):
    from dsl_llada.figures import plot_context_robustness

    rows = [
        {"model": m, "mask_rate": mr, "corrupt_pct": c, "accuracy": 50 - c / 2, "n_masked": 10, "n_texts": 2}
        for m in ("base", "dsl")
        for mr in (0.3, 0.5)
        for c in (0, 10)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "context.csv", index=False)
    plot_context_robustness(tmp_path / "context.csv", tmp_path / "f.png", tmp_path / "f.pdf")
    assert (tmp_path / "f.png").stat().st_size > 1000 and (tmp_path / "f.pdf").stat().st_size > 1000
