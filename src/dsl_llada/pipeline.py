"""Stage entry points of the study, one per workflow rule family.

Each takes plain paths and dicts (what Snakemake passes through ``params:``), calls the
method's functions and publishes its outputs atomically. Nothing here imports snakemake.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from . import metrics as M
from . import robustness as R
from .backbone import build_toy_backbone, load_backbone
from .data import instruction_example, pack_blocks, write_token_dataset
from .dsl import DSL_CONFIG, load_dsl_model
from .generation import load_records
from .io import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)


class StageError(ValueError):
    """A stage cannot produce its output; the message names the file or record."""


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
                              out_dir, n_examples: int | None = None) -> dict:
    """Training examples of ``seq_len`` tokens: packed documents (all positions maskable) mixed
    with instruction pairs in the chat template (prompt clean, response + EoT + EOS maskable)."""
    backbone = load_backbone(tokenizer_dir)
    tok, special = backbone.tokenizer, backbone.special
    world = _read_world(world_dir)
    rng = np.random.default_rng(seed)
    examples, skipped = [], 0
    for pair in world.instructions:
        ex = instruction_example(tok, pair["prompt"], pair["response"], seq_len, special.eos, special.eot)
        if ex is None:
            skipped += 1
        else:
            examples.append(ex)
    n_inst = len(examples)
    n_docs = int(round(n_inst * (1 - instruction_fraction) / max(instruction_fraction, 1e-9)))
    if instruction_fraction == 0:
        examples, n_inst = [], 0
        n_docs = n_examples or len(world.pretrain_docs)
    streams = (tok(doc, add_special_tokens=False)["input_ids"] for doc in world.pretrain_docs)
    blocks = list(pack_blocks(streams, seq_len, special.eos, max_blocks=n_docs))
    examples += [(b, [1] * seq_len) for b in blocks]
    order = rng.permutation(len(examples))
    if n_examples:
        order = order[:n_examples]
    ids = np.array([examples[i][0] for i in order])
    maskable = np.array([examples[i][1] for i in order])
    meta = {"seq_len": seq_len, "instruction_examples": n_inst, "document_blocks": len(blocks),
            "skipped_too_long": skipped, "total": len(order)}
    write_token_dataset(out_dir, ids, maskable, meta)
    log.info("training data: %s", meta)
    return meta


def copy_toy_benchmark(world_dir, bench: str, out_path) -> None:
    records = load_records(Path(world_dir) / "benchmarks" / f"{bench}.json")
    atomic_write_json(out_path, records)


# ------------------------------------------------------------------ scoring and tables


def score_samples(shard_paths: list[str], records_path, thresholds: dict, out_json, out_csv, meta: dict) -> dict:
    """Merge shards, check every record is there exactly once, score per sample, aggregate.

    A shard file exists only once complete (atomic publish), and every record must be present,
    so a partial shard can never be scored as complete."""
    records = {str(r["id"]): r for r in load_records(records_path)}
    rows = {}
    for path in shard_paths:
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise StageError(f"{path}: line {n} is not valid JSON (a torn write?)") from None
            if row["id"] in rows:
                raise StageError(f"{path}: record {row['id']} appears in more than one shard")
            if row["id"] not in records:
                raise StageError(f"{path}: record {row['id']} is not in {records_path}")
            rows[row["id"]] = row
    missing = sorted(set(records) - set(rows))
    if missing:
        raise StageError(f"{len(missing)} records of {records_path} have no sample (first: {missing[0]})")
    ordered = [dict(rows[i], reference=records[i]["reference"]) for i in records]
    per_sample = M.score_records(ordered, thresholds, source=str(records_path))
    per_sample["forward_passes"] = [r["forward_passes"] for r in ordered]
    per_sample["prompt_truncated"] = [r["prompt_truncated"] for r in ordered]
    summary = {**meta, **M.aggregate(per_sample),
               "forward_passes": int(per_sample["forward_passes"].max()),
               "prompt_truncated": int(per_sample["prompt_truncated"].sum())}
    atomic_write_text(out_csv, per_sample.to_csv(index=False))
    atomic_write_json(out_json, summary)
    return summary


ROUGE_COLUMNS = ["benchmark", "method", "model", "sampler", "nfe", "forward_passes", "reference", "n", "rouge1",
                 "rouge2", "rougeL", "avg_words", "premature_pct", "repetition_pct", "degenerate_pct",
                 "degenerate_hero_pct", "empty_pct", "prompt_truncated"]


def make_rouge_tables(score_files: list[str], out_rouge, out_failures) -> pd.DataFrame:
    """results/tables/rouge.csv (one row per benchmark x method x NFE) and failure_modes.csv."""
    frame = pd.DataFrame([json.loads(Path(p).read_text()) for p in score_files])
    frame = frame.sort_values(["benchmark", "reference", "method", "nfe"]).reset_index(drop=True)
    for col in ("rouge1", "rouge2", "rougeL", "avg_words", "premature_pct", "repetition_pct", "degenerate_pct",
                "degenerate_hero_pct", "empty_pct"):
        frame[col] = frame[col].round(2)
    atomic_write_text(out_rouge, frame[ROUGE_COLUMNS].to_csv(index=False))
    failures = frame.melt(id_vars=["benchmark", "method", "nfe", "n"],
                          value_vars=["premature_pct", "repetition_pct", "degenerate_pct", "empty_pct"],
                          var_name="failure", value_name="pct")
    failures["failure"] = failures["failure"].str.replace("_pct", "")
    atomic_write_text(out_failures, failures.sort_values(["benchmark", "method", "nfe", "failure"]).to_csv(index=False))
    return frame


# ------------------------------------------------------------------ robustness


def load_discrete_backbone(model_dir):
    model_dir = Path(model_dir)
    if (model_dir / DSL_CONFIG).exists():
        return load_dsl_model(model_dir).backbone
    return load_backbone(model_dir)


def eval_robustness(model_dir, texts_path, cfg: dict, out_json, threads: int = 0) -> dict:
    """Random (10/30/50 %) and semantic (nearest wte neighbours) replacement, one forward pass
    of the discrete backbone, fix rate and clean-preserved rate [protocol §5.1-§5.2]."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    backbone = load_discrete_backbone(model_dir)
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
        neighbours = R.nearest_neighbours(backbone.input_embedding.weight.detach().float(), k=cfg.get("neighbours", 5))
    rows = []
    settings = [("random", r) for r in cfg["random_rates"]] + [("semantic", r) for r in cfg.get("semantic_rates", [])]
    for kind, rate in settings:
        cases = R.corruption_cases(cases_in, kind, rate, cfg.get("base_seed", 42), low, high, neighbours)
        res = R.evaluate_correction(logits_fn, [c["original"] for c in cases], [c["corrupted"] for c in cases],
                                    [c["positions"] for c in cases], cfg.get("batch_size", 32), backbone.special.pad,
                                    max_length=cfg.get("max_length", 256))
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


def make_robustness_table(result_files: dict[str, str], out_csv) -> pd.DataFrame:
    rows = []
    for model, path in sorted(result_files.items()):
        for row in json.loads(Path(path).read_text())["rows"]:
            rows.append({"model": model, **row})
    frame = pd.DataFrame(rows)
    for col in ("fix_rate", "clean_preserved", "selective"):
        frame[col] = frame[col].round(2)
    cols = ["model", "corruption", "rate", "fix_rate", "clean_preserved", "selective", "n", "n_corrupted_tokens",
            "n_truncated"]
    atomic_write_text(out_csv, frame[cols].to_csv(index=False))
    return frame
