"""Open-ended generation quality [protocol §6.2(d), §6.2(e), §6.3 item 2]: prompts, GenPPL,
adjacent-word repetition, Distinct-n and length, aggregated per (method, NFE).

The metrics follow the authors' definitions: texts are whitespace words; empty outputs are
left out; Distinct-n and repetition pool the n-grams / word transitions of all outputs; GenPPL is
exp(mean over outputs of the scorer's mean token NLL on each output's first 128 words).
"""

from __future__ import annotations

import json
import logging
import math
import random
from pathlib import Path

import pandas as pd

from .io import atomic_write_text

log = logging.getLogger(__name__)


class GenQualityError(ValueError):
    """Unusable prompts, samples or scorer; the message names the file, record or key."""


# --------------------------------------------------------------------------- prompts


def load_prompts(path: str | Path, n: int | None = None) -> list[dict]:
    """Prompt records {id, prompt, category?} (sde_prompts_200.json layout, or benchmark records),
    the first ``n`` of them in file order (all when ``n`` is None)."""
    path = Path(path)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GenQualityError(f"genquality.prompts: {path} does not exist") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise GenQualityError(f"{path}: not a UTF-8 JSON file ({err})") from None
    if not isinstance(records, list) or not records:
        raise GenQualityError(f"{path}: expected a non-empty JSON list of prompt records")
    out = []
    seen = set()
    for i, rec in enumerate(records[:n] if n else records):
        if not isinstance(rec, dict) or "id" not in rec:
            raise GenQualityError(f"{path}: record {i} has no field 'id'")
        prompt = rec.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise GenQualityError(f"{path}: record {i} (id {rec['id']}) has no non-empty 'prompt'")
        if str(rec["id"]) in seen:
            raise GenQualityError(f"{path}: record {i} repeats id {rec['id']}")
        seen.add(str(rec["id"]))
        out.append({"id": str(rec["id"]), "prompt": prompt, "category": str(rec.get("category", ""))})
    if n and len(out) < n:
        raise GenQualityError(f"genquality.n_prompts: {n} asked, {path} has only {len(out)} records")
    return out


def write_prompts(src: str | Path, out: str | Path, n: int | None = None) -> int:
    prompts = load_prompts(src, n)
    atomic_write_text(out, json.dumps(prompts, ensure_ascii=False, indent=1) + "\n")
    return len(prompts)


# --------------------------------------------------------------------------- text metrics


def _words(text: str) -> list[str]:
    return text.split()


def repetition_rate(texts: list[str]) -> float:
    """% of adjacent word transitions, pooled over all non-empty outputs, whose two words are
    identical ("the the") [protocol §6.2(e), note "rep"]."""
    total = repeats = 0
    for text in texts:
        words = _words(text)
        total += max(0, len(words) - 1)
        repeats += sum(a == b for a, b in zip(words, words[1:]))
    return 100.0 * repeats / total if total else 0.0


def distinct_n(texts: list[str], n: int) -> float:
    """Distinct-n: distinct word n-grams / all word n-grams, pooled over outputs [protocol §6.2(d)]."""
    grams = [tuple(w[i : i + n]) for w in map(_words, texts) for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def average_words(texts: list[str]) -> float:
    """Mean whitespace-word count of the non-empty outputs [protocol §6.2(e), "len"]."""
    return sum(len(_words(t)) for t in texts) / len(texts) if texts else 0.0


class PerplexityScorer:
    """A causal LM (GPT-2-large in the paper; a tiny GPT-2 built on the toy) scoring texts."""

    def __init__(self, model_dir: str | Path, device: str | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model_dir = Path(model_dir)
        if not (model_dir / "config.json").exists():
            raise GenQualityError(f"models.genppl: {model_dir} has no config.json (not a model folder)")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        self.model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).to(self.device).eval()
        self.max_tokens = int(getattr(self.model.config, "n_positions", 1024))

    def mean_nll(self, text: str) -> float | None:
        """Mean next-token NLL of ``text`` (no BOS added, as GPT-2's tokenizer does); None when it
        has fewer than two tokens (nothing to predict)."""
        import torch

        ids = self.tokenizer(text, add_special_tokens=False, truncation=True, max_length=self.max_tokens)["input_ids"]
        if len(ids) < 2:
            return None
        ids = torch.tensor([ids], device=self.device)
        with torch.no_grad():
            return float(self.model(ids, labels=ids).loss)


def gen_ppl(texts: list[str], scorer: PerplexityScorer, max_words: int) -> tuple[float | None, list]:
    """GenPPL = exp(mean over outputs of the mean token NLL of each output's first ``max_words``
    words) [protocol §6.2(e), "PPL"; §4.3]. Returns (GenPPL, per-output NLLs; None where an output
    is too short to score)."""
    nlls = [scorer.mean_nll(" ".join(_words(t)[:max_words])) if t.strip() else None for t in texts]
    scored = [x for x in nlls if x is not None]
    return (math.exp(sum(scored) / len(scored)) if scored else None), nlls


def read_samples(path: str | Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise GenQualityError(f"{path}: line {line_no} is not JSON ({err})") from None
            if not isinstance(row.get("text"), str):
                raise GenQualityError(f"{path}: line {line_no} (id {row.get('id', '?')}) has no 'text'")
            rows.append(row)
    if not rows:
        raise GenQualityError(f"{path}: no samples")
    return rows


def score_generation(
    runs: list[dict],
    scorer_dir: str | Path,
    out_csv: str | Path,
    out_samples_csv: str | Path,
    *,
    max_words: int,
    unreliable_repetition: float,
) -> pd.DataFrame:
    """One row per run ({method, nfe, samples}): GenPPL, Distinct-2/3, repetition %, average
    words, and ``ppl_unreliable`` where repetition exceeds ``unreliable_repetition`` % (looping
    text gets a low perplexity: the authors draw those points hollow [protocol §6.2(e)])."""
    scorer = PerplexityScorer(scorer_dir)
    rows, per_sample = [], []
    for run in runs:
        samples = read_samples(run["samples"])
        texts = [s["text"] for s in samples]
        valid = [t for t in texts if t.strip()]
        ppl, nlls = gen_ppl(valid, scorer, max_words)
        rep = repetition_rate(valid)
        rows.append(
            {
                "method": run["method"],
                "nfe": int(run["nfe"]),
                "n": len(texts),
                "n_valid": len(valid),
                "gen_ppl": ppl,
                "distinct2": distinct_n(valid, 2),
                "distinct3": distinct_n(valid, 3),
                "repetition_pct": rep,
                "avg_words": average_words(valid),
                "ppl_unreliable": bool(rep > unreliable_repetition),
            }
        )
        nll_of = iter(nlls)
        for s in samples:
            per_sample.append(
                {
                    "method": run["method"],
                    "nfe": int(run["nfe"]),
                    "id": s["id"],
                    "words": len(_words(s["text"])),
                    "repetition_pct": repetition_rate([s["text"]]),
                    "nll": next(nll_of) if s["text"].strip() else None,
                }
            )
        log.info("%s nfe%s: %s", run["method"], run["nfe"], rows[-1])
    frame = pd.DataFrame(rows)
    atomic_write_text(out_csv, frame.to_csv(index=False))
    atomic_write_text(out_samples_csv, pd.DataFrame(per_sample).to_csv(index=False))
    return frame


# --------------------------------------------------------------------------- toy scorer


def build_toy_scorer(
    corpus_jsonl: str | Path,
    tokenizer_dir: str | Path,
    out_dir: str | Path,
    *,
    arch: dict,
    steps: int,
    seed: int,
    seq_len: int,
    batch: int,
    lr: float,
) -> dict:
    """The toy's GPT-2-large stand-in: a tiny GPT-2 over the toy tokenizer, trained briefly (seeded)
    on the toy world's pre-training documents, saved as safetensors like a hub download; it is
    then read by the same :class:`PerplexityScorer` as GPT-2-large."""
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    docs = [json.loads(line)["text"] for line in Path(corpus_jsonl).read_text(encoding="utf-8").splitlines() if line]
    if not docs:
        raise GenQualityError(f"{corpus_jsonl}: no documents to train the toy scorer on")
    stream = [i for d in docs for i in tokenizer(d, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]]
    blocks = torch.tensor(stream[: len(stream) // seq_len * seq_len]).view(-1, seq_len)
    from .autoregressive import tiny_gpt2, train_tiny_gpt2

    rng = random.Random(seed)
    model = tiny_gpt2(tokenizer, arch, max(seq_len, arch["max_positions"]), seed)

    def next_batch():
        batch_ids = blocks[[rng.randrange(len(blocks)) for _ in range(batch)]]
        return batch_ids, None, batch_ids

    losses = train_tiny_gpt2(model, next_batch, steps, lr, seed)
    out_dir = Path(out_dir)
    model.save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(out_dir))
    return {"blocks": len(blocks), "steps": steps, "first_loss": losses[0], "last_loss": losses[-1]}
