"""Generation-quality metrics [protocol §6.2(d), §6.2(e)]: repetition, Distinct-n, length,
GenPPL through a real (tiny) GPT-2 scorer, the scoring table and the two figures."""

import json
import math

import pandas as pd
import pytest

from dsl_llada.backbone import build_toy_tokenizer
from dsl_llada.genquality import (
    GenQualityError,
    PerplexityScorer,
    average_words,
    build_toy_scorer,
    distinct_n,
    gen_ppl,
    load_prompts,
    repetition_rate,
    score_generation,
)

WORDS = [f"w{i}" for i in range(30)]


def test_repetition_pools_adjacent_transitions_over_outputs():
    # "a a b" has 2 transitions, 1 duplicate; "c d d d" has 3, 2 duplicates -> 3 / 5
    assert repetition_rate(["a a b", "c d d d"]) == pytest.approx(60.0)
    assert repetition_rate(["one"]) == 0.0 and repetition_rate([]) == 0.0
    assert repetition_rate(["a b a b"]) == 0.0  # only exact adjacent duplicates count


def test_distinct_n_and_average_words():
    # bigrams of "a b a b": (a,b) (b,a) (a,b) -> 2 distinct / 3; pooled with "c d": 3 / 4
    assert distinct_n(["a b a b"], 2) == pytest.approx(2 / 3)
    assert distinct_n(["a b a b", "c d"], 2) == pytest.approx(3 / 4)
    assert distinct_n(["a"], 2) == 0.0
    assert average_words(["a b c", "d"]) == 2.0


def test_load_prompts_takes_the_first_n_and_names_bad_records(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"id": i, "category": "qa", "prompt": f"q{i}"} for i in range(5)]))
    prompts = load_prompts(path, 3)
    assert [p["id"] for p in prompts] == ["0", "1", "2"] and prompts[0]["category"] == "qa"
    with pytest.raises(GenQualityError, match="n_prompts: 9 asked"):
        load_prompts(path, 9)
    path.write_text(json.dumps([{"id": 0, "prompt": "x"}, {"id": 7, "prompt": " "}]))
    with pytest.raises(GenQualityError, match="record 1 \\(id 7\\) has no non-empty 'prompt'"):
        load_prompts(path)
    path.write_text(json.dumps([{"id": 0, "prompt": "x"}, {"id": 0, "prompt": "y"}]))
    with pytest.raises(GenQualityError, match="repeats id 0"):
        load_prompts(path)
    with pytest.raises(GenQualityError, match="genquality.prompts"):
        load_prompts(tmp_path / "missing.json")


@pytest.fixture(scope="module")
def scorer_dir(tmp_path_factory):
    """A tiny GPT-2 trained on a cyclic word sequence (w0 w1 ... w29 w0 ...), via the toy path."""
    root = tmp_path_factory.mktemp("scorer")
    build_toy_tokenizer(WORDS).save_pretrained(str(root / "tok"))
    docs = [" ".join(WORDS[(start + j) % 30] for j in range(60)) for start in range(30)]
    (root / "corpus.jsonl").write_text("".join(json.dumps({"text": d}) + "\n" for d in docs))
    arch = dict(hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2, max_positions=64)
    stats = build_toy_scorer(
        root / "corpus.jsonl", root / "tok", root / "gpt2", arch=arch, steps=60, seed=0, seq_len=32, batch=8, lr=1e-2
    )
    assert stats["last_loss"] < stats["first_loss"]
    assert list((root / "gpt2").glob("*.safetensors"))
    return root / "gpt2"


def test_gen_ppl_is_exp_mean_nll_on_the_first_words(scorer_dir):
    scorer = PerplexityScorer(scorer_dir, device="cpu")
    fluent = " ".join(WORDS[j % 30] for j in range(40))
    scrambled = " ".join(WORDS[(j * 7) % 30] for j in range(40))
    ppl, nlls = gen_ppl([fluent, scrambled], scorer, max_words=128)
    assert nlls[0] < nlls[1]  # the scorer learned the cyclic order
    assert ppl == pytest.approx(math.exp((nlls[0] + nlls[1]) / 2))
    # only the first max_words words count: a tail of noise changes nothing
    noisy_tail = fluent + " " + scrambled
    assert gen_ppl([noisy_tail], scorer, max_words=40)[1][0] == pytest.approx(nlls[0])
    assert gen_ppl(["w1"], scorer, max_words=128)[0] is None  # one token: nothing to predict


def test_score_generation_table_and_figures(scorer_dir, tmp_path):
    from dsl_llada.figures import plot_genquality_scatter, plot_nfe_efficiency

    runs = []
    for method, text in (("sde", "w0 w1 w2 w3 w4 w5"), ("loop", "w3 w3 w3 w3 w3 w4")):
        for nfe in (4, 8):
            path = tmp_path / f"{method}{nfe}.jsonl"
            rows = [{"id": "0", "text": text}, {"id": "1", "text": ""}]
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
            runs.append({"method": method, "nfe": nfe, "samples": str(path)})
    frame = score_generation(
        runs, scorer_dir, tmp_path / "q.csv", tmp_path / "per.csv", max_words=128, unreliable_repetition=50.0
    )
    table = pd.read_csv(tmp_path / "q.csv")
    assert len(table) == 4 and (table["n"] == 2).all() and (table["n_valid"] == 1).all()
    loop = table[table["method"] == "loop"].iloc[0]
    assert loop["repetition_pct"] == pytest.approx(80.0) and bool(loop["ppl_unreliable"])
    sde = table[table["method"] == "sde"].iloc[0]
    assert sde["repetition_pct"] == 0.0 and not bool(sde["ppl_unreliable"]) and sde["avg_words"] == 6.0
    assert sde["distinct2"] == 1.0 and loop["distinct2"] == pytest.approx(2 / 5)
    assert len(pd.read_csv(tmp_path / "per.csv")) == 8 and list(frame.columns) == list(table.columns)
    plot_nfe_efficiency(tmp_path / "q.csv", tmp_path / "f.png", tmp_path / "f.pdf")
    plot_genquality_scatter(tmp_path / "q.csv", tmp_path / "s.png", tmp_path / "s.pdf")
    for name in ("f.png", "f.pdf", "s.png", "s.pdf"):
        assert (tmp_path / name).stat().st_size > 1000


def test_scorer_folder_must_be_a_model(tmp_path):
    with pytest.raises(GenQualityError, match="models.genppl"):
        PerplexityScorer(tmp_path)


def test_toy_scorer_same_seed_same_weights(scorer_dir, tmp_path):
    """Dropout is seeded per build: the same seed gives the same scorer bytes."""
    root = scorer_dir.parent
    arch = dict(hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2, max_positions=64)
    for name in ("a", "b"):
        build_toy_scorer(
            root / "corpus.jsonl",
            root / "tok",
            tmp_path / name,
            arch=arch,
            steps=5,
            seed=3,
            seq_len=32,
            batch=4,
            lr=1e-2,
        )
    assert (tmp_path / "a/model.safetensors").read_bytes() == (tmp_path / "b/model.safetensors").read_bytes()
