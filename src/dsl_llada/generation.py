"""Sampling shards: run one method on one benchmark shard, resumably, publishing atomically.

Each finished sample is appended to ``<out>.progress.jsonl`` (flushed and fsynced), so a
killed shard resumes where it stopped; the shard's output is written once, complete, by
rename. Batches are sized from a memory budget and outputs do not depend on the batch size.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .backbone import MaskPredictor
from .dsl import DSL_CONFIG, DSLModel, is_dsl_checkpoint, load_discrete_backbone, load_dsl_model
from .io import atomic_write_text
from .placement import resolve_device
from .records import RecordError, load_records  # noqa: F401  (re-exported)
from .errors import SamplerConfigError
from .prompts import chat_prompt_ids
from .sampling import SDE_BETA_SCALE, SDE_TOP_K, dsl_sde_generate, left_pad, remasking_generate
from .seeding import derived_seed

log = logging.getLogger(__name__)


@dataclass
class MethodSpec:
    """One sampling method of the study [protocol §3, §4.2]."""

    name: str
    model: str  # which model folder: base | mdm | dsl
    sampler: str  # remasking | sde
    block_length: int = 0  # 0 = one block of gen_length [§3.1]
    eos_inf: bool = False  # LLaDA+EOS+Block [§3.2]
    beta_scale: float = SDE_BETA_SCALE  # beta_inf = 2 x beta_train [§3.5]
    top_k: int = SDE_TOP_K
    eta: float | None = None  # None = adaptive by NFE [§3.5 item 6]
    schedule: str = "sensitive"
    seed_mode: str = "per_record"  # per_record | shared (the authors reseed 42 per prompt)

    @property
    def stochastic(self) -> bool:
        """Whether a sample depends on its seed: the SDE draws noise; LLaDA's low-confidence
        remasking is argmax decoding with a deterministic unmasking order [§3.1]."""
        return self.sampler == "sde"

    def __post_init__(self):
        if self.sampler not in ("remasking", "sde"):
            raise SamplerConfigError(f"sampling.methods.{self.name}.sampler must be 'remasking' or 'sde'")
        if self.seed_mode not in ("per_record", "shared"):
            raise SamplerConfigError(f"sampling.methods.{self.name}.seed_mode must be 'per_record' or 'shared'")


def load_model(
    model_dir: str | Path, sampler: str, device: str | torch.device | None = "auto"
) -> MaskPredictor | DSLModel:
    """The model a sampler needs, on ``device`` (``auto``: the job's GPU if it has one)."""
    model_dir = Path(model_dir)
    device = resolve_device(device)
    if sampler == "sde":
        if not is_dsl_checkpoint(model_dir):
            raise SamplerConfigError(
                f"{model_dir} is not a DSL checkpoint (no {DSL_CONFIG} and no noise_embed.weight in its "
                "*.safetensors): the SDE sampler needs the converter; give it the DSL model"
            )
        return load_dsl_model(model_dir, device=device)
    return load_discrete_backbone(model_dir, device=device)


def batch_size_for(
    prompt_tokens: int, gen_length: int, vocab: int, hidden: int, layers: int, budget_mb: float, max_batch: int
) -> int:
    """Samples per batch from a memory budget: per-sample bytes ~ sequence x (fp32 logits +
    softmax copies, plus activations). A rough, deliberately conservative estimate."""
    seq = prompt_tokens + gen_length
    per_sample = seq * (vocab * 4 * 3 + hidden * 4 * 12 * max(1, layers // 4))
    return max(1, min(max_batch, int(budget_mb * 2**20 // per_sample)))


def sample_shard(
    model: str | Path | MaskPredictor | DSLModel,
    records_path: str | Path,
    out_path: str | Path,
    *,
    method: MethodSpec,
    nfe: int,
    gen_length: int,
    shard: int,
    n_shards: int,
    seed: int,
    memory_budget_mb: float,
    max_batch: int,
    max_prompt_tokens: int | None = None,
    threads: int = 0,
    device: str | torch.device | None = "auto",
    n_seeds: int = 1,
    prompts_only: bool = False,
) -> dict:
    """Generate every record of shard ``shard`` (records i with i % n_shards == shard) with
    ``model`` (a folder, loaded on ``device``, or a model :func:`load_model` already loaded for
    this sampler, used where it is). ``prompts_only``: the records need no reference
    (open-ended generation prompts).

    A stochastic method runs ``n_seeds`` times, with sampling seeds ``seed``, ``seed + 1``, ...
    (one row per record and ``seed_index``); a deterministic one runs once (``seed_index`` 0),
    since every seed would give the same output."""
    if threads:
        torch.set_num_threads(threads)
    if not 0 <= shard < n_shards:
        raise SamplerConfigError(f"shard {shard} is outside 0..{n_shards - 1}")
    if n_seeds < 1:
        raise SamplerConfigError(f"sampling.n_seeds must be >= 1, got {n_seeds}")
    seed_indices = range(n_seeds if method.stochastic else 1)
    records = load_records(records_path, require_reference=not prompts_only)
    mine = [(i, r) for i, r in enumerate(records) if i % n_shards == shard]
    out_path = Path(out_path)
    progress_path = Path(f"{out_path}.progress.jsonl")
    done = _read_progress(progress_path)
    if isinstance(model, (str, Path)):
        model = load_model(model, method.sampler, device)
    backbone = model.backbone if isinstance(model, DSLModel) else model
    tokenizer = backbone.tokenizer
    if max_prompt_tokens is None:
        max_prompt_tokens = getattr(backbone.model.config, "max_position_embeddings", 4096) - gen_length

    prompts = [(index, rec, *chat_prompt_ids(tokenizer, rec["prompt"], max_prompt_tokens)) for index, rec in mine]
    pending = [(k, item) for k in seed_indices for item in prompts if _row_key(item[1]["id"], k) not in done]
    pending.sort(key=lambda item: (item[0], -len(item[1][2]), item[1][0]))  # per seed, similar lengths batch
    cfg = backbone.model.config
    layers = getattr(cfg, "num_hidden_layers", getattr(cfg, "n_layers", 32))

    def batch_size(prompt_len: int) -> int:
        return batch_size_for(
            prompt_len, gen_length, backbone.vocab_size, backbone.hidden_size, layers, memory_budget_mb, max_batch
        )

    total = len(mine) * len(seed_indices)
    with open(progress_path, "a", encoding="utf-8") as progress:
        for k, batch in _batches_of_pending(pending, batch_size, total, f"{method.name} nfe{nfe}"):
            for row in _generate_batch(model, backbone, batch, method, nfe, gen_length, seed + k):
                row["seed_index"] = k
                _append_durably(progress, row)
                done[_row_key(row["id"], k)] = row
    rows = [done[_row_key(rec["id"], k)] for k in seed_indices for _, rec in mine]
    atomic_write_text(out_path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    progress_path.unlink(missing_ok=True)
    return {
        "n": len(mine),
        "n_seeds": len(seed_indices),
        "truncated_prompts": sum(r["prompt_truncated"] for r in rows if r["seed_index"] == 0),
    }


def _batches_of_pending(pending, batch_size, total: int, desc: str):
    """Yield (seed index, batch) over ``pending`` (seed index, prompt) pairs: consecutive
    prompts of one seed, as many as ``batch_size(longest prompt)`` allows, with a progress bar."""
    from tqdm.auto import tqdm

    with tqdm(total=total, initial=total - len(pending), desc=desc, mininterval=2.0) as bar:
        start = 0
        while start < len(pending):
            k = pending[start][0]
            size = batch_size(len(pending[start][1][2]))
            batch = [item for seed_index, item in pending[start : start + size] if seed_index == k]
            start += len(batch)
            yield k, batch
            bar.update(len(batch))


def _append_durably(handle, row: dict) -> None:
    """One progress row, flushed and fsynced: a killed job resumes after the last written row."""
    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


def sample_sweep(
    model_dir: str | Path,
    records_path: str | Path,
    outputs: dict[int, str | Path],
    *,
    method: MethodSpec,
    device: str | torch.device | None = "auto",
    **shard_args,
) -> dict[int, dict]:
    """:func:`sample_shard` for several NFEs of one method (``outputs``: NFE -> file), loading
    the model once, on ``device``: an 8B load takes minutes, and each process start seconds
    even on the toy."""
    model = load_model(model_dir, method.sampler, device)
    return {
        nfe: sample_shard(model, records_path, out, method=method, nfe=nfe, **shard_args)
        for nfe, out in outputs.items()
    }


def _generate_batch(model, backbone, batch, method: MethodSpec, nfe, gen_length, seed):
    prompt_ids, prompt_mask = left_pad([ids for _, _, ids, _ in batch], backbone.special.pad)
    seeds = [seed if method.seed_mode == "shared" else derived_seed(seed, index) for index, _, _, _ in batch]
    if method.sampler == "sde":
        result = dsl_sde_generate(
            model,
            prompt_ids,
            prompt_mask,
            gen_length,
            nfe,
            seeds,
            beta_scale=method.beta_scale,
            top_k=method.top_k,
            eta=method.eta,
            schedule=method.schedule,
        )
    else:
        result = remasking_generate(
            backbone,
            prompt_ids,
            prompt_mask,
            gen_length,
            steps=nfe,
            block_length=method.block_length or gen_length,
            eos_inf=method.eos_inf,
        )
    texts = backbone.tokenizer.batch_decode(result.tokens, skip_special_tokens=True)
    for (index, rec, ids, truncated), tokens, text, sample_seed in zip(batch, result.tokens, texts, seeds):
        yield {
            "id": str(rec["id"]),
            "index": index,
            "method": method.name,
            "nfe": result.nfe,
            "forward_passes": result.forward_passes,
            "seed": sample_seed,
            "prompt_tokens": len(ids),
            "prompt_truncated": truncated,
            "text": " ".join(text.split()),
            "tokens": tokens.tolist(),
        }


def _row_key(record_id, seed_index: int) -> str:
    return f"{record_id}\t{seed_index}"


def _read_progress(path: Path) -> dict[str, dict]:
    """Finished samples from a previous, interrupted run; a torn last line is dropped."""
    done: dict[str, dict] = {}
    if not path.exists():
        return done
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            done[_row_key(row["id"], row.get("seed_index", 0))] = row
    # rewrite without a torn tail so appends start on a clean line
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in done.values()))
    return done
