"""Stage entry points of the study, one per workflow rule family.

Each takes plain paths and dicts (what Snakemake passes through ``params:``), calls the
method's functions and publishes its outputs atomically. Nothing here imports snakemake.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import robustness as R
from .backbone import build_toy_backbone, load_backbone
from .data import instruction_example, pack_blocks, write_token_dataset
from .dsl import load_discrete_backbone
from .records import load_records
from .errors import StageError
from .io import TRAIN_METRICS, atomic_write_json
from .settings import RobustnessSettings

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ toy world and models


def generate_toy_world(world: dict, out_dir: str | Path) -> dict:
    from .toyworld import make_world, write_world

    w = make_world(
        world["seed"],
        world["n_pretrain_docs"],
        world["n_train_per_task"],
        world["n_eval_per_task"],
        world["n_corruption_texts"],
    )
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


def _instruction_examples(pairs, tok, special, windows: dict[str, int], seq_len: int, world_dir):
    """The world's instruction pairs as training examples, and how many did not fit ``seq_len``."""
    examples, skipped = [], 0
    for pair in pairs:
        if pair["task"] not in windows:
            raise StageError(
                f"{world_dir}/instructions.jsonl: task {pair['task']!r} has no generation window "
                "(benchmarks.gen_length)"
            )
        window = windows[pair["task"]]
        ex = instruction_example(
            tok, pair["prompt"], pair["response"], window, seq_len, special.eos, special.eot, special.pad
        )
        if ex is None:
            skipped += 1
        else:
            examples.append(ex)
    return examples, skipped


def prepare_toy_training_data(
    world_dir,
    tokenizer_dir,
    seq_len: int,
    instruction_fraction: float,
    seed: int,
    out_dir,
    windows: dict[str, int],
    n_examples: int | None = None,
) -> dict:
    """Training examples of ``seq_len`` tokens: packed documents (all positions maskable) mixed
    with instruction pairs in the chat template (prompt clean; the task's generation window of
    response + EoT + EOS maskable; left padding under attention 0)."""
    backbone = load_backbone(tokenizer_dir)
    tok, special = backbone.tokenizer, backbone.special
    world = _read_world(world_dir)
    examples, skipped = [], 0
    if instruction_fraction > 0:
        examples, skipped = _instruction_examples(world.instructions, tok, special, windows, seq_len, world_dir)
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
    meta = {
        "seq_len": seq_len,
        "instruction_examples": n_inst,
        "document_blocks": len(blocks),
        "skipped_too_long": skipped,
        "total": len(order),
        "windows": windows,
    }
    write_token_dataset(out_dir, ids, maskable, meta, attention=attention)
    log.info("training data: %s", meta)
    return meta


def copy_toy_benchmark(world_dir, bench: str, out_path, n: int | None = None) -> None:
    """The world's test records of ``bench``; with ``n``, its first ``n`` (cheaper sampling on
    the same world, so the pinned toy base still fits it)."""
    path = Path(world_dir) / "benchmarks" / f"{bench}.json"
    records = load_records(path)
    if n is not None and n > len(records):
        raise StageError(f"benchmarks.n: {n} records asked, but {path} holds {len(records)} (world.n_eval_per_task)")
    atomic_write_json(out_path, records[:n])


# ------------------------------------------------------------------ robustness


def eval_robustness(
    model_dir, texts_path, cfg: RobustnessSettings, out_json, threads: int = 0, model=None, device="auto"
) -> dict:
    """Random (10/30/50 %) and semantic (nearest wte neighbours) replacement, one forward pass
    of the discrete backbone, fix rate and clean-preserved rate [protocol §5.1-§5.2]: rows with
    ``input`` ``wte``. A DSL checkpoint also gets the random rows with ``input`` ``converter``
    (the text read as fully revealed tokens through the converter; a diagnostic, not a paper
    number: it separates "the backbone never learned to keep clean tokens" from "the wte path is
    not what DSL training feeds").
    ``model``: an :class:`EvalModel` already loaded from ``model_dir`` (one load for all of §5);
    otherwise it is loaded on ``device`` (``auto``: the job's GPU if any). The forwards and the
    neighbour table run where the model is."""
    records = checked_texts(texts_path)  # before the model: a bad file fails in seconds, not after an 8B load
    model = model or load_eval_model(model_dir, threads, device)
    backbone = model.backbone
    tok = backbone.tokenizer
    cases_in = _text_tokens(records, texts_path, model.encode, len(tok))
    low, high = cfg.id_range or _word_id_range(tok)
    if high > len(tok):
        raise StageError(f"robustness.id_range: [{low}, {high}) goes beyond the model's vocabulary of {len(tok)} ids")
    neighbours = None
    if cfg.semantic_rates:
        # only the texts' own ids need neighbours (upstream computes them for these ids too); the
        # pool is still the whole vocabulary. All V rows would be a V x V search: minutes at 126k.
        text_ids = sorted({t for case in cases_in for t in case["tokens"]})
        neighbours = R.nearest_neighbours(
            backbone.input_embedding.weight.detach().float(), k=cfg.neighbours, candidate_ids=text_ids
        )
    inputs = [("wte", model.logits_fn)]
    if model.revealed_logits_fn is not None:
        inputs.append(("converter", model.revealed_logits_fn))
    rows = []
    settings = [("random", r) for r in cfg.random_rates] + [("semantic", r) for r in cfg.semantic_rates]
    for kind, rate in settings:
        cases = R.corruption_cases(cases_in, kind, rate, cfg.base_seed, low, high, neighbours)
        for input_name, logits_fn in inputs:
            if input_name == "converter" and kind != "random":
                continue
            res = R.evaluate_correction(
                logits_fn,
                [c["original"] for c in cases],
                [c["corrupted"] for c in cases],
                [c["positions"] for c in cases],
                cfg.batch_size,
                backbone.special.pad,
                max_length=cfg.max_length,
                device=model.device,
            )
            rows.append(_robustness_row(kind, rate, input_name, res, cases))
    out = {"id_range": [low, high], "rows": rows}
    atomic_write_json(out_json, out)
    return out


def _robustness_row(kind: str, rate: float, input_name: str, res: dict, cases: list[dict]) -> dict:
    """One row of results/robustness/<model>.json, in percent, with the per-text values the paired
    bootstraps of the claims table need."""
    row = {
        "corruption": kind,
        "rate": rate,
        "input": input_name,
        "fix_rate": res["fix_rate"] * 100,
        "clean_preserved": res["clean_preserved"] * 100,
        "selective": res["selective"] * 100,
        "n": res["n_texts"],
        "n_corrupted_tokens": res["n_corrupted_tokens"],
        "n_truncated": res["n_truncated"],
        "per_text": {
            "id": [c["id"] for c in cases],
            "fix_rate": res["per_text"]["fix_rate"],
            "clean_preserved": res["per_text"]["clean_preserved"],
        },
    }
    log.info(
        "%s %.0f%% (%s input): fix %.1f clean %.1f",
        kind,
        rate * 100,
        input_name,
        row["fix_rate"],
        row["clean_preserved"],
    )
    return row


def _word_id_range(tokenizer) -> tuple[int, int]:
    """Toy replacement ids: every non-special token (the paper uses [100, 126000))."""
    special = set(tokenizer.all_special_ids)
    ids = [i for i in range(len(tokenizer)) if i not in special]
    return min(ids), len(tokenizer)


# ------------------------------------------------------------------ correction suites and context robustness


class EvalModel(NamedTuple):
    """The discrete backbone of a model with its one-forward-pass argmax interface [protocol §5];
    for a DSL checkpoint also ``revealed_logits_fn``, the same forward with the text read through
    the converter as fully revealed tokens (a diagnostic beside the paper's test; else None)."""

    backbone: Any
    logits_fn: Any
    encode: Any
    device: Any
    revealed_logits_fn: Any = None


def load_eval_model(model_dir, threads: int = 0, device="auto") -> EvalModel:
    """Load a model once for every test of protocol §5 on ``device`` (``auto``: the job's GPU if
    any): ``logits_fn(ids, attention_mask)`` embeds through wte (no converter), as the paper does;
    ``encode(text)`` tokenises without special tokens."""
    import torch

    from .dsl import is_dsl_checkpoint, load_dsl_model
    from .placement import model_device, resolve_device

    if threads:
        torch.set_num_threads(threads)
    dsl = load_dsl_model(model_dir, device=resolve_device(device)) if is_dsl_checkpoint(model_dir) else None
    backbone = dsl.backbone if dsl is not None else load_discrete_backbone(model_dir, device=resolve_device(device))

    @torch.no_grad()
    def logits_fn(ids, mask):
        return backbone(input_ids=ids, attention_mask=mask).float()

    @torch.no_grad()
    def revealed_logits_fn(ids, mask):
        return backbone(inputs_embeds=dsl.embed_revealed(ids), attention_mask=mask).float()

    def encode(text: str) -> list[int]:
        return backbone.tokenizer(text, add_special_tokens=False)["input_ids"]

    return EvalModel(backbone, logits_fn, encode, model_device(backbone), revealed_logits_fn if dsl else None)


def checked_texts(texts_path) -> list[dict]:
    """The robustness texts, checked once (every field typed, ids unique; errors name the file and
    record) by :func:`dsl_llada.robustness.load_texts`; toy texts may have no ``tokens``."""
    try:
        return R.load_texts(texts_path, require_tokens=False)
    except (KeyError, TypeError, ValueError, FileNotFoundError) as err:
        raise StageError(err.args[0] if err.args else str(err)) from None


def _text_tokens(texts: list[dict], texts_path, encode, vocab: int) -> list[dict]:
    """Token ids of checked texts, inside the vocabulary; toy texts (no ``tokens``) are tokenised
    with ``encode``."""
    out = []
    for rec in texts:
        tokens = list(rec["tokens"]) if "tokens" in rec else encode(rec["text"])
        if not tokens:
            raise StageError(f"{texts_path}: record id {rec['id']} has no tokens")
        if max(tokens) >= vocab:
            raise StageError(
                f"{texts_path}: record id {rec['id']} has token id {max(tokens)}, outside the "
                f"model's vocabulary of {vocab} (tokens from another tokenizer?)"
            )
        out.append({"id": rec["id"], "tokens": tokens})
    return out


def build_toy_suites(world_dir, tokenizer_dir, sizes: dict, seed: int, out_dir) -> dict:
    """The toy's correction suites, same shape as the authors' files (see dsl_llada.toysuites)."""
    from . import toysuites as T
    from .toyworld import vocabulary

    world = _read_world(world_dir)
    tok = load_backbone(tokenizer_dir).tokenizer

    def encode(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    texts, unk = world.corruption_texts, tok.unk_token_id
    suites = {
        "semantic_corruption_manual.json": T.toy_manual_semantic(texts, encode, unk, sizes["manual"], seed),
        "correction_benchmark.json": T.toy_correction_benchmark(texts, encode, unk, sizes["benchmark"], seed + 1),
        "homophone_pairs.json": T.toy_homophone_pairs(
            texts, encode, unk, vocabulary(world), sizes["homophone"], seed + 2
        ),
    }
    for name, records in suites.items():
        if not records:
            raise StageError(f"toy suite {name}: no record could be built from {world_dir}/corruption_texts.json")
        atomic_write_json(Path(out_dir) / name, records)
    counts = {name: len(records) for name, records in suites.items()}
    log.info("toy correction suites: %s", counts)
    return counts


def _suite_rows(suite: str, res: dict, groups: dict[str, list]) -> list[dict]:
    rows = [
        {
            "suite": suite,
            "group_by": "all",
            "group": "all",
            "fix_rate": res["fix_rate"],
            "clean_preserved": res["clean_preserved"],
            "over_correct": res["over_correct"],
            "selective": res["selective"],
            "n_texts": res["n_texts"],
            "n_corrupted_tokens": res["n_corrupted_tokens"],
        }
    ]
    for group_by, labels in groups.items():
        for label, g in sorted(R.summarize_by_group(res, labels).items()):
            rows.append({"suite": suite, "group_by": group_by, "group": label, **g, "n_corrupted_tokens": None})
    return rows


def eval_correction_suites(
    model_dir,
    texts_path,
    suite_files: dict,
    cfg: RobustnessSettings,
    out_json,
    threads: int = 0,
    model=None,
    device="auto",
) -> dict:
    """Selective correction on the realistic suites [protocol §5.2 Manual, §5.3]: the manual semantic
    pairs (token level, by difficulty / category / corruption type), correction_benchmark_50 (text pairs
    aligned with difflib, by category / difficulty), noisy-edit spelling/OCR tokens at
    ``correction.noisy_edit_rate``,
    and homophone/OCR text pairs. One forward pass of the discrete backbone; fix, clean-preserved,
    over-correct and selective score (fix − over-correct), all in [0, 1]."""
    backbone, logits_fn, encode, device, *_ = model or load_eval_model(model_dir, threads, device)
    tok, pad = backbone.tokenizer, backbone.special.pad
    batch, max_len, seed = cfg.batch_size, cfg.max_length, cfg.base_seed

    def run(orig, corr, pos):
        return R.evaluate_correction(logits_fn, orig, corr, pos, batch, pad, max_length=max_len, device=device)

    rows, info = [], {}
    if suite_files.get("manual"):
        recs = R.load_manual_semantic(suite_files["manual"])
        res = run(
            [r["original_tokens"] for r in recs], [r["corrupted_tokens"] for r in recs], [r["positions"] for r in recs]
        )
        groups = {key: [r[key] for r in recs] for key in ("difficulty", "category", "corruption_type")}
        rows += _suite_rows("manual_semantic", res, groups)
        info["manual_semantic"] = {"records": len(recs)}
    if suite_files.get("benchmark"):
        recs = R.load_correction_benchmark(suite_files["benchmark"])
        res, cases, dropped = _run_text_pairs(run, recs, encode, max_len)
        groups = {key: [c[key] for c in cases] for key in ("category", "difficulty")}
        rows += _suite_rows("correction_benchmark", res, groups)
        skipped = sum(c["skipped_ops"] for c in cases)
        info["correction_benchmark"] = {"records": len(recs), "dropped": dropped, "skipped_diff_ops": skipped}
    if cfg.correction.noisy_edit_rate:
        texts = _text_tokens(checked_texts(texts_path), texts_path, encode, len(tok))
        cases = R.noisy_edit_cases(texts, encode, tok.decode, cfg.correction.noisy_edit_rate, seed)
        if not cases:
            raise StageError(f"{texts_path}: no text has a single-token spelling/OCR edit (noisy_edit)")
        res = run([c["original"] for c in cases], [c["corrupted"] for c in cases], [c["positions"] for c in cases])
        rows += _suite_rows("noisy_edit", res, {})
        info["noisy_edit"] = {"texts": len(texts), "cases": len(cases)}
    if suite_files.get("homophone"):
        pairs = json.loads(Path(suite_files["homophone"]).read_text(encoding="utf-8"))
        res, _, dropped = _run_text_pairs(run, pairs, encode, max_len)
        rows += _suite_rows("homophone_ocr", res, {})
        info["homophone_ocr"] = {"records": len(pairs), "dropped": dropped}
    for row in rows:
        log.info(
            "%s %s=%s: fix %.3f clean %.3f selective %.3f",
            row["suite"],
            row["group_by"],
            row["group"],
            row["fix_rate"],
            row["clean_preserved"],
            row["selective"],
        )
    out = {"rows": rows, "suites": info}
    atomic_write_json(out_json, out)
    return out


def _run_text_pairs(run, pairs, encode, max_len: int):
    """Text pairs aligned to token positions (difflib, equal-length replacements) and scored by
    ``run``: (result, cases, number of pairs dropped for having no such position)."""
    cases, dropped = R.text_pair_cases(pairs, encode, max_len)
    res = run([c["gold"] for c in cases], [c["corrupted_ids"] for c in cases], [c["positions"] for c in cases])
    return res, cases, dropped


def eval_context_robustness(
    model_dir, texts_path, cfg: RobustnessSettings, out_json, threads: int = 0, model=None, device="auto"
) -> dict:
    """T-context [protocol §5.4]: mask ``mask_rates`` of each text, corrupt ``corrupt_pcts`` % of the
    visible tokens with random ids, masked-token accuracy of one forward pass."""
    backbone, logits_fn, encode, device, *_ = model or load_eval_model(model_dir, threads, device)
    texts = [t["tokens"] for t in _text_tokens(checked_texts(texts_path), texts_path, encode, len(backbone.tokenizer))]
    low, high = cfg.id_range or _word_id_range(backbone.tokenizer)
    ctx = cfg.context
    rows = R.evaluate_context_robustness(
        logits_fn,
        texts,
        list(ctx.mask_rates),
        list(ctx.corrupt_pcts),
        cfg.base_seed,
        low,
        high,
        backbone.special.mask,
        cfg.batch_size,
        backbone.special.pad,
        max_length=cfg.max_length,
        min_length=ctx.min_length,
        device=device,
    )
    for row in rows:
        log.info(
            "mask %.0f%% corrupt %d%%: accuracy %.3f (%d masked)",
            row["mask_rate"] * 100,
            row["corrupt_pct"],
            row["accuracy"],
            row["n_masked"],
        )
    out = {"id_range": [low, high], "rows": rows}
    atomic_write_json(out_json, out)
    return out


# ------------------------------------------------------------------ pinned toy base


def export_model_artifact(model_dir, out_dir, lock_entry_path, provenance: dict) -> str:
    """Publish a trained model as a committable artifact: its files, ``provenance.json`` (how it
    was built) and ``manifest.sha256.json`` (sha256 of every file); ``lock_entry_path`` gets the
    lock entry that pins the folder (the sha256 of the manifest). Returns that sha256."""
    import shutil

    from .hub import ARTIFACT_MANIFEST, manifest_digest, write_manifest
    from .io import atomic_write_text, git_commit, package_versions

    src, out = Path(model_dir), Path(out_dir)
    tmp = out.with_name(f".{out.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for path in sorted(src.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            shutil.copyfile(path, tmp / path.name)
    metrics = json.loads((src / TRAIN_METRICS).read_text())
    record = {
        **provenance,
        "git_commit": git_commit(),
        "packages": package_versions(),
        "train_seconds_last_run": metrics.get("seconds"),
        "final_loss": metrics.get("final_loss"),
        "bytes": sum(p.stat().st_size for p in tmp.iterdir()),
    }
    atomic_write_text(tmp / "provenance.json", json.dumps(record, indent=1, sort_keys=True) + "\n")
    write_manifest(tmp, tmp / ARTIFACT_MANIFEST, root_label=".")  # the folder may be copied elsewhere
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    digest = manifest_digest(out)
    atomic_write_text(lock_entry_path, f"{out.as_posix()}:\n  manifest_sha256: {digest}\n")
    log.info(
        "artifact %s: %d files, %.2f MB, manifest sha256 %s",
        out,
        len(list(out.iterdir())),
        record["bytes"] / 1e6,
        digest,
    )
    return digest
