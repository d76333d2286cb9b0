"""Autoregressive reference rows [protocol §3.7]: Qwen2.5-7B-Instruct and Llama-3.1-8B-Instruct
(a tiny causal LM trained here on the toy), greedy, on the summarisation records.

As the authors: chat template with the generation prompt, the rendered prompt tokenised with the
tokenizer's defaults and cut to 8,192 tokens, ``do_sample=False``, ``max_new_tokens`` = G, only the
new tokens decoded with ``skip_special_tokens=True``. Rows have the sampling shards' layout, so
score_samples, BERTScore and the tables read them unchanged (``nfe`` 0: no NFE budget).
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

from .io import atomic_write_text
from .records import load_records

log = logging.getLogger(__name__)


class ARError(ValueError):
    """An unusable AR model folder or setting; the message names the key or file."""


def load_causal_lm(model_dir: str | Path, dtype: str = "bfloat16"):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").exists():
        raise ARError(f"ar_references: {model_dir} has no config.json (not a model folder)")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    if tokenizer.chat_template is None:
        raise ARError(f"ar_references: the tokenizer in {model_dir} has no chat template")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=getattr(torch, dtype)).to(device).eval()
    return model, tokenizer


def ar_greedy(model, tokenizer, prompt: str, gen_length: int, max_prompt_tokens: int) -> dict:
    """One greedy AR generation [protocol §3.7]; returns text, new tokens and prompt length."""
    import torch

    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
    )
    # with the tokenizer's own specials, as the authors' eval_summarization_ar.py does [§3.7]: for
    # Llama-3.1, whose template already starts with <|begin_of_text|>, the prompt holds it twice
    full = tokenizer(rendered)["input_ids"]
    ids = full[:max_prompt_tokens]  # right truncation, as tokenizer(..., truncation=True, max_length=8192)
    pad = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.pad_token_id
    input_ids = torch.tensor([ids], device=model.device)
    with torch.no_grad():
        out = model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=gen_length,
            do_sample=False,
            pad_token_id=pad,
        )
    new = out[0, len(ids) :].tolist()
    return {
        "text": tokenizer.decode(new, skip_special_tokens=True).strip(),
        "tokens": new,
        "prompt_tokens": len(ids),
        "prompt_truncated": len(full) > max_prompt_tokens,
    }


def ar_sample_benchmarks(
    model_dir: str | Path,
    jobs: list[dict],
    *,
    method: str,
    shard: int,
    n_shards: int,
    max_prompt_tokens: int,
    dtype: str,
) -> dict:
    """Generate shard ``shard`` of every benchmark in ``jobs`` ({records, out, gen_length}) with
    one model load; each output is published atomically and resumes from ``<out>.progress.jsonl``."""
    from .generation import _read_progress, _row_key

    model, tokenizer = load_causal_lm(model_dir, dtype)
    stats = {}
    for job in jobs:
        out = Path(job["out"])
        progress_path = Path(f"{out}.progress.jsonl")
        done = _read_progress(progress_path)
        records = load_records(job["records"])
        mine = [(i, r) for i, r in enumerate(records) if i % n_shards == shard]
        with open(progress_path, "a", encoding="utf-8") as progress:
            for index, rec in mine:
                if _row_key(rec["id"], 0) in done:  # greedy: one seed index
                    continue
                gen = ar_greedy(model, tokenizer, rec["prompt"], job["gen_length"], max_prompt_tokens)
                row = {
                    "id": str(rec["id"]),
                    "index": index,
                    "method": method,
                    "nfe": 0,
                    "forward_passes": len(gen["tokens"]),
                    "seed": None,
                    **gen,
                    "text": " ".join(gen["text"].split()),
                }
                progress.write(json.dumps(row, ensure_ascii=False) + "\n")
                progress.flush()
                done[_row_key(row["id"], 0)] = row
        rows = [done[_row_key(r["id"], 0)] for _, r in mine]
        atomic_write_text(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        progress_path.unlink(missing_ok=True)
        stats[str(out)] = {"n": len(rows), "truncated_prompts": sum(r["prompt_truncated"] for r in rows)}
        log.info("%s: %s", out, stats[str(out)])
    return stats


def tiny_gpt2(tokenizer, arch: dict, n_positions: int, seed: int):
    """A seeded, randomly initialised GPT-2 of the toy arch over ``tokenizer`` (the toy stand-ins
    for the AR references and the GenPPL scorer)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=n_positions,
        n_embd=arch["hidden_size"],
        n_layer=arch["num_layers"],
        n_head=arch["num_heads"],
        n_inner=arch["intermediate_size"],
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GPT2LMHeadModel(config)


def train_tiny_gpt2(model, next_batch, steps: int, lr: float, seed: int) -> list[float]:
    """Train ``model`` for ``steps`` AdamW steps on ``next_batch()`` -> (ids, attention mask or None,
    labels) and leave it in eval mode; returns the losses. Dropout draws from torch's generator
    seeded with ``seed`` (the caller's global RNG state is restored), so a seed gives the same
    weights."""
    import torch

    model.train()
    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    losses = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(steps):
            ids, attention, labels = next_batch()
            loss = model(ids, attention_mask=attention, labels=labels).loss
            optim.zero_grad()
            loss.backward()
            optim.step()
            losses.append(float(loss.detach()))
    model.eval()
    return losses


def build_toy_causal_lm(
    data_dir: str | Path,
    tokenizer_dir: str | Path,
    out_dir: str | Path,
    *,
    arch: dict,
    steps: int,
    seed: int,
    batch: int,
    lr: float,
) -> dict:
    """The toy's stand-in for Qwen2.5-7B / Llama-3.1-8B: a tiny GPT-2 over the toy tokenizer (with
    its chat template), trained left to right on the toy base model's data (documents and
    chat-formatted instruction pairs; padding is not predicted), seeded."""
    import numpy as np
    import torch
    from transformers import AutoTokenizer

    from .backbone import TOY_SPECIAL_TOKENS
    from .data import TokenDataset

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    data = TokenDataset(data_dir)
    rng = random.Random(seed)
    model = tiny_gpt2(tokenizer, arch, max(arch["max_positions"], data.seq_len), seed)

    def next_batch():
        rows = [rng.randrange(len(data)) for _ in range(batch)]
        ids = torch.from_numpy(np.asarray(data.input_ids[rows], dtype=np.int64))
        if data.attention is not None:  # left padding of instruction examples is not predicted
            real = torch.from_numpy(np.asarray(data.attention[rows])).bool()
        else:
            real = ids != tokenizer.pad_token_id
        return ids, real.long(), ids.masked_fill(~real, -100)

    losses = train_tiny_gpt2(model, next_batch, steps, lr, seed)
    # stop at EoT (end of the answer turn) or EOS, as the instruct models' generation configs do
    model.generation_config.eos_token_id = [
        tokenizer.eos_token_id,
        tokenizer.convert_tokens_to_ids(TOY_SPECIAL_TOKENS["eot"]),
    ]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(out_dir))
    return {"steps": steps, "first_loss": losses[0], "last_loss": losses[-1]}
