"""Toy stand-ins for the authors' hand-made correction suites [protocol §5.2, §5.3].

The authors' files hold English sentences and LLaDA token ids; the toy world has its own closed
vocabulary, so the toy gets suites of the same shape, generated (seeded) from the toy world's
corruption texts with the toy tokenizer, and read by the same loaders and evaluation code:

* ``semantic_corruption_manual.json`` shape: one word swapped for another of its closed class
  (a first name, surname, place, weekday or number: the same-category and number swaps of §5.2),
  with the token-level ``token_annotation``;
* ``correction_benchmark_50.json`` shape: a text pair with one planted factual / numeric /
  temporal error (strings; aligned after tokenisation, §5.3);
* homophone/OCR pairs: a word replaced by the closest-spelled other word of the toy vocabulary
  (the toy's analogue of "form"/"from", "clock"/"dock").

Difficulty (the toy's own definition): ``easy`` when the swapped word also occurs elsewhere in the
text, so the context states the answer; ``hard`` when it does not.
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Callable, Sequence
from typing import Any

from .toyworld_lexicon import COSTS, COUNTS, DAYS, FIRST_NAMES, PERCENTS, PLACES, SMALL_WORDS, SURNAMES, WEEKS

__all__ = ["WORD_CLASSES", "toy_manual_semantic", "toy_correction_benchmark", "toy_homophone_pairs"]

#: Closed word classes of the toy world: class -> (category, corruption type, words).
WORD_CLASSES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "first_name": ("person", "same_category_swap", FIRST_NAMES),
    "surname": ("person", "same_category_swap", SURNAMES),
    "place": ("geography", "same_category_swap", PLACES),
    "day": ("temporal", "same_category_swap", DAYS),
    "small_number": ("math", "number_swap", SMALL_WORDS),
    "number": ("math", "number_swap", tuple(dict.fromkeys(COSTS + COUNTS + PERCENTS + WEEKS))),
}
_CLASS_OF = {w: name for name, (_, _, words) in WORD_CLASSES.items() for w in words}

Encode = Callable[[str], list[int]]


def _single_id(encode: Encode, word: str, unk_id: int) -> int | None:
    ids = encode(word)
    return ids[0] if len(ids) == 1 and ids[0] != unk_id else None


def _swaps(texts: Sequence[dict], encode: Encode, unk_id: int, seed: int):
    """(text, word index, new word) swaps inside a closed class, one per text, texts in a seeded order;
    the caller stops after the records it needs."""
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    for t in order:
        words = texts[t]["text"].split()
        slots = [i for i, w in enumerate(words) if w in _CLASS_OF]
        if not slots:
            continue
        i = rng.choice(slots)
        cls = _CLASS_OF[words[i]]
        options = [w for w in WORD_CLASSES[cls][2] if w != words[i] and _single_id(encode, w, unk_id) is not None]
        if options:
            yield texts[t], words, i, rng.choice(options)


def _difficulty(words: list[str], i: int) -> str:
    return "easy" if words.count(words[i]) > 1 else "hard"


def toy_manual_semantic(texts: Sequence[dict], encode: Encode, unk_id: int, n: int, seed: int) -> list[dict[str, Any]]:
    """Records shaped like ``semantic_corruption_manual.json`` [§5.2 Manual, §7] on the toy texts."""
    out = []
    for text, words, i, new in _swaps(texts, encode, unk_id, seed):
        if len(out) >= n:
            break
        corrupted = words[:i] + [new] + words[i + 1 :]
        orig_ids, corr_ids = encode(" ".join(words)), encode(" ".join(corrupted))
        diff = [k for k in range(min(len(orig_ids), len(corr_ids))) if orig_ids[k] != corr_ids[k]]
        if len(orig_ids) != len(corr_ids) or len(diff) != 1:
            continue  # the swap must change exactly one token (word-level toy tokenizer)
        pos = diff[0]
        category, ctype, _ = WORD_CLASSES[_CLASS_OF[words[i]]]
        out.append(
            {
                "id": len(out),
                "original_text": " ".join(words),
                "corrupted_text": " ".join(corrupted),
                "corruptions": [{"position_word": i, "original_word": words[i], "corruption_type": ctype}],
                "category": category,
                "difficulty": _difficulty(words, i),
                "token_annotation": {
                    "original_tokens": orig_ids,
                    "corrupted_tokens": corr_ids,
                    "corrupted_position": pos,
                    "original_token_id": orig_ids[pos],
                    "corrupted_token_id": corr_ids[pos],
                    "original_token_str": words[i],
                    "corrupted_token_str": new,
                    "n_tokens": len(orig_ids),
                },
                "original_id": text["id"],
            }
        )
    return out


def toy_correction_benchmark(
    texts: Sequence[dict], encode: Encode, unk_id: int, n: int, seed: int
) -> list[dict[str, Any]]:
    """Records shaped like ``correction_benchmark_50.json`` [§5.3, §7]: one planted error per text."""
    out = []
    for text, words, i, new in _swaps(texts, encode, unk_id, seed):
        if len(out) >= n:
            break
        category = WORD_CLASSES[_CLASS_OF[words[i]]][0]
        out.append(
            {
                "id": len(out) + 1,
                "category": category,
                "original": " ".join(words),
                "corrupted": " ".join(words[:i] + [new] + words[i + 1 :]),
                "error_positions": [i],
                "error_descriptions": [f"{words[i]} -> {new}"],
                "mask_positions": [i],
                "mask_answers": [words[i]],
                "difficulty": _difficulty(words, i),
            }
        )
    return out


def toy_homophone_pairs(
    texts: Sequence[dict],
    encode: Encode,
    unk_id: int,
    vocabulary: Sequence[str],
    n: int,
    seed: int,
    min_similarity: float = 0.6,
) -> list[dict[str, Any]]:
    """Homophone/OCR-style pairs [§5.3]: one word of >= 4 letters replaced by the closest-spelled other
    vocabulary word (``difflib`` ratio >= ``min_similarity``); ``{"id", "original", "corrupted", "category"}``."""
    alpha = [w for w in vocabulary if len(w) >= 4 and w.isalpha() and _single_id(encode, w, unk_id) is not None]
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    out = []
    for t in order:
        if len(out) >= n:
            break
        words = texts[t]["text"].split()
        slots = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
        rng.shuffle(slots)
        for i in slots:
            close = difflib.get_close_matches(words[i], [w for w in alpha if w != words[i]], n=3, cutoff=min_similarity)
            if close:
                corrupted = words[:i] + [rng.choice(close)] + words[i + 1 :]
                out.append(
                    {
                        "id": f"pair_{len(out)}",
                        "original": " ".join(words),
                        "corrupted": " ".join(corrupted),
                        "category": "spelling_ocr_homophone",
                    }
                )
                break
    return out
