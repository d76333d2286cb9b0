"""Stage entry points of the study, one per workflow rule family.

Each takes plain paths and dicts (what Snakemake passes through ``params:``), calls the
method's functions and publishes its outputs atomically. Nothing here imports snakemake.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from . import robustness as R
from .backbone import build_toy_backbone, load_backbone
from .data import instruction_example, pack_blocks, write_token_dataset
from .dsl import load_discrete_backbone
from .records import load_records
from .tables import StageError
from .io import atomic_write_json

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ toy world and models


def generate_toy_world(world: dict, out_dir: str | Path) -> dict:
    from .toyworld import make_world, write_world

    w = make_world(world["seed"], world["n_pretrain_docs"], world["n_train_per_task"], world["n_eval_per_task"],
                   world["n_corruption_texts"])
    files = write_world(w, out_dir)
    log.info("toy world written: %s", files)
    return files


def build_toy_init(world_dir: str | Path, arch: dict, seed: int, out_dir: str | Path) -> None:
    """Tokenizer over the toy vocabulary + a randomly initialised toy backbone."""
    from .toyworld import vocabulary

    words = vocabulary(_read_world(world_dir))
    backbone = build_toy_backbone(words, arch, seed)
    backbone.save(out_dir)
    n_params = sum(p.numel() for p in backbone.parameters())
    log.info("toy backbone: %d parameters, vocabulary %d", n_params, backbone.vocab_size)


def _read_world(world_dir):
    from .toyworld import ToyWorld

    world_dir = Path(world_dir)
    docs = [json.loads(line)["text"] for line in (world_dir / "corpus.jsonl").read_text().splitlines()]
    pairs = [json.loads(line) for line in (world_dir / "instructions.jsonl").read_text().splitlines()]
    benches = {p.stem: json.loads(p.read_text()) for p in sorted((world_dir / "benchmarks").glob("*.json"))}
    texts = json.loads((world_dir / "corruption_texts.json").read_text())
    return ToyWorld(pretrain_docs=docs, instructions=pairs, benchmarks=benches, corruption_texts=texts)


def prepare_toy_training_data(world_dir, tokenizer_dir, seq_len: int, instruction_fraction: float, seed: int,
                              out_dir, windows: dict[str, int], n_examples: int | None = None) -> dict:
    """Training examples of ``seq_len`` tokens: packed documents (all positions maskable) mixed
    with instruction pairs in the chat template (prompt clean; the task's generation window of
    response + EoT + EOS maskable; left padding under attention 0)."""
    backbone = load_backbone(tokenizer_dir)
    tok, special = backbone.tokenizer, backbone.special
    world = _read_world(world_dir)
    examples, skipped = [], 0
    if instruction_fraction > 0:
        for pair in world.instructions:
            if pair["task"] not in windows:
                raise StageError(f"{world_dir}/instructions.jsonl: task {pair['task']!r} has no generation window "
                                 "(benchmarks.gen_length)")
            ex = instruction_example(tok, pair["prompt"], pair["response"], windows[pair["task"]], seq_len,
                                     special.eos, special.eot, special.pad)
            if ex is None:
                skipped += 1
            else:
                examples.append(ex)
    n_inst = len(examples)
    if instruction_fraction > 0:
        n_docs = int(round(n_inst * (1 - instruction_fraction) / instruction_fraction))
    else:
        n_docs = n_examples or len(world.pretrain_docs)
    streams = (tok(doc, add_special_tokens=False)["input_ids"] for doc in world.pretrain_docs)
    blocks = list(pack_blocks(streams, seq_len, special.eos, max_blocks=n_docs))
    examples += [(b, [1] * seq_len, [1] * seq_len) for b in blocks]
    order = np.random.default_rng(seed).permutation(len(examples))
    if n_examples:
        order = order[:n_examples]
    ids, maskable, attention = (np.array([examples[i][k] for i in order]) for k in range(3))
    meta = {"seq_len": seq_len, "instruction_examples": n_inst, "document_blocks": len(blocks),
            "skipped_too_long": skipped, "total": len(order), "windows": windows}
    write_token_dataset(out_dir, ids, maskable, meta, attention=attention)
    log.info("training data: %s", meta)
    return meta


def copy_toy_benchmark(world_dir, bench: str, out_path) -> None:
    records = load_records(Path(world_dir) / "benchmarks" / f"{bench}.json")
    atomic_write_json(out_path, records)


# ------------------------------------------------------------------ robustness


def eval_robustness(model_dir, texts_path, cfg: dict, out_json, threads: int = 0, device="auto") -> dict:
    """Random (10/30/50 %) and semantic (nearest wte neighbours) replacement, one forward pass
    of the discrete backbone, fix rate and clean-preserved rate [protocol §5.1-§5.2]. The model,
    its forwards and the neighbour table run on ``device`` (``auto``: the job's GPU if any)."""
    import torch

    from .placement import model_device, resolve_device

    if threads:
        torch.set_num_threads(threads)
    backbone = load_discrete_backbone(model_dir, device=resolve_device(device))
    device = model_device(backbone)
    tok = backbone.tokenizer
    texts = json.loads(Path(texts_path).read_text(encoding="utf-8"))
    cases_in = []
    for rec in texts:
        if "tokens" in rec:
            tokens = list(rec["tokens"])
        else:  # toy texts: tokenise with the model's tokenizer (no special tokens, no BOS)
            tokens = tok(rec["text"], add_special_tokens=False)["input_ids"]
        if not tokens:
            raise StageError(f"{texts_path}: text {rec.get('id')} is empty")
        cases_in.append({"id": int(rec["id"]), "tokens": tokens})
    low, high = cfg.get("id_range") or _word_id_range(tok)

    @torch.no_grad()
    def logits_fn(ids, mask):
        return backbone(input_ids=ids, attention_mask=mask).float()

    neighbours = None
    if cfg.get("semantic_rates"):
        # only the texts' own ids need neighbours (upstream computes them for these ids too); the
        # pool is still the whole vocabulary. All V rows would be a V x V search: minutes at 126k.
        text_ids = sorted({t for case in cases_in for t in case["tokens"]})
        neighbours = R.nearest_neighbours(backbone.input_embedding.weight.detach().float(), k=cfg.get("neighbours", 5),
                                          candidate_ids=text_ids)
    rows = []
    settings = [("random", r) for r in cfg["random_rates"]] + [("semantic", r) for r in cfg.get("semantic_rates", [])]
    for kind, rate in settings:
        cases = R.corruption_cases(cases_in, kind, rate, cfg.get("base_seed", 42), low, high, neighbours)
        res = R.evaluate_correction(logits_fn, [c["original"] for c in cases], [c["corrupted"] for c in cases],
                                    [c["positions"] for c in cases], cfg.get("batch_size", 32), backbone.special.pad,
                                    max_length=cfg.get("max_length", 256), device=device)
        rows.append({"corruption": kind, "rate": rate, "fix_rate": res["fix_rate"] * 100,
                     "clean_preserved": res["clean_preserved"] * 100, "selective": res["selective"] * 100,
                     "n": res["n_texts"], "n_corrupted_tokens": res["n_corrupted_tokens"],
                     "n_truncated": res["n_truncated"]})
        log.info("%s %.0f%%: fix %.1f clean %.1f", kind, rate * 100, rows[-1]["fix_rate"], rows[-1]["clean_preserved"])
    out = {"id_range": [low, high], "rows": rows}
    atomic_write_json(out_json, out)
    return out


def _word_id_range(tokenizer) -> tuple[int, int]:
    """Toy replacement ids: every non-special token (the paper uses [100, 126000))."""
    special = set(tokenizer.all_special_ids)
    ids = [i for i in range(len(tokenizer)) if i not in special]
    return min(ids), len(tokenizer)
