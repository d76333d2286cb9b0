"""Summarization metrics of the paper (protocol §4.3).

Every rule of the paper is one named function below; its docstring cites the
protocol section it implements. The rules follow the authors' evaluation code
(``eval_summarization.py`` for ROUGE / length / hero "Deg %", and
``analyze_summarization.py`` for the failure-mode tags and win buckets).

Per-sample values are kept at full precision. The upstream scripts rounded
per-sample ROUGE to 2 decimals before storing them but averaged the unrounded
values, so means agree; only :func:`win_buckets` rounds ΔR-1 to 2 decimals before
bucketing, exactly as upstream did.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = [
    "MetricsError",
    "ROUGE_TYPES",
    "DEFAULT_THRESHOLDS",
    "PER_SAMPLE_COLUMNS",
    "BUCKETS",
    "rouge",
    "word_count",
    "is_empty",
    "is_premature",
    "has_repetition",
    "has_degenerate_ending",
    "is_degenerate_hero",
    "score_records",
    "aggregate",
    "win_bucket",
    "win_buckets",
    "per_record_means",
    "bootstrap_ci",
    "paired_bootstrap_ci",
]


class MetricsError(ValueError):
    """Bad input to a metric: names the record / key / argument at fault."""


#: ROUGE variants reported by the paper (§4.3: "No ROUGE-Lsum").
ROUGE_TYPES: tuple[str, ...] = ("rouge1", "rouge2", "rougeL")

#: Failure-mode thresholds of the paper (§4.3, ``tab:failures_nfe64``).
DEFAULT_THRESHOLDS: dict[str, float | int] = {
    "premature_min_words": 15,
    "premature_min_ratio": 0.4,
    "repetition_ngram": 4,
    "repetition_min_words": 8,
    "repetition_threshold": 0.15,
}

#: Columns of the per-sample frame returned by :func:`score_records`.
PER_SAMPLE_COLUMNS: tuple[str, ...] = (
    "id",
    "rouge1",
    "rouge2",
    "rougeL",
    "words",
    "premature",
    "repetition",
    "degenerate_ending",
    "degenerate_hero",
    "empty",
)

#: ΔR-1 bucket names, best first (§4.3, ``tab:buckets_nfe64``).
BUCKETS: tuple[str, ...] = ("big_win", "win", "tie", "loss", "big_loss")

# Substrings of the hero table's "Deg %" rule (§4.3); "\u200b" is a zero-width space.
_HERO_DEGENERATE_PATTERNS: tuple[str, ...] = (":::", "...", "{}", '""', "quest", "\u200b")

_SCORER = None


def _scorer():
    """The one ``RougeScorer`` of the process (built on first use, then cached)."""
    global _SCORER
    if _SCORER is None:
        from rouge_score import rouge_scorer

        _SCORER = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    return _SCORER


def _require_str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise MetricsError(f"{what} must be a string, got {type(value).__name__}")
    return value


# ---------------------------------------------------------------- ROUGE, length


def rouge(reference: str, generated: str) -> dict[str, float]:
    """ROUGE-1/2/L F-measure × 100 of one sample (protocol §4.3).

    ``rouge_score.RougeScorer(['rouge1','rouge2','rougeL'], use_stemmer=True)``
    called as ``score(reference, generated)``; an empty or whitespace-only
    generation scores 0 on all three (as upstream, without calling the scorer).
    """
    _require_str(reference, "reference")
    _require_str(generated, "generated")
    if not generated.strip():
        return {k: 0.0 for k in ROUGE_TYPES}
    scores = _scorer().score(reference, generated)
    return {k: scores[k].fmeasure * 100.0 for k in ROUGE_TYPES}


def word_count(text: str) -> int:
    """Whitespace word count, the paper's length unit (``avg_words``, protocol §4.3)."""
    return len(_require_str(text, "text").split())


def is_empty(text: str) -> bool:
    """An output is empty when it is blank after stripping (``valid`` counts the rest; §4.3)."""
    return not _require_str(text, "text").strip()


# ---------------------------------------------------------------- failure modes


def is_premature(
    generated: str,
    reference: str,
    min_words: int = 15,
    min_ref_ratio: float = 0.4,
) -> bool:
    """Premature termination ("preEOS", protocol §4.3, ``tab:failures_nfe64``).

    True when the output has fewer than ``min_words`` words, or fewer than
    ``min_ref_ratio`` × the reference's word count (the reference count is
    floored at 1, as upstream).
    """
    gen_words = word_count(generated)
    ref_words = max(1, word_count(reference))
    return gen_words < min_words or gen_words < min_ref_ratio * ref_words


def has_repetition(
    text: str,
    n: int = 4,
    min_words: int = 8,
    threshold: float = 0.15,
) -> bool:
    """4-gram repetition ("rep", protocol §4.3, ``tab:failures_nfe64``).

    Only outputs of at least ``min_words`` whitespace words are tested. The rate
    is (count of the most frequent word ``n``-gram) / (number of ``n``-grams);
    the output is flagged when the rate exceeds ``threshold``. Words are compared
    verbatim (no lower-casing), as upstream.
    """
    if n < 1:
        raise MetricsError(f"repetition n-gram size must be >= 1, got {n}")
    words = _require_str(text, "text").split()
    if len(words) < min_words:
        return False
    ngrams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not ngrams:
        return False
    top = Counter(ngrams).most_common(1)[0][1]
    return top / len(ngrams) > threshold


def has_degenerate_ending(text: str) -> bool:
    """Degenerate ending, "dot/comma spam" ("degen", protocol §4.3, ``tab:failures_nfe64``).

    True when the last 40 characters (unstripped) contain more than 8 "." or more
    than 8 ",", or when "......." (seven dots) appears anywhere. Differs from the
    hero table's "Deg %" (:func:`is_degenerate_hero`).
    """
    _require_str(text, "text")
    tail = text[-40:]
    return tail.count(".") > 8 or tail.count(",") > 8 or "......." in text


def is_degenerate_hero(text: str) -> bool:
    """The hero table's "Deg %" rule (protocol §4.3, "Len/Deg" column).

    True when any of ":::", "...", "{}", '""', "quest" or a zero-width space
    occurs more than 3 times (non-overlapping ``str.count``).
    """
    _require_str(text, "text")
    return any(text.count(p) > 3 for p in _HERO_DEGENERATE_PATTERNS)


# ---------------------------------------------------------------- per sample / aggregate


def _merge_thresholds(thresholds: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = dict(DEFAULT_THRESHOLDS)
    if thresholds is None:
        return merged
    if not isinstance(thresholds, Mapping):
        raise MetricsError(f"thresholds must be a mapping, got {type(thresholds).__name__}")
    unknown = sorted(set(thresholds) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise MetricsError(f"unknown threshold key(s) {unknown}; allowed: {sorted(DEFAULT_THRESHOLDS)}")
    for key, value in thresholds.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MetricsError(f"threshold {key!r} must be a number, got {value!r}")
    merged.update(thresholds)
    return merged


def score_records(
    records: Sequence[Mapping[str, Any]],
    thresholds: Mapping[str, Any] | None = None,
    *,
    source: str = "<records>",
) -> pd.DataFrame:
    """Per-sample metrics and failure tags of a list of generations (protocol §4.3).

    Each record needs ``id``, ``reference`` and ``text`` (the generation).
    ``thresholds`` may override any of :data:`DEFAULT_THRESHOLDS` (unknown keys
    are an error). As in the authors' ``tag_failures``, an empty output gets only
    the ``empty`` tag: ``premature``, ``repetition`` and ``degenerate_ending`` are
    False for it (its ROUGE is 0). ``source`` names the input in error messages.
    """
    th = _merge_thresholds(thresholds)
    if isinstance(records, (str, bytes)) or not isinstance(records, Sequence):
        raise MetricsError(f"{source}: records must be a list of dicts, got {type(records).__name__}")
    rows = []
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise MetricsError(f"{source}: record {i} is {type(rec).__name__}, expected a dict")
        for key in ("id", "reference", "text"):
            if key not in rec:
                raise MetricsError(f"{source}: record {i} has no key {key!r}")
        for key in ("reference", "text"):
            if not isinstance(rec[key], str):
                raise MetricsError(
                    f"{source}: record {i} (id={rec['id']!r}) key {key!r} must be a string, "
                    f"got {type(rec[key]).__name__}"
                )
        text, ref = rec["text"], rec["reference"]
        empty = is_empty(text)
        scores = rouge(ref, text)
        rows.append(
            {
                "id": rec["id"],
                **scores,
                "words": word_count(text),
                "premature": (not empty)
                and is_premature(text, ref, th["premature_min_words"], th["premature_min_ratio"]),
                "repetition": (not empty)
                and has_repetition(
                    text,
                    int(th["repetition_ngram"]),
                    th["repetition_min_words"],
                    th["repetition_threshold"],
                ),
                "degenerate_ending": (not empty) and has_degenerate_ending(text),
                "degenerate_hero": is_degenerate_hero(text),
                "empty": empty,
            }
        )
    return pd.DataFrame(rows, columns=list(PER_SAMPLE_COLUMNS))


def aggregate(per_sample: pd.DataFrame) -> dict[str, Any]:
    """Aggregate of a per-sample frame: means over all samples (protocol §4.3).

    ROUGE means include empty outputs as 0 (mean over all N, as upstream);
    ``avg_words`` is over all outputs; the ``*_pct`` values are percentages of N;
    ``degenerate_pct`` is the failure table's "degen" and ``degenerate_hero_pct``
    the hero table's "Deg %"; ``valid`` counts non-empty outputs.
    """
    if not isinstance(per_sample, pd.DataFrame):
        raise MetricsError(f"aggregate needs a pandas DataFrame, got {type(per_sample).__name__}")
    missing = [c for c in PER_SAMPLE_COLUMNS if c not in per_sample.columns]
    if missing:
        raise MetricsError(f"per-sample frame lacks column(s) {missing} (see score_records)")
    n = len(per_sample)
    if n == 0:
        raise MetricsError("per-sample frame is empty: nothing to aggregate")

    def pct(col: str) -> float:
        return float(per_sample[col].astype(bool).mean() * 100.0)

    return {
        "n": int(n),
        "rouge1": float(per_sample["rouge1"].mean()),
        "rouge2": float(per_sample["rouge2"].mean()),
        "rougeL": float(per_sample["rougeL"].mean()),
        "avg_words": float(per_sample["words"].mean()),
        "premature_pct": pct("premature"),
        "repetition_pct": pct("repetition"),
        "degenerate_pct": pct("degenerate_ending"),
        "degenerate_hero_pct": pct("degenerate_hero"),
        "empty_pct": pct("empty"),
        "valid": int((~per_sample["empty"].astype(bool)).sum()),
    }


# ---------------------------------------------------------------- win buckets


def win_bucket(delta_r1: float) -> str:
    """ΔR-1 bucket of one sample (protocol §4.3, ``tab:buckets_nfe64``).

    big win ≥ +5; win [+1, +5); tie (−1, +1); loss (−5, −1]; big loss ≤ −5.
    """
    if isinstance(delta_r1, bool) or not isinstance(delta_r1, (int, float)):
        raise MetricsError(f"ΔR-1 must be a number, got {delta_r1!r}")
    d = float(delta_r1)
    if math.isnan(d):
        raise MetricsError("ΔR-1 is NaN")
    if d >= 5:
        return "big_win"
    if d >= 1:
        return "win"
    if d > -1:
        return "tie"
    if d > -5:
        return "loss"
    return "big_loss"


def win_buckets(delta_r1: Iterable[float]) -> dict[str, Any]:
    """Bucket distribution of per-sample ΔR-1 = R-1(SDE) − R-1(baseline) (protocol §4.3).

    Each delta is rounded to 2 decimals first (as the authors' analysis script
    did), then bucketed by :func:`win_bucket`. Returns ``n``, ``counts`` and
    ``pct`` per bucket (:data:`BUCKETS`), ``mean_delta_r1`` (the table's
    "ΔR-1 avg") and ``sde_total_pct`` (= big win + win, "SDE-total").
    """
    if isinstance(delta_r1, (int, float, str, bytes)):
        raise MetricsError("win_buckets needs a sequence of ΔR-1 values; use win_bucket for one")
    deltas = []
    for i, d in enumerate(delta_r1):
        if isinstance(d, bool) or not isinstance(d, (int, float)):
            try:
                d = float(d)  # numpy scalars
            except (TypeError, ValueError):
                raise MetricsError(f"ΔR-1 value {i} is not a number: {d!r}") from None
        if math.isnan(float(d)):
            raise MetricsError(f"ΔR-1 value {i} is NaN")
        deltas.append(round(float(d), 2))
    if not deltas:
        raise MetricsError("win_buckets got no ΔR-1 values")
    counts = Counter(win_bucket(d) for d in deltas)
    n = len(deltas)
    pct = {b: counts.get(b, 0) / n * 100.0 for b in BUCKETS}
    return {
        "n": n,
        "counts": {b: counts.get(b, 0) for b in BUCKETS},
        "pct": pct,
        "mean_delta_r1": sum(deltas) / n,
        "sde_total_pct": pct["big_win"] + pct["win"],
    }


# ---------------------------------------------------------------- uncertainty


def per_record_means(per_sample: pd.DataFrame, column: str) -> pd.Series:
    """Mean of ``column`` over the sampling seeds of each record, indexed by record id.

    A cell's mean over records and seeds equals the mean of these values when every record has
    the same seeds (:func:`dsl_llada.tables.score_samples` checks that), and the record, not the
    seed, is the unit a bootstrap resamples: seeds of one record are not independent draws of
    the benchmark.
    """
    if "id" not in per_sample.columns or column not in per_sample.columns:
        raise MetricsError(f"per-sample frame needs columns 'id' and {column!r}")
    if len(per_sample) == 0:
        raise MetricsError("per-sample frame is empty")
    return per_sample.groupby(per_sample["id"].astype(str), sort=True)[column].mean()


def bootstrap_ci(values: Sequence[float], n_boot: int, seed: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values`` (one value per record): ``n_boot``
    resamples of the records with replacement, from ``numpy.random.default_rng(seed)``."""
    import numpy as np

    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise MetricsError("bootstrap_ci needs a non-empty 1-D sequence of per-record values")
    if np.isnan(x).any():
        raise MetricsError("bootstrap_ci: a per-record value is NaN")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise MetricsError(f"bootstrap_ci: n_boot must be a positive int, got {n_boot!r}")
    if not 0 < level < 1:
        raise MetricsError(f"bootstrap_ci: level must be in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(n_boot, len(x)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def paired_bootstrap_ci(
    a: pd.Series, b: pd.Series, n_boot: int, seed: int, level: float = 0.95
) -> tuple[float, float, float]:
    """Mean of ``a - b`` over the records both score, with its paired percentile bootstrap CI
    (records resampled together, so what the two methods share per record cancels).
    ``a`` and ``b`` are per-record values indexed by record id (:func:`per_record_means`);
    different record sets are an error naming the first id that is in only one."""
    only = sorted(set(a.index) ^ set(b.index))
    if only:
        raise MetricsError(f"paired bootstrap: record {only[0]!r} is scored by only one of the two runs")
    diff = (a - b.reindex(a.index)).to_numpy(dtype=float)
    low, high = bootstrap_ci(diff, n_boot, seed, level)
    return float(diff.mean()), low, high
