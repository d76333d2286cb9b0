"""Tests for dsl_llada.metrics (protocol §4.3), including the Lead-k sanity checks
against published ROUGE numbers on the shipped evaluation subsets."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

import math  # noqa: E402

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402

from dsl_llada import metrics  # noqa: E402
from dsl_llada.benchmarks import PAPER_BENCHMARKS  # noqa: E402
from dsl_llada.metrics import MetricsError  # noqa: E402

from helpers import paper_eval_dir
from paper_subsets import SUBSET_FILES, article, lead_k, load_subset


# ------------------------------------------------------------------ ROUGE

PAIRS = [
    ("The cat sat on the mat.", "A cat was sitting on the mat."),
    ("Police arrested two men after the robbery in Leeds.", "Two men were arrested by police in Leeds."),
    ("Stocks fell sharply on Monday.", "The weather was sunny and warm."),
    ("running runners ran", "the runner runs and running"),
    ("identical text here", "identical text here"),
]


@pytest.mark.parametrize("reference,generated", PAIRS)
def test_rouge_matches_rouge_score_directly(reference, generated):
    direct = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    expected = direct.score(reference, generated)
    got = metrics.rouge(reference, generated)
    assert set(got) == {"rouge1", "rouge2", "rougeL"}
    for key in got:
        assert got[key] == pytest.approx(expected[key].fmeasure * 100)


def test_rouge_uses_stemmer():
    # Porter stemming maps "running"/"runs" to "run"; without it they would not match.
    assert metrics.rouge("running", "runs")["rouge1"] == pytest.approx(100.0)
    assert metrics.rouge("cats", "dogs")["rouge1"] == 0.0


@pytest.mark.parametrize("generated", ["", "   ", "\n\t "])
def test_rouge_empty_generation_is_zero(generated):
    assert metrics.rouge("Some reference text.", generated) == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


def test_rouge_scorer_is_built_once():
    assert metrics._scorer() is metrics._scorer()


def test_rouge_rejects_non_string():
    with pytest.raises(MetricsError, match="generated"):
        metrics.rouge("ref", None)


def test_word_count_is_whitespace_split():
    assert metrics.word_count("a  b\tc\nd") == 4
    assert metrics.word_count("   ") == 0


# ------------------------------------------------------------------ failure modes

WORDS20 = " ".join(f"w{i}" for i in range(20))


def test_is_premature():
    assert metrics.is_premature("only a few words", "ref")  # < 15 words
    assert not metrics.is_premature(WORDS20, "short reference")  # 20 words, ref 2
    ref60 = " ".join(["r"] * 60)
    assert metrics.is_premature(WORDS20, ref60)  # 20 < 0.4 * 60 = 24
    assert not metrics.is_premature(WORDS20, " ".join(["r"] * 50))  # 20 == 0.4 * 50: not fewer
    fifteen = " ".join(["x"] * 15)
    assert not metrics.is_premature(fifteen, "r")  # exactly 15 is not "fewer than 15"
    assert metrics.is_premature(fifteen, "r", min_words=16)


def test_has_repetition():
    assert metrics.has_repetition("the cat sat on the mat " * 5)
    assert not metrics.has_repetition(WORDS20)
    # 7 words: below the 8-word floor, never flagged however repetitive
    assert not metrics.has_repetition("a b c d a b c")
    # n=1: 20 words, one word 3 times -> 3/20 = 0.15, not > 0.15; 4 times -> 0.2
    three = ["z"] * 3 + [f"u{i}" for i in range(17)]
    four = ["z"] * 4 + [f"u{i}" for i in range(16)]
    assert not metrics.has_repetition(" ".join(three), n=1)
    assert metrics.has_repetition(" ".join(four), n=1)
    assert not metrics.has_repetition("The the THE the the the the the the", n=1, threshold=0.9)


def test_has_degenerate_ending():
    assert metrics.has_degenerate_ending("A fine summary of the article" + "." * 9)
    assert metrics.has_degenerate_ending("A fine summary, " + ", " * 9)
    assert metrics.has_degenerate_ending("x......." + " clean text afterwards" * 5)
    assert not metrics.has_degenerate_ending("A fine summary. It has two sentences. Three.")
    # nine dots, but spread out before the last 40 characters, never 7 in a row
    assert not metrics.has_degenerate_ending("a. " * 9 + "y" * 50)
    assert not metrics.has_degenerate_ending("Wait...... ok")  # six dots only
    assert not metrics.has_degenerate_ending("")


def test_is_degenerate_hero():
    assert metrics.is_degenerate_hero("Wait... what... no... yes...")
    assert not metrics.is_degenerate_hero("Wait... what... no...")  # 3 is not > 3
    assert metrics.is_degenerate_hero("request question quest conquest")  # substring count
    assert metrics.is_degenerate_hero("a\u200bb\u200bc\u200bd\u200b")
    assert metrics.is_degenerate_hero('"" "" "" ""')
    assert metrics.is_degenerate_hero("::: ::: ::: :::")
    assert metrics.is_degenerate_hero("{}{}{}{}")
    assert not metrics.is_degenerate_hero("An ordinary summary with {} once and ::: once.")


# ------------------------------------------------------------------ score_records / aggregate


def _records():
    return [
        {"id": "a", "reference": "The cat sat on the mat.", "text": "The cat sat on the mat."},
        {"id": "b", "reference": "Ref text", "text": "   "},
        {"id": "c", "reference": "Ref", "text": "short answer"},
        {"id": "d", "reference": "Ref", "text": "loop " * 20 + "." * 12},
    ]


def test_score_records_columns_and_flags():
    df = metrics.score_records(_records())
    assert list(df.columns) == list(metrics.PER_SAMPLE_COLUMNS)
    assert list(df["id"]) == ["a", "b", "c", "d"]
    row = df.set_index("id")
    assert row.loc["a", "rouge1"] == pytest.approx(100.0)
    # empty: only the empty tag (as upstream tag_failures)
    assert row.loc["b", "empty"] and not row.loc["b", "premature"]
    assert not row.loc["b", "repetition"] and not row.loc["b", "degenerate_ending"]
    assert row.loc["b", "rouge1"] == 0.0 and row.loc["b", "words"] == 0
    assert row.loc["c", "premature"] and not row.loc["c", "empty"]
    assert row.loc["d", "repetition"] and row.loc["d", "degenerate_ending"]
    assert row.loc["d", "degenerate_hero"]  # 12 dots hold "..." 4 times
    assert not row.loc["a", "degenerate_hero"]
    assert row.loc["d", "words"] == 21


def test_score_records_thresholds_override():
    recs = [{"id": 1, "reference": "r", "text": WORDS20}]
    assert not metrics.score_records(recs)["premature"].iloc[0]
    assert metrics.score_records(recs, {"premature_min_words": 25})["premature"].iloc[0]


def test_score_records_errors_name_record_and_key():
    with pytest.raises(MetricsError, match=r"record 1 has no key 'text'"):
        metrics.score_records([{"id": 0, "reference": "r", "text": "t"}, {"id": 1, "reference": "r"}])
    with pytest.raises(MetricsError, match=r"record 0 .*'text' must be a string"):
        metrics.score_records([{"id": 0, "reference": "r", "text": None}])
    with pytest.raises(MetricsError, match="unknown threshold key"):
        metrics.score_records([], {"premature_words": 3})
    with pytest.raises(MetricsError, match="gens.json"):
        metrics.score_records([{"id": 0}], source="gens.json")


def test_aggregate_hand_built_frame():
    df = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "rouge1": [40.0, 20.0, 0.0, 60.0],
            "rouge2": [10.0, 0.0, 0.0, 30.0],
            "rougeL": [30.0, 10.0, 0.0, 40.0],
            "words": [20, 10, 0, 50],
            "premature": [False, True, False, False],
            "repetition": [False, False, False, True],
            "degenerate_ending": [True, False, False, True],
            "degenerate_hero": [False, False, False, True],
            "empty": [False, False, True, False],
        }
    )
    agg = metrics.aggregate(df)
    assert agg == {
        "n": 4,
        "rouge1": 30.0,
        "rouge2": 10.0,
        "rougeL": 20.0,
        "avg_words": 20.0,
        "premature_pct": 25.0,
        "repetition_pct": 25.0,
        "degenerate_pct": 50.0,
        "degenerate_hero_pct": 25.0,
        "empty_pct": 25.0,
        "valid": 3,
    }


def test_aggregate_errors():
    with pytest.raises(MetricsError, match="empty"):
        metrics.aggregate(metrics.score_records([]))
    with pytest.raises(MetricsError, match="rougeL"):
        metrics.aggregate(pd.DataFrame({"rouge1": [1.0]}))


def test_score_then_aggregate_round_trip():
    agg = metrics.aggregate(metrics.score_records(_records()))
    assert agg["n"] == 4 and agg["valid"] == 3 and agg["empty_pct"] == 25.0


# ------------------------------------------------------------------ win buckets


@pytest.mark.parametrize(
    "delta,bucket",
    [
        (5, "big_win"),
        (12.3, "big_win"),
        (4.99, "win"),
        (1, "win"),
        (0.99, "tie"),
        (0, "tie"),
        (-0.99, "tie"),
        (-1, "loss"),
        (-4.99, "loss"),
        (-5, "big_loss"),
        (-40, "big_loss"),
    ],
)
def test_win_bucket_boundaries(delta, bucket):
    assert metrics.win_bucket(delta) == bucket


def test_win_buckets_summary():
    out = metrics.win_buckets([6.0, 2.0, 0.999, 0.0, -3.0, -7.0, 10.0, -0.5])
    # 0.999 rounds to 1.0 -> win (upstream rounds ΔR-1 to 2 decimals first)
    assert out["counts"] == {"big_win": 2, "win": 2, "tie": 2, "loss": 1, "big_loss": 1}
    assert out["n"] == 8
    assert out["pct"]["big_win"] == 25.0 and out["sde_total_pct"] == 50.0
    assert out["mean_delta_r1"] == pytest.approx((6 + 2 + 1.0 + 0 - 3 - 7 + 10 - 0.5) / 8)


def test_win_buckets_errors():
    with pytest.raises(MetricsError, match="NaN"):
        metrics.win_buckets([1.0, math.nan])
    with pytest.raises(MetricsError, match="no ΔR-1"):
        metrics.win_buckets([])
    with pytest.raises(MetricsError, match="win_bucket"):
        metrics.win_buckets(3.0)


# ------------------------------------------------------------------ published Lead-k numbers


def _lead_scores(name: str, k: int) -> dict:
    root = paper_eval_dir("xsum_100.json")
    if root is None:
        pytest.skip("shipped eval subsets (shared/data/paper_eval) not present in this clone")
    records = load_subset(root / SUBSET_FILES[name])
    template = PAPER_BENCHMARKS[name].template
    gens = [{"id": r["id"], "reference": r["reference"], "text": lead_k(article(r, template), k)} for r in records]
    return metrics.aggregate(metrics.score_records(gens))


def test_lead3_cnn_dailymail_matches_published():
    agg = _lead_scores("cnn_dailymail", 3)
    print(
        f"\nLead-3 CNN/DM (100 shipped records): R-1 {agg['rouge1']:.2f} R-2 {agg['rouge2']:.2f} "
        f"R-L {agg['rougeL']:.2f}  | published Lead-3 (See et al. 2017): R-1 40.34 R-2 17.70 R-L 36.57 "
        "(R-L there is summary-level ROUGE-Lsum; ours is ROUGE-L as in the paper)"
    )
    assert agg["n"] == 100 and agg["valid"] == 100
    assert abs(agg["rouge1"] - 40.3) <= 2.0


def test_lead1_xsum_in_plausible_band():
    agg = _lead_scores("xsum", 1)
    print(
        f"\nLead-1 XSum (100 shipped records): R-1 {agg['rouge1']:.2f} R-2 {agg['rouge2']:.2f} "
        f"R-L {agg['rougeL']:.2f}  | published LEAD (Narayan et al. 2018): R-1 16.30 R-2 1.60 R-L 11.95"
    )
    assert agg["n"] == 100
    assert 10.0 <= agg["rouge1"] <= 25.0


# ---------------------------------------------------------------- uncertainty


def test_bootstrap_ci_brackets_the_mean_is_seeded_and_narrows_with_more_records():
    import numpy as np

    rng = np.random.default_rng(0)
    small, large = rng.normal(30, 10, 32), rng.normal(30, 10, 512)
    low, high = metrics.bootstrap_ci(small, 2000, seed=1)
    assert low < small.mean() < high
    assert (low, high) == metrics.bootstrap_ci(small, 2000, seed=1)
    assert (low, high) != metrics.bootstrap_ci(small, 2000, seed=2)
    low_l, high_l = metrics.bootstrap_ci(large, 2000, seed=1)
    assert high_l - low_l < (high - low) * 0.5  # ~ 1/sqrt(n)
    assert metrics.bootstrap_ci([5.0, 5.0, 5.0], 100, seed=0) == (5.0, 5.0)
    with pytest.raises(metrics.MetricsError, match="non-empty"):
        metrics.bootstrap_ci([], 100, seed=0)
    with pytest.raises(metrics.MetricsError, match="level"):
        metrics.bootstrap_ci([1.0, 2.0], 100, seed=0, level=1.5)


def test_per_record_means_average_seeds_and_paired_bootstrap_cancels_shared_noise():
    import numpy as np

    frame = pd.DataFrame({"id": ["a", "a", "b", "b"], "rouge1": [10.0, 20.0, 30.0, 50.0]})
    means = metrics.per_record_means(frame, "rouge1")
    assert means.to_dict() == {"a": 15.0, "b": 40.0}
    base = pd.Series(np.random.default_rng(0).normal(40, 15, 64), index=[f"r{i}" for i in range(64)])
    diff, low, high = metrics.paired_bootstrap_ci(base + 3.0, base, 500, seed=0)
    assert diff == pytest.approx(3.0) and low == pytest.approx(3.0) and high == pytest.approx(3.0)
    with pytest.raises(metrics.MetricsError, match="record 'r0'"):
        metrics.paired_bootstrap_ci(base.drop("r0"), base, 100, seed=0)
