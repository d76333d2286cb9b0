"""Noisy-state robustness ("selective correction"), protocol section 5.1-5.3.

Every test here is a *single forward pass* of the discrete backbone on token ids
(protocol section 5: embedding via ``wte``, no converter, no chat template, no BOS;
prediction = per-position argmax).  The backbone is abstracted as

    logits_fn(input_ids: LongTensor[B, L], attention_mask: LongTensor[B, L]) -> FloatTensor[B, L, V]

so the functions below run unchanged on an 8B checkpoint (GPU) and on the tiny
models and oracle predictors used by the unit tests (CPU).

Design choices (each one is also documented at the function that implements it):

* Corruption RNG (sections 5.1, 5.2) reproduces upstream ``eval_unified.py``
  ``corrupt_tokens_random`` / ``corrupt_tokens_semantic`` call for call:
  ``RandomState(seed)``; ``choice(len, n, replace=False)``; positions sorted; then,
  per position in ascending order, ``randint(id_low, id_high)`` redrawn until it
  differs from the original (random), or ``randint(0, n_neighbours)`` to pick a
  neighbour (semantic).
* ``n = max(1, int(len(tokens) * rate))``: the float product truncated exactly as
  upstream does.  This is the protocol's ``max(1, floor(len*rate))`` except where
  binary floating point rounds the product down (e.g. ``90 * 0.7 = 62.999...`` -> 62);
  we keep upstream's value.  For the paper's rates 0.1/0.3/0.5 the two agree for every
  length below 2000.
* Realistic text pairs (section 5.3) are aligned with ``difflib.SequenceMatcher``;
  the model always sees the *full* corrupted sequence.  ``equal`` spans are scored
  as clean, equal-length ``replace`` spans as corrupted, and every corrupted-side
  token of any other opcode (insert, delete, unequal replace) is *not scored*:
  its gold id is set to :data:`IGNORE_INDEX`.  Original-side tokens of a deletion
  have no position in the model input and are dropped.  This is upstream
  ``token_diff_positions`` exactly; :func:`skipped_diff_ops` counts the skipped opcodes.
* Manual semantic pairs (section 5.2 Manual) use :func:`differing_positions`:
  both id lists truncated to the shorter length, corrupted positions = where they differ.
* :func:`evaluate_correction` right-pads with ``pad_id`` and passes an attention
  mask that is 0 on padding; per-text numbers do not depend on the batch size.
  Texts longer than ``max_length`` are truncated (``n_truncated`` counts them);
  a text whose corrupted positions all fall beyond ``max_length`` is left out of
  the averages and counted in ``n_skipped`` (upstream drops pairs with no
  corruption).  A text without clean positions has clean_preserved 1.0 (upstream).
"""

from __future__ import annotations

import difflib
import json
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "IGNORE_INDEX",
    "PAPER_BASE_SEED",
    "PAPER_ID_LOW",
    "PAPER_ID_HIGH",
    "PAPER_RANDOM_RATES",
    "PAPER_SEMANTIC_RATES",
    "PAPER_TOP_K",
    "PAPER_MAX_LENGTH",
    "n_replacements",
    "random_replacement",
    "nearest_neighbours",
    "semantic_replacement",
    "corruption_cases",
    "differing_positions",
    "align_pair",
    "skipped_diff_ops",
    "evaluate_correction",
    "summarize_by_group",
    "load_texts",
    "load_manual_semantic",
    "load_correction_benchmark",
    "noisy_edits",
    "noisy_edit_cases",
    "text_pair_cases",
    "context_corruption",
    "evaluate_context_robustness",
]

#: Gold id meaning "this position of the model input is not scored" (section 5.3 alignment).
IGNORE_INDEX = -100
#: Section 5.1: ``RandomState(42 + text_id)``.
PAPER_BASE_SEED = 42
#: Section 5.1: replacement ids are uniform in ``[100, 126000)``.
PAPER_ID_LOW = 100
PAPER_ID_HIGH = 126000
#: Section 5.1 / 5.2 Auto rates.
PAPER_RANDOM_RATES = (0.1, 0.3, 0.5)
PAPER_SEMANTIC_RATES = (0.1, 0.3)
#: Section 5.2 Auto: top-5 cosine neighbours in ``wte``.
PAPER_TOP_K = 5
#: Section 5.3: ``max_length 256``.
PAPER_MAX_LENGTH = 256

LogitsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# ---------------------------------------------------------------------------
# Input checks shared by the rules
# ---------------------------------------------------------------------------


def _check_token_list(tokens: Sequence[int], what: str) -> list[int]:
    if isinstance(tokens, (torch.Tensor, np.ndarray)):
        if tokens.ndim != 1:
            raise ValueError(f"{what}: expected a 1-D list of token ids, got shape {tuple(tokens.shape)}")
        tokens = tokens.tolist()
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
        raise TypeError(f"{what}: expected a list of token ids, got {type(tokens).__name__}")
    out = []
    for i, t in enumerate(tokens):
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
            raise TypeError(f"{what}: token {i} is {t!r} ({type(t).__name__}), expected an int id")
        out.append(int(t))
    return out


def _check_rate(rate: float) -> float:
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not (0.0 < rate <= 1.0):
        raise ValueError(f"corruption rate must be a number in (0, 1], got {rate!r}")
    return float(rate)


def _check_id_range(id_low: int, id_high: int) -> None:
    if not (isinstance(id_low, (int, np.integer)) and isinstance(id_high, (int, np.integer))):
        raise TypeError(f"id range must be ints, got [{id_low!r}, {id_high!r})")
    if id_low < 0 or id_high - id_low < 2:
        raise ValueError(
            f"id range [{id_low}, {id_high}) must be non-negative and hold at least 2 ids "
            "so that a replacement different from the original always exists"
        )


# ---------------------------------------------------------------------------
# 5.1 Random token replacement
# ---------------------------------------------------------------------------


def n_replacements(n_tokens: int, rate: float) -> int:
    """Number of corrupted positions, protocol section 5.1: ``max(1, floor(n_tokens * rate))``.

    Computed as upstream does, ``max(1, int(n_tokens * rate))`` on the float product, so
    e.g. ``n_replacements(90, 0.7) == 62`` (``90 * 0.7 == 62.99999999999999``).  For the
    paper's rates 0.1, 0.3, 0.5 this equals the exact floor for every length below 2000.
    """
    if not isinstance(n_tokens, (int, np.integer)) or n_tokens < 1:
        raise ValueError(f"n_tokens must be a positive int, got {n_tokens!r}")
    return max(1, int(int(n_tokens) * _check_rate(rate)))


def _draw_positions(rng: np.random.RandomState, n_tokens: int, rate: float) -> list[int]:
    """First RNG call of both corruptions: ``sorted(rng.choice(n_tokens, n, replace=False))``."""
    n = n_replacements(n_tokens, rate)
    return sorted(int(p) for p in rng.choice(n_tokens, n, replace=False))


def _draw_random_id(rng: np.random.RandomState, original: int, id_low: int, id_high: int) -> int:
    """``rng.randint(id_low, id_high)``, redrawn until it differs from ``original``."""
    new = int(rng.randint(id_low, id_high))
    while new == original:
        new = int(rng.randint(id_low, id_high))
    return new


def _replacement_draw(what: str, tokens, rate: float, seed: int, id_low: int, id_high: int):
    """Checked tokens, the upstream ``RandomState(seed)`` and the positions it draws first
    (sorted): the common start of both replacement corruptions."""
    tokens = _check_token_list(tokens, f"{what} tokens")
    if not tokens:
        raise ValueError(f"{what}: empty token list")
    _check_id_range(id_low, id_high)
    rng = np.random.RandomState(seed)
    return tokens, rng, _draw_positions(rng, len(tokens), rate)


def random_replacement(
    tokens: Sequence[int], rate: float, seed: int, id_low: int, id_high: int
) -> tuple[list[int], list[int]]:
    """Random token replacement, protocol section 5.1.

    ``n = max(1, floor(len(tokens) * rate))`` positions (see :func:`n_replacements`) are
    drawn without replacement with ``np.random.RandomState(seed)``; each is replaced by a
    uniform id in ``[id_low, id_high)`` that differs from the original.  The paper uses
    ``seed = 42 + text_id`` and ``[100, 126000)``.

    RNG call order (upstream ``corrupt_tokens_random``): one
    ``rng.choice(len(tokens), n, replace=False)``; the positions are sorted ascending;
    then for each position in that order ``rng.randint(id_low, id_high)``, redrawn while
    it equals the original id.

    Returns ``(corrupted, positions)`` with ``positions`` sorted ascending.
    """
    tokens, rng, positions = _replacement_draw("random_replacement", tokens, rate, seed, id_low, id_high)
    corrupted = list(tokens)
    for pos in positions:
        corrupted[pos] = _draw_random_id(rng, tokens[pos], int(id_low), int(id_high))
    return corrupted, positions


# ---------------------------------------------------------------------------
# 5.2 Semantic corruption (auto)
# ---------------------------------------------------------------------------


@torch.no_grad()
def nearest_neighbours(
    embedding: torch.Tensor,
    k: int = PAPER_TOP_K,
    candidate_ids: Sequence[int] | None = None,
    chunk: int = 4096,
) -> torch.Tensor:
    """Top-k cosine neighbours in the token embedding table, protocol section 5.2 (Auto).

    ``embedding`` is the model's ``wte`` weight ``[V, d]`` (cast to float32, as upstream).
    Row ``i`` of the result holds the ``k`` ids with the highest cosine similarity to token
    ``i``, most similar first, with ``i`` itself excluded.  The similarity matrix is
    computed ``chunk`` query rows at a time (``chunk x V``), never ``V x V`` at once.

    ``candidate_ids``: compute neighbours only for these query ids (upstream computes them
    for the unique ids of the evaluated texts); the rows of all other ids are filled with
    ``-1``, which :func:`semantic_replacement` treats as "no valid neighbour".  The
    neighbour *pool* is always the whole vocabulary.

    Returns ``LongTensor[V, k]`` on the CPU.
    """
    if not isinstance(embedding, torch.Tensor) or embedding.dim() != 2:
        raise ValueError(
            f"nearest_neighbours: embedding must be a 2-D tensor [V, d], got "
            f"{getattr(embedding, 'shape', type(embedding).__name__)}"
        )
    vocab = embedding.shape[0]
    if not isinstance(k, int) or not (1 <= k <= vocab - 1):
        raise ValueError(f"nearest_neighbours: k must be an int in [1, V-1] = [1, {vocab - 1}], got {k!r}")
    if not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"nearest_neighbours: chunk must be a positive int, got {chunk!r}")
    if candidate_ids is None:
        queries = torch.arange(vocab)
    else:
        ids = _check_token_list(list(candidate_ids), "nearest_neighbours candidate_ids")
        bad = [i for i in ids if not (0 <= i < vocab)]
        if bad:
            raise ValueError(f"nearest_neighbours: candidate ids outside [0, {vocab}): {bad[:10]}")
        queries = torch.tensor(sorted(set(ids)), dtype=torch.long)

    normed = F.normalize(embedding.detach().float(), dim=-1)
    out = torch.full((vocab, k), -1, dtype=torch.long)
    queries_dev = queries.to(normed.device)
    for start in range(0, len(queries_dev), chunk):
        q = queries_dev[start : start + chunk]
        sims = normed[q] @ normed.T  # [chunk, V]
        sims[torch.arange(len(q), device=sims.device), q] = -math.inf  # exclude self
        out[q.cpu()] = sims.topk(k, dim=-1).indices.cpu()
    return out


def _neighbour_list(neighbours: Any, token: int) -> list[int]:
    """Valid neighbours of ``token``: ids >= 0 and != token, in stored order."""
    if isinstance(neighbours, torch.Tensor):
        if not (0 <= token < neighbours.shape[0]):
            return []
        row = neighbours[token].tolist()
    elif isinstance(neighbours, Mapping):
        row = neighbours.get(token, [])
    else:
        raise TypeError(
            "neighbours must be the LongTensor[V, k] from nearest_neighbours or a mapping "
            f"token id -> list of ids, got {type(neighbours).__name__}"
        )
    return [int(n) for n in row if int(n) >= 0 and int(n) != token]


def semantic_replacement(
    tokens: Sequence[int],
    rate: float,
    seed: int,
    neighbours: torch.Tensor | Mapping[int, Sequence[int]],
    id_low: int,
    id_high: int,
) -> tuple[list[int], list[int]]:
    """Semantic-neighbour replacement, protocol section 5.2 (Auto).

    Positions are drawn exactly as in :func:`random_replacement` (same seed -> same
    positions).  Each chosen token is replaced by a random one of its valid top-k
    neighbours (``neighbours`` from :func:`nearest_neighbours`; entries ``< 0`` or equal
    to the token are not valid).  A token without a valid neighbour gets a random id in
    ``[id_low, id_high)`` different from the original, as in section 5.1.

    RNG call order (upstream ``corrupt_tokens_semantic``): ``rng.choice`` for the
    positions, sorted; then per position in ascending order either one
    ``rng.randint(0, n_valid_neighbours)`` (index into the neighbour list, most similar
    first) or, without a neighbour, ``rng.randint(id_low, id_high)`` redrawn while equal
    to the original.

    Returns ``(corrupted, positions)`` with ``positions`` sorted ascending.
    """
    tokens, rng, positions = _replacement_draw("semantic_replacement", tokens, rate, seed, id_low, id_high)
    corrupted = list(tokens)
    for pos in positions:
        cands = _neighbour_list(neighbours, tokens[pos])
        if cands:
            corrupted[pos] = cands[int(rng.randint(0, len(cands)))]
        else:
            corrupted[pos] = _draw_random_id(rng, tokens[pos], int(id_low), int(id_high))
    return corrupted, positions


def corruption_cases(
    texts: Sequence[Mapping[str, Any]],
    kind: str,
    rate: float,
    base_seed: int,
    id_low: int,
    id_high: int,
    neighbours: torch.Tensor | Mapping[int, Sequence[int]] | None = None,
) -> list[dict[str, Any]]:
    """Corrupt every text with the per-text seed ``base_seed + id``, protocol sections 5.1 / 5.2.

    ``texts``: records with ``id`` (int) and ``tokens`` (e.g. from :func:`load_texts`).
    ``kind``: ``"random"`` (section 5.1) or ``"semantic"`` (section 5.2 Auto; needs
    ``neighbours``).  Returns ``[{"id", "original", "corrupted", "positions"}]`` in input order.
    """
    if kind not in ("random", "semantic"):
        raise ValueError(f"corruption_cases: kind must be 'random' or 'semantic', got {kind!r}")
    if kind == "semantic" and neighbours is None:
        raise ValueError("corruption_cases: kind='semantic' needs neighbours (from nearest_neighbours)")
    cases = []
    for i, rec in enumerate(texts):
        for key in ("id", "tokens"):
            if key not in rec:
                raise KeyError(f"corruption_cases: text {i} has no field {key!r}")
        tid = rec["id"]
        if isinstance(tid, bool) or not isinstance(tid, (int, np.integer)):
            raise TypeError(f"corruption_cases: text {i} id {tid!r} is not an int (seed = base_seed + id)")
        tokens = _check_token_list(rec["tokens"], f"corruption_cases text id {tid}")
        if not tokens:
            raise ValueError(f"corruption_cases: text id {tid} has an empty token list")
        seed = int(base_seed) + int(tid)
        if kind == "random":
            corrupted, positions = random_replacement(tokens, rate, seed, id_low, id_high)
        else:
            corrupted, positions = semantic_replacement(tokens, rate, seed, neighbours, id_low, id_high)
        cases.append({"id": tid, "original": tokens, "corrupted": corrupted, "positions": positions})
    return cases


# ---------------------------------------------------------------------------
# 5.2 Manual / 5.3 realistic: positions from text pairs
# ---------------------------------------------------------------------------


def differing_positions(
    original_ids: Sequence[int], corrupted_ids: Sequence[int]
) -> tuple[list[int], list[int], list[int]]:
    """Corrupted positions of a manual semantic pair, protocol section 5.2 (Manual).

    Both id lists are truncated to the shorter length; the corrupted positions are the
    indices where the truncated lists differ.  Returns
    ``(original_truncated, corrupted_truncated, positions)``, the same shape as
    :func:`align_pair`, ready for :func:`evaluate_correction`.
    """
    a = _check_token_list(original_ids, "differing_positions original_ids")
    b = _check_token_list(corrupted_ids, "differing_positions corrupted_ids")
    m = min(len(a), len(b))
    a, b = a[:m], b[:m]
    return a, b, [i for i in range(m) if a[i] != b[i]]


def _opcodes(a: list[int], b: list[int]):
    return difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def align_pair(original_ids: Sequence[int], corrupted_ids: Sequence[int]) -> tuple[list[int], list[int], list[int]]:
    """Align a realistic text pair, protocol section 5.3.

    ``difflib.SequenceMatcher(None, original, corrupted, autojunk=False)``; only
    equal-length ``replace`` opcodes count as corruptions.  Everything is expressed in
    the coordinates of the corrupted sequence, which is the model input and is returned
    unchanged.  The returned gold list has the same length:

    * ``equal`` span: gold = the (identical) original id -> scored as clean;
    * equal-length ``replace`` span: gold = the aligned original id, and the positions go
      to ``positions`` -> scored as corrupted;
    * ``insert`` span and unequal-length ``replace`` span: gold = :data:`IGNORE_INDEX`
      -> the token stays in the model input but is not scored;
    * ``delete`` span: the original tokens have no input position and are dropped.

    This is upstream ``token_diff_positions``; :func:`skipped_diff_ops` counts the
    opcodes that were not scored.  Returns ``(gold_aligned, corrupted, positions)``.
    """
    a = _check_token_list(original_ids, "align_pair original_ids")
    b = _check_token_list(corrupted_ids, "align_pair corrupted_ids")
    gold = [IGNORE_INDEX] * len(b)
    positions: list[int] = []
    for tag, i1, i2, j1, j2 in _opcodes(a, b):
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for oi, cj in zip(range(i1, i2), range(j1, j2)):
                gold[cj] = a[oi]
            if tag == "replace":
                positions.extend(range(j1, j2))
    return gold, list(b), positions


def skipped_diff_ops(original_ids: Sequence[int], corrupted_ids: Sequence[int]) -> int:
    """Number of opcodes :func:`align_pair` leaves unscored (insert, delete, unequal replace), section 5.3."""
    a = _check_token_list(original_ids, "skipped_diff_ops original_ids")
    b = _check_token_list(corrupted_ids, "skipped_diff_ops corrupted_ids")
    return sum(
        1 for tag, i1, i2, j1, j2 in _opcodes(a, b) if not (tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1))
    )


# ---------------------------------------------------------------------------
# Evaluation: one forward pass, argmax, fix / clean (section 5.1)
# ---------------------------------------------------------------------------


def _check_eval_text(i: int, gold: Any, inp: Any, pos: Any) -> tuple[list[int], list[int], list[int]]:
    gold = _check_token_list(gold, f"evaluate_correction text {i} originals")
    inp = _check_token_list(inp, f"evaluate_correction text {i} corrupted")
    pos = _check_token_list(pos, f"evaluate_correction text {i} positions")
    if not inp:
        raise ValueError(f"evaluate_correction: text {i} has an empty token list")
    if len(gold) != len(inp):
        raise ValueError(
            f"evaluate_correction: text {i}: originals has {len(gold)} tokens but corrupted has "
            f"{len(inp)}; align the pair first (align_pair / differing_positions)"
        )
    if not pos:
        raise ValueError(
            f"evaluate_correction: text {i} has no corrupted positions; drop such pairs before "
            "evaluation (upstream skips them)"
        )
    if len(set(pos)) != len(pos):
        raise ValueError(f"evaluate_correction: text {i} has repeated corrupted positions {pos}")
    bad = [p for p in pos if not (0 <= p < len(inp))]
    if bad:
        raise ValueError(f"evaluate_correction: text {i}: positions {bad} outside [0, {len(inp)})")
    unscored = [p for p in pos if gold[p] == IGNORE_INDEX]
    if unscored:
        raise ValueError(f"evaluate_correction: text {i}: corrupted positions {unscored} have gold IGNORE_INDEX")
    neg = [t for t in inp if t < 0]
    if neg:
        raise ValueError(f"evaluate_correction: text {i}: negative input ids {neg[:5]}")
    return gold, inp, pos


def _text_scores(pred: Sequence[int], gold: list[int], pos: list[int]) -> tuple[float, float, int]:
    """Per-text fix rate and clean-preserved rate, section 5.1.

    fix = fraction of corrupted positions with prediction == original; clean = fraction of
    the other scored positions (gold != IGNORE_INDEX) with prediction == original, 1.0 when
    there are none (upstream).  Returns ``(fix, clean, n_clean)``.
    """
    pos_set = set(pos)
    fix = sum(1 for p in pos if pred[p] == gold[p]) / len(pos)
    clean_pos = [i for i, g in enumerate(gold) if i not in pos_set and g != IGNORE_INDEX]
    clean = sum(1 for i in clean_pos if pred[i] == gold[i]) / len(clean_pos) if clean_pos else 1.0
    return fix, clean, len(clean_pos)


@torch.no_grad()
def _batched_argmax(
    logits_fn: LogitsFn, inputs: list[list[int]], batch_size: int, pad_id: int, device: Any
) -> list[list[int]]:
    """One forward pass per batch, right-padded with ``pad_id``, attention mask 0 on padding.

    Texts are batched in order of decreasing length (less padding); predictions are
    returned in input order, each cut to its text's length.
    """
    order = sorted(range(len(inputs)), key=lambda i: -len(inputs[i]))
    preds: list[list[int] | None] = [None] * len(inputs)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        width = max(len(inputs[i]) for i in idx)
        ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):
            ids[r, : len(inputs[i])] = torch.tensor(inputs[i], dtype=torch.long)
            mask[r, : len(inputs[i])] = 1
        logits = logits_fn(ids.to(device), mask.to(device))
        if not isinstance(logits, torch.Tensor) or logits.dim() != 3 or tuple(logits.shape[:2]) != (len(idx), width):
            raise ValueError(
                f"logits_fn must return a tensor [B, L, V] = [{len(idx)}, {width}, V], got "
                f"{getattr(logits, 'shape', type(logits).__name__)}"
            )
        top = logits.argmax(dim=-1).cpu()
        for r, i in enumerate(idx):
            preds[i] = top[r, : len(inputs[i])].tolist()
    return preds  # type: ignore[return-value]


def evaluate_correction(
    logits_fn: LogitsFn,
    originals: Sequence[Sequence[int]],
    corrupted: Sequence[Sequence[int]],
    positions: Sequence[Sequence[int]],
    batch_size: int,
    pad_id: int,
    max_length: int = PAPER_MAX_LENGTH,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Selective-correction metrics from one forward pass, protocol sections 5.1 and 5.3.

    For each text the *corrupted* ids are fed to ``logits_fn`` once (batched, right-padded
    with ``pad_id``, attention mask 0 on padding) and the per-position argmax is compared
    with ``originals``:

    * fix = fraction of the corrupted ``positions`` predicted == original;
    * clean = fraction of the other positions predicted == original (positions whose gold
      is :data:`IGNORE_INDEX`, see :func:`align_pair`, are not scored; 1.0 when none remain).

    Both are averaged per text, then over texts (section 5.1).  ``over_correct = 1 - clean``
    and ``selective = fix - over_correct`` are computed from those means (section 5.1,
    upstream ``eval_realistic_correction.py``).  Values are not rounded.

    Texts longer than ``max_length`` are truncated to it (counted in ``n_truncated``);
    corrupted positions beyond the cut are dropped, and a text left with none is excluded
    from the averages (counted in ``n_skipped``; its per-text entries are ``None``).

    Returns ``{"fix_rate", "clean_preserved", "over_correct", "selective", "n_texts"
    (texts averaged), "n_corrupted_tokens", "n_clean_tokens", "n_truncated", "n_skipped",
    "per_text": {"fix_rate", "clean_preserved", "n_corrupted", "n_clean", "truncated"}}``
    with one entry per input text in the per-text lists.
    """
    _check_correction_args(originals, corrupted, positions, batch_size, max_length, pad_id)
    golds, inputs, poss, truncated = _cut_texts(originals, corrupted, positions, max_length)
    keep = [i for i in range(len(inputs)) if poss[i]]
    preds = _batched_argmax(logits_fn, [inputs[i] for i in keep], batch_size, int(pad_id), device)
    per_text: dict[str, list[Any]] = {
        "fix_rate": [None] * len(inputs),
        "clean_preserved": [None] * len(inputs),
        "n_corrupted": [len(p) for p in poss],
        "n_clean": [None] * len(inputs),
        "truncated": truncated,
    }
    for i, pred in zip(keep, preds):
        per_text["fix_rate"][i], per_text["clean_preserved"][i], per_text["n_clean"][i] = _text_scores(
            pred, golds[i], poss[i]
        )
    return _correction_summary(per_text, keep)


def _check_correction_args(originals, corrupted, positions, batch_size, max_length, pad_id) -> None:
    """One entry per text in each list, and positive sizes; errors name the argument."""
    if not (len(originals) == len(corrupted) == len(positions)):
        raise ValueError(
            f"evaluate_correction: originals ({len(originals)}), corrupted ({len(corrupted)}) and "
            f"positions ({len(positions)}) must have one entry per text"
        )
    if not originals:
        raise ValueError("evaluate_correction: no texts given")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"evaluate_correction: batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"evaluate_correction: max_length must be a positive int, got {max_length!r}")
    if isinstance(pad_id, bool) or not isinstance(pad_id, (int, np.integer)) or pad_id < 0:
        raise ValueError(f"evaluate_correction: pad_id must be a non-negative int, got {pad_id!r}")


def _cut_texts(originals, corrupted, positions, max_length: int):
    """Checked texts cut to ``max_length``: (golds, inputs, sorted positions, truncated flags);
    corrupted positions beyond the cut are dropped."""
    golds, inputs, poss, truncated = [], [], [], []
    for i, (g, x, p) in enumerate(zip(originals, corrupted, positions)):
        g, x, p = _check_eval_text(i, g, x, p)
        cut = len(x) > max_length
        if cut:
            g, x, p = g[:max_length], x[:max_length], [q for q in p if q < max_length]
        golds.append(g)
        inputs.append(x)
        poss.append(sorted(p))
        truncated.append(cut)
    return golds, inputs, poss, truncated


def _correction_summary(per_text: dict[str, list[Any]], keep: list[int]) -> dict[str, Any]:
    """Means over the scored texts (``keep``) and the counts :func:`evaluate_correction` returns."""
    fix_mean = float(np.mean([per_text["fix_rate"][i] for i in keep])) if keep else float("nan")
    clean_mean = float(np.mean([per_text["clean_preserved"][i] for i in keep])) if keep else float("nan")
    over = 1.0 - clean_mean
    return {
        "fix_rate": fix_mean,
        "clean_preserved": clean_mean,
        "over_correct": over,
        "selective": fix_mean - over,
        "n_texts": len(keep),
        "n_corrupted_tokens": int(sum(per_text["n_corrupted"][i] for i in keep)),
        "n_clean_tokens": int(sum(per_text["n_clean"][i] for i in keep)),
        "n_truncated": int(sum(per_text["truncated"])),
        "n_skipped": len(per_text["truncated"]) - len(keep),
        "per_text": per_text,
    }


def summarize_by_group(result: Mapping[str, Any], labels: Sequence[Any]) -> dict[Any, dict[str, float]]:
    """Fix / clean / over-correct / selective per group, protocol section 5.2 (Manual).

    ``result`` comes from :func:`evaluate_correction`; ``labels`` gives one group label per
    input text (e.g. difficulty, category, corruption type).  Skipped texts are left out.
    Means are per text within the group, as in :func:`evaluate_correction`.
    """
    fixes = result["per_text"]["fix_rate"]
    cleans = result["per_text"]["clean_preserved"]
    if len(labels) != len(fixes):
        raise ValueError(f"summarize_by_group: {len(labels)} labels for {len(fixes)} texts")
    groups: dict[Any, list[int]] = {}
    for i, lab in enumerate(labels):
        if fixes[i] is not None:
            groups.setdefault(lab, []).append(i)
    out = {}
    for lab, idx in groups.items():
        fix = float(np.mean([fixes[i] for i in idx]))
        clean = float(np.mean([cleans[i] for i in idx]))
        out[lab] = {
            "fix_rate": fix,
            "clean_preserved": clean,
            "over_correct": 1.0 - clean,
            "selective": fix - (1.0 - clean),
            "n_texts": len(idx),
        }
    return out


# ---------------------------------------------------------------------------
# Loaders for the shipped eval_data files (section 7)
# ---------------------------------------------------------------------------


def _load_records(path: str | Path) -> tuple[Path, list[dict[str, Any]]]:
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, list) or not data:
        raise ValueError(f"{path}: expected a non-empty JSON list of records, got {type(data).__name__}")
    for i, rec in enumerate(data):
        if not isinstance(rec, dict):
            raise ValueError(f"{path}: record {i} is a {type(rec).__name__}, expected an object")
    return path, data


def _rid(rec: Mapping[str, Any], i: int) -> str:
    return f"id {rec['id']!r}" if "id" in rec else f"index {i} (no id)"


def _need(path: Path, rec: Mapping[str, Any], i: int, key: str, types: tuple[type, ...]) -> Any:
    if key not in rec:
        raise KeyError(f"{path}: record {_rid(rec, i)} has no field {key!r}")
    val = rec[key]
    if isinstance(val, bool) or not isinstance(val, types):
        raise TypeError(
            f"{path}: record {_rid(rec, i)} field {key!r} is {type(val).__name__}, "
            f"expected {'/'.join(t.__name__ for t in types)}"
        )
    return val


def _ids_field(
    path: Path,
    rec: Mapping[str, Any],
    i: int,
    key: str,
    container: Mapping[str, Any] | None = None,
    label: str | None = None,
) -> list[int]:
    src = rec if container is None else container
    name = key if label is None else label
    if key not in src:
        raise KeyError(f"{path}: record {_rid(rec, i)} has no field {name!r}")
    val = src[key]
    if not isinstance(val, list) or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in val):
        raise TypeError(f"{path}: record {_rid(rec, i)} field {name!r} must be a list of non-negative int token ids")
    if not val:
        raise ValueError(f"{path}: record {_rid(rec, i)} field {name!r} is empty")
    return list(val)


def _unique_ids(path: Path, records: list[dict[str, Any]]) -> None:
    seen: set[Any] = set()
    for r in records:
        if r["id"] in seen:
            raise ValueError(f"{path}: duplicate record id {r['id']!r}")
        seen.add(r["id"])


def load_texts(path: str | Path, require_tokens: bool = True) -> list[dict[str, Any]]:
    """Load ``texts_100.json`` (protocol sections 5.1 and 7): records ``{id, text, tokens, n_tokens}``.

    Checks every field is present and typed, ``tokens`` is a non-empty list of ids,
    ``n_tokens == len(tokens)`` and ids are unique; errors name the file, record id and field.
    With ``require_tokens=False`` a record may be ``{id, text}`` only (the toy world's texts,
    tokenised by the model's tokenizer); ``tokens``, when present, are checked as above.
    """
    path, data = _load_records(path)
    out = []
    for i, rec in enumerate(data):
        rid = _need(path, rec, i, "id", (int,))
        text = _need(path, rec, i, "text", (str,))
        if not require_tokens and "tokens" not in rec:
            if not text.strip():
                raise ValueError(f"{path}: record {_rid(rec, i)} field 'text' is empty")
            out.append({"id": rid, "text": text})
            continue
        tokens = _ids_field(path, rec, i, "tokens")
        n_tokens = _need(path, rec, i, "n_tokens", (int,))
        if n_tokens != len(tokens):
            raise ValueError(
                f"{path}: record id {rid!r} field 'n_tokens' is {n_tokens} but 'tokens' has {len(tokens)} ids"
            )
        out.append({"id": rid, "text": text, "tokens": tokens, "n_tokens": n_tokens})
    _unique_ids(path, out)
    return out


def load_manual_semantic(path: str | Path) -> list[dict[str, Any]]:
    """Load ``semantic_corruption_manual.json`` (protocol sections 5.2 Manual and 7).

    Uses the token-level ``token_annotation`` (LLaDA tokenizer, no special tokens):
    ``original_tokens`` and ``corrupted_tokens``.  ``positions`` is
    :func:`differing_positions` of the two lists; the record is rejected unless they
    have the annotated ``n_tokens`` length, differ exactly at ``corrupted_position``, and
    carry ``original_token_id`` / ``corrupted_token_id`` there.

    Returns records ``{id, original_text, corrupted_text, original_tokens,
    corrupted_tokens, positions, corrupted_position, category, difficulty,
    corruption_type, corruptions}`` (``corruption_type`` = the first corruption's type,
    as upstream).
    """
    path, data = _load_records(path)
    out = []
    for i, rec in enumerate(data):
        rid = _need(path, rec, i, "id", (int,))
        original_text = _need(path, rec, i, "original_text", (str,))
        corrupted_text = _need(path, rec, i, "corrupted_text", (str,))
        category = _need(path, rec, i, "category", (str,))
        difficulty = _need(path, rec, i, "difficulty", (str,))
        corruptions = _need(path, rec, i, "corruptions", (list,))
        if not corruptions or not isinstance(corruptions[0], dict) or "corruption_type" not in corruptions[0]:
            raise KeyError(f"{path}: record id {rid!r} field 'corruptions[0].corruption_type' is missing")
        orig, corr, cpos = _checked_token_annotation(path, rec, i, rid)
        out.append(
            {
                "id": rid,
                "original_text": original_text,
                "corrupted_text": corrupted_text,
                "original_tokens": orig,
                "corrupted_tokens": corr,
                "positions": [cpos],
                "corrupted_position": cpos,
                "category": category,
                "difficulty": difficulty,
                "corruption_type": corruptions[0]["corruption_type"],
                "corruptions": corruptions,
            }
        )
    _unique_ids(path, out)
    return out


def _checked_token_annotation(path: Path, rec: dict, i: int, rid) -> tuple[list[int], list[int], int]:
    """(original ids, corrupted ids, corrupted position) of a manual pair's ``token_annotation``,
    checked: both lists have ``n_tokens`` ids, differ exactly at ``corrupted_position``, and hold
    ``original_token_id`` / ``corrupted_token_id`` there."""
    ann = _need(path, rec, i, "token_annotation", (dict,))
    orig = _ids_field(path, rec, i, "original_tokens", ann, "token_annotation.original_tokens")
    corr = _ids_field(path, rec, i, "corrupted_tokens", ann, "token_annotation.corrupted_tokens")
    fields = {}
    for key in ("corrupted_position", "original_token_id", "corrupted_token_id", "n_tokens"):
        if key not in ann:
            raise KeyError(f"{path}: record id {rid!r} has no field 'token_annotation.{key}'")
        if isinstance(ann[key], bool) or not isinstance(ann[key], int):
            raise TypeError(f"{path}: record id {rid!r} field 'token_annotation.{key}' must be an int")
        fields[key] = ann[key]
    if not (len(orig) == len(corr) == fields["n_tokens"]):
        raise ValueError(
            f"{path}: record id {rid!r}: token_annotation lengths original_tokens={len(orig)}, "
            f"corrupted_tokens={len(corr)}, n_tokens={fields['n_tokens']} must agree"
        )
    _, _, positions = differing_positions(orig, corr)
    cpos = fields["corrupted_position"]
    if positions != [cpos]:
        raise ValueError(
            f"{path}: record id {rid!r}: token lists differ at {positions}, but "
            f"token_annotation.corrupted_position is {cpos}"
        )
    if orig[cpos] != fields["original_token_id"] or corr[cpos] != fields["corrupted_token_id"]:
        raise ValueError(
            f"{path}: record id {rid!r}: ids at corrupted_position {cpos} are {orig[cpos]}->{corr[cpos]}, "
            f"annotation says {fields['original_token_id']}->{fields['corrupted_token_id']}"
        )
    return orig, corr, cpos


def load_correction_benchmark(path: str | Path) -> list[dict[str, Any]]:
    """Load ``correction_benchmark_50.json`` (protocol sections 5.3 and 7).

    Returns string pairs ``{id, category, difficulty, original, corrupted}`` (plus
    ``error_positions`` / ``error_descriptions`` when present); the caller tokenises
    both strings and aligns them with :func:`align_pair`.  The two strings must be
    non-empty and different.
    """
    path, data = _load_records(path)
    out = []
    for i, rec in enumerate(data):
        rid = _need(path, rec, i, "id", (int,))
        item = {"id": rid}
        for key in ("category", "difficulty", "original", "corrupted"):
            item[key] = _need(path, rec, i, key, (str,))
        for key in ("original", "corrupted"):
            if not item[key].strip():
                raise ValueError(f"{path}: record id {rid!r} field {key!r} is empty")
        if item["original"] == item["corrupted"]:
            raise ValueError(f"{path}: record id {rid!r}: 'original' and 'corrupted' are identical")
        for key in ("error_positions", "error_descriptions"):
            if key in rec:
                item[key] = rec[key]
        out.append(item)
    _unique_ids(path, out)
    return out


# ---------------------------------------------------------------------------
# 5.3 Realistic suite: noisy edits and text pairs
# ---------------------------------------------------------------------------

#: Section 5.3: OCR confusions applied to a word (first occurrence).
OCR_SUBSTITUTIONS = (("rn", "m"), ("cl", "d"), ("vv", "w"), ("0", "O"), ("1", "l"))
_EDITABLE_WORD = re.compile(r"^[A-Za-z][A-Za-z-]{3,}$")


def noisy_edits(word: str) -> list[str]:
    """Spelling / OCR variants of ``word``, protocol section 5.3 ("noisy_edit").

    For a word of at least 4 letters: every deletion of one inner letter, every transposition
    of two adjacent inner letters (first and last letter kept), and each OCR confusion of
    :data:`OCR_SUBSTITUTIONS` that applies (first occurrence replaced). Variants equal to the
    word are dropped; order is deterministic. Shorter words have no variant.
    """
    if not isinstance(word, str):
        raise TypeError(f"noisy_edits: word must be a string, got {type(word).__name__}")
    if not _EDITABLE_WORD.match(word):
        return []
    out = [word[:i] + word[i + 1 :] for i in range(1, len(word) - 1)]
    out += [word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(1, len(word) - 2)]
    out += [word.replace(old, new, 1) for old, new in OCR_SUBSTITUTIONS if old in word]
    return [w for w in dict.fromkeys(out) if w != word]


def noisy_edit_cases(
    texts: Sequence[Mapping[str, Any]],
    encode: Callable[[str], list[int]],
    decode: Callable[[list[int]], str],
    rate: float,
    seed: int,
    tries: int = 8,
) -> list[dict[str, Any]]:
    """Token-level spelling/OCR corruption of ``texts``, protocol section 5.3 ("noisy_edit").

    Candidates are the tokens that decode to a word of >= 4 letters; ``max(1, int(n * rate))``
    of them are edited, in an order shuffled by one ``random.Random(seed)`` shared by all texts.
    A position gets a random :func:`noisy_edits` variant (up to ``tries`` draws), written with
    the token's leading whitespace, and is kept only if the variant re-tokenises (``encode``) to
    exactly one id that differs from the original, so fix / clean are scored exactly as for
    random replacement. Texts left without an edit are dropped.

    Returns ``[{"id", "original", "corrupted", "positions", "edits"}]``.
    """
    rate = _check_rate(rate)
    rng = random.Random(seed)
    cases = []
    for i, rec in enumerate(texts):
        tokens = _check_token_list(rec["tokens"], f"noisy_edit_cases text {rec.get('id', i)}")
        cands = [j for j, t in enumerate(tokens) if _EDITABLE_WORD.match(decode([t]).strip())]
        if not cands:
            continue
        target = max(1, int(len(cands) * rate))
        rng.shuffle(cands)
        corrupted, edits = list(tokens), []
        for j in cands:
            raw = decode([tokens[j]])
            word = raw.strip()
            lead = raw[: len(raw) - len(raw.lstrip())]
            variants = noisy_edits(word)
            for _ in range(tries if variants else 0):
                new = rng.choice(variants)
                ids = encode(lead + new)
                if len(ids) == 1 and ids[0] != tokens[j]:
                    corrupted[j] = int(ids[0])
                    edits.append({"position": j, "original": word, "edited": new})
                    break
            if len(edits) >= target:
                break
        if edits:
            cases.append(
                {
                    "id": rec["id"],
                    "original": tokens,
                    "corrupted": corrupted,
                    "positions": sorted(e["position"] for e in edits),
                    "edits": edits,
                }
            )
    return cases


def text_pair_cases(
    pairs: Sequence[Mapping[str, Any]], encode: Callable[[str], list[int]], max_length: int = PAPER_MAX_LENGTH
) -> tuple[list[dict[str, Any]], int]:
    """Tokenise ``{"id", "original", "corrupted"}`` string pairs and align them, protocol section 5.3.

    Each side is tokenised without special tokens and cut to ``max_length``; pairs shorter than 2
    tokens, or whose alignment (:func:`align_pair`) has no equal-length replacement, are dropped
    (upstream). Returns ``(cases, n_dropped)``; a case holds ``gold``, ``corrupted``,
    ``positions`` and ``skipped_ops`` (:func:`skipped_diff_ops`) next to the pair's own keys.
    """
    cases, dropped = [], 0
    for i, pair in enumerate(pairs):
        for key in ("id", "original", "corrupted"):
            if key not in pair:
                raise KeyError(f"text_pair_cases: pair {i} has no field {key!r}")
        a = encode(pair["original"])[:max_length]
        b = encode(pair["corrupted"])[:max_length]
        if len(a) < 2 or len(b) < 2:
            dropped += 1
            continue
        gold, corrupted, positions = align_pair(a, b)
        if not positions:
            dropped += 1
            continue
        cases.append(
            {
                **pair,
                "gold": gold,
                "corrupted_ids": corrupted,
                "positions": positions,
                "skipped_ops": skipped_diff_ops(a, b),
            }
        )
    return cases, dropped


# ---------------------------------------------------------------------------
# 5.4 Context robustness
# ---------------------------------------------------------------------------


def context_corruption(
    tokens: Sequence[int],
    mask_rate: float,
    corrupt_pct: int,
    base_seed: int,
    id_low: int,
    id_high: int,
    mask_id: int,
) -> tuple[list[int], list[int], list[int]]:
    """Mask some tokens and corrupt part of the visible rest, protocol section 5.4.

    ``RandomState(base_seed + L + int(100 * mask_rate) + corrupt_pct)``; ``max(1, int(L * mask_rate))``
    positions are masked (drawn without replacement, sorted); ``int(n_visible * corrupt_pct / 100)``
    of the visible positions get a uniform id in ``[id_low, id_high)`` (not redrawn when equal to the
    original, as upstream). Upstream drew those ids from the CUDA torch RNG, which a CPU run cannot
    reproduce; here they come from the same ``RandomState`` after the positions.

    Returns ``(model_input, masked_positions, corrupted_positions)``.
    """
    tokens = _check_token_list(tokens, "context_corruption tokens")
    mask_rate = _check_rate(mask_rate)
    if isinstance(corrupt_pct, bool) or not isinstance(corrupt_pct, (int, np.integer)) or not 0 <= corrupt_pct <= 100:
        raise ValueError(f"context_corruption: corrupt_pct must be an int percentage in [0, 100], got {corrupt_pct!r}")
    _check_id_range(id_low, id_high)
    n = len(tokens)
    rng = np.random.RandomState(int(base_seed) + n + int(mask_rate * 100) + int(corrupt_pct))
    masked = sorted(int(p) for p in rng.choice(n, max(1, int(n * mask_rate)), replace=False))
    masked_set = set(masked)
    visible = np.array([i for i in range(n) if i not in masked_set], dtype=np.int64)
    out = list(tokens)
    corrupted: list[int] = []
    n_corrupt = int(len(visible) * corrupt_pct / 100) if len(visible) else 0
    if n_corrupt > 0:
        corrupted = [int(p) for p in visible[rng.choice(len(visible), n_corrupt, replace=False)]]
        for pos, new in zip(corrupted, rng.randint(id_low, id_high, n_corrupt)):
            out[pos] = int(new)
    for pos in masked:
        out[pos] = int(mask_id)
    return out, masked, sorted(corrupted)


def evaluate_context_robustness(
    logits_fn: LogitsFn,
    texts: Sequence[Sequence[int]],
    mask_rates: Sequence[float],
    corrupt_pcts: Sequence[int],
    base_seed: int,
    id_low: int,
    id_high: int,
    mask_id: int,
    batch_size: int,
    pad_id: int,
    max_length: int = PAPER_MAX_LENGTH,
    min_length: int = 20,
    device: str | torch.device = "cpu",
) -> list[dict[str, Any]]:
    """Masked-token accuracy under corrupted visible context, protocol section 5.4 (``tab:context_robust``).

    Texts are cut to ``max_length`` tokens; texts shorter than ``min_length`` are skipped. For every
    (mask rate, corruption %) the inputs of :func:`context_corruption` go through one forward pass
    and the argmax at the masked positions is compared with the original ids; accuracy is pooled
    over all masked tokens (upstream: total correct / total masked). Returns one row per setting:
    ``{"mask_rate", "corrupt_pct", "accuracy", "n_masked", "n_texts"}``.
    """
    kept = [_check_token_list(t, f"evaluate_context_robustness text {i}")[:max_length] for i, t in enumerate(texts)]
    kept = [t for t in kept if len(t) >= min_length]
    if not kept:
        raise ValueError(f"evaluate_context_robustness: no text has >= {min_length} tokens")
    rows = []
    for mask_rate in mask_rates:
        for pct in corrupt_pcts:
            cases = [context_corruption(t, mask_rate, pct, base_seed, id_low, id_high, mask_id) for t in kept]
            preds = _batched_argmax(logits_fn, [c[0] for c in cases], batch_size, int(pad_id), device)
            correct = total = 0
            for gold, (_, masked, _), pred in zip(kept, cases, preds):
                correct += sum(1 for p in masked if pred[p] == gold[p])
                total += len(masked)
            rows.append(
                {
                    "mask_rate": float(mask_rate),
                    "corrupt_pct": int(pct),
                    "accuracy": correct / total,
                    "n_masked": total,
                    "n_texts": len(kept),
                }
            )
    return rows
