"""Continued pre-training with accelerate: DSL [protocol §2.2] and the MDM control [§2.3].

Preemption-safe: full state (model, optimizer, scheduler, RNG) is saved every ``save_every``
steps, on SIGTERM/SIGUSR1, and when the job's own time is nearly spent (``stop_after_seconds``);
a rerun resumes from the newest complete state. Batches and noise are pure functions of
(seed, step, global micro-batch index), so a resumed run is bitwise identical to an
uninterrupted one and the global batch, not the GPU count, defines the run.

Every saved state carries the run's fingerprint (:func:`run_fingerprint`: the settings that
shape the weights, the init model's and the data's content). A run resumes only from state with
its own fingerprint; other state (a changed config, model or data) is moved aside to
``<state_dir>.stale-<fingerprint>`` and the run starts fresh, so it never leaks into a result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .backbone import load_backbone
from .data import TokenDataset
from .io import TRAIN_METRICS
from .dsl import DSLConfig, DSLModel, configure_dsl_trainable
from .losses import dsl_training_loss, mdm_training_loss
from .seeding import derived_seed

log = logging.getLogger(__name__)
PREEMPTED_EXIT_CODE = 75  # EX_TEMPFAIL: state saved, rerun to resume
# written into the state folder when training stops itself for a rerun: `accelerate launch` exits
# 1 whatever its worker's code, so the job script maps "failed with this file" back to 75
STOPPED_MARKER = "stopped_for_rerun.json"
# the job's clock: the stop time counts from here (process start, near enough), not from the
# first step, because SLURM's time limit also counts the start-up and the model load
_PROCESS_START = time.monotonic()


class TrainConfigError(ValueError):
    """Inconsistent training settings; the message names the key."""


@dataclass
class TrainConfig:
    method: str  # "dsl" or "mdm"
    steps: int
    global_batch: int
    micro_batch: int
    lr: float
    warmup_steps: int
    # > 0: examples are drawn in runs of this many global batches sorted by length, so a batch of
    # left-padded instruction examples carries little padding (no effect on fixed-length blocks)
    group_by_length: int = 0
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8
    seed: int = 42
    save_every: int = 100
    keep_states: int = 2
    mixed_precision: str = "no"
    log_every: int = 10
    mdm_eps: float = 1e-3
    mdm_weighting: str = "elbo"  # "flat" only for the toy base model (see losses.mdm_loss)
    # > 0: the learning rate falls linearly to 0 over the last decay_steps steps (warm-up, stable,
    # decay); 0 keeps it constant after warm-up, as the paper [§2.2]
    decay_steps: int = 0
    converter_lr_scale: float = 1.0
    # Stop cleanly (state saved, exit 75) this many seconds after the process started: SLURM's
    # pre-limit signal cannot reach the job step through the executor plugin, so the job watches
    # its own clock. The CLI derives it from the job's runtime (see stop_after_seconds()).
    stop_after_seconds: float = 0.0
    # minutes of the job's runtime left for saving state and exiting (schema: train.stop_margin_minutes)
    stop_margin_minutes: float = 15.0
    freeze_output_head: bool = True  # DSL run only [§1.6]
    dsl: dict = field(default_factory=dict)  # DSLConfig fields
    snr: dict = field(default_factory=dict)  # sample_mixed_snr keyword arguments
    threads: int = 0

    def __post_init__(self):
        if self.method not in ("dsl", "mdm"):
            raise TrainConfigError(f"train.method must be 'dsl' or 'mdm', got {self.method!r}")
        for key in ("steps", "global_batch", "micro_batch"):
            if getattr(self, key) <= 0:
                raise TrainConfigError(f"train.{key} must be positive, got {getattr(self, key)}")
        self.adam_betas = tuple(self.adam_betas)
        if not 0 <= self.decay_steps <= self.steps - self.warmup_steps:
            raise TrainConfigError(f"train.decay_steps must be in 0..steps - warmup_steps, got {self.decay_steps}")


def gradient_accumulation_steps(global_batch: int, micro_batch: int, world_size: int) -> int:
    """GA = global_batch / (micro_batch * world_size); the global batch is fixed by config so
    results do not depend on how many GPUs ran them."""
    per_step = micro_batch * world_size
    if global_batch % per_step:
        raise TrainConfigError(
            f"train.global_batch {global_batch} is not divisible by micro_batch {micro_batch} x world size {world_size}"
        )
    return global_batch // per_step


def fill_deepspeed_config(accelerator, cfg: TrainConfig) -> None:
    """Fill the DeepSpeed config's ``auto`` batch and clipping values from the training section.

    accelerate fills ``train_micro_batch_size_per_gpu: auto`` only from a prepared DataLoader, and
    this loop prepares none (batches are drawn by :func:`batch_indices`), so ``prepare`` would refuse
    it; ``gradient_clipping: auto`` would become accelerate's 1.0 rather than ``train.grad_clip``.
    A number written in the DeepSpeed file must agree with the config (the error names both).
    """
    plugin = getattr(accelerator.state, "deepspeed_plugin", None)
    if plugin is None:
        return
    ds = plugin.deepspeed_config
    for key, want in (("train_micro_batch_size_per_gpu", cfg.micro_batch), ("gradient_clipping", cfg.grad_clip)):
        have = ds.get(key, "auto")
        if have == "auto":
            ds[key] = want
        elif float(have) != float(want):
            raise TrainConfigError(
                f"DeepSpeed config sets {key} = {have}, but the training config gives {want} "
                f'({"micro_batch" if key.startswith("train_micro") else "grad_clip"}); make them agree or use "auto"'
            )


def stop_after_seconds(runtime_minutes: float, margin_minutes: float) -> float:
    """Seconds after process start at which training saves state and exits: the job's runtime
    (what the rule requests after profile overrides, in minutes) minus the margin. 0 = no limit."""
    if runtime_minutes <= 0:
        return 0.0
    if margin_minutes < 0 or margin_minutes >= runtime_minutes:
        raise TrainConfigError(
            f"train.stop_margin_minutes {margin_minutes} must be >= 0 and smaller than the job's runtime "
            f"({runtime_minutes} min): training would have no time left"
        )
    return (runtime_minutes - margin_minutes) * 60.0


# TrainConfig fields that do not change the weights: a run may resume across changes of these
_NOT_IN_FINGERPRINT = ("stop_after_seconds", "stop_margin_minutes", "save_every", "keep_states", "log_every", "threads")
# files above this size are fingerprinted by size + sampled chunks (an 8B checkpoint is ~16 GB)
_FULL_HASH_BYTES = 256 * 2**20
_CHUNK_BYTES = 4 * 2**20


def _folder_digest(folder: str | Path) -> str:
    """Content digest of a folder: every file's relative path and size, and its bytes (files
    above 256 MiB: size plus 4 MiB at the start, middle and end, which cover the safetensors
    header and a sample of every shard, so a start-up on 8B weights stays quick)."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        size = file.stat().st_size
        digest.update(f"{file.relative_to(folder).as_posix()}\0{size}\0".encode())
        with open(file, "rb") as handle:
            if size <= _FULL_HASH_BYTES:
                for block in iter(lambda: handle.read(2**20), b""):
                    digest.update(block)
            else:
                for offset in (0, size // 2, size - _CHUNK_BYTES):
                    handle.seek(offset)
                    digest.update(handle.read(_CHUNK_BYTES))
    return digest.hexdigest()


def run_fingerprint(cfg: TrainConfig, init_dir: str | Path, data_dir: str | Path) -> str:
    """Hash of everything that shapes a run's weights: the training settings (method, seed, lr,
    batches, DSL/SNR settings, ...) and the content of the init model and of the data."""
    settings = {k: v for k, v in asdict(cfg).items() if k not in _NOT_IN_FINGERPRINT}
    identity = {"settings": settings, "init": _folder_digest(init_dir), "data": _folder_digest(data_dir)}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=list).encode()).hexdigest()


class EpochOrder:
    """The order in which examples are drawn: per epoch, a permutation seeded by (seed, epoch).

    With ``lengths`` and ``group`` > 0, each run of ``group`` global batches of that permutation
    is sorted by length, cut into global batches, and those batches are shuffled again (seeded):
    a batch holds examples of similar length, so little of it is padding, while the sequence of
    batches stays random. Either way the order is a pure function of its arguments, so a resumed
    or re-sharded run draws the same batches."""

    def __init__(self, seed: int, n_examples: int, global_batch: int, lengths=None, group: int = 0):
        self.seed, self.n, self.global_batch = seed, n_examples, global_batch
        self.lengths = None if lengths is None or group <= 0 else np.asarray(lengths)
        self.group = group
        self._cached: tuple[int, np.ndarray] | None = None

    def epoch(self, epoch: int) -> np.ndarray:
        if self._cached is None or self._cached[0] != epoch:
            rng = np.random.default_rng(derived_seed(self.seed, epoch))
            order = rng.permutation(self.n)
            if self.lengths is not None:
                run = self.group * self.global_batch
                runs = []
                for start in range(0, self.n, run):
                    chunk = order[start : start + run]
                    chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
                    batches = [chunk[i : i + self.global_batch] for i in range(0, len(chunk), self.global_batch)]
                    runs.extend(batches[i] for i in rng.permutation(len(batches)))
                order = np.concatenate(runs)
            self._cached = (epoch, order)
        return self._cached[1]


def batch_indices(
    step: int, micro: int, rank: int, world: int, cfg: TrainConfig, n_examples: int, order: EpochOrder | None = None
) -> list[int]:
    """Example indices for one micro-batch, walking ``order`` (default: plain per-epoch
    permutations) in global order, so any world size sees the same global batches."""
    order = order or EpochOrder(cfg.seed, n_examples, cfg.global_batch)
    start = step * cfg.global_batch + (micro * world + rank) * cfg.micro_batch
    out = []
    for position in range(start, start + cfg.micro_batch):
        epoch, offset = divmod(position, n_examples)
        out.append(int(order.epoch(epoch)[offset]))
    return out


class TrainingObjective(nn.Module):
    """Wraps the model so the loss is computed inside ``forward`` (DDP/DeepSpeed hooks see it)."""

    def __init__(self, model: nn.Module, cfg: TrainConfig):
        super().__init__()
        self.model = model
        self.cfg = cfg

    def forward(self, input_ids, maskable, attention_mask, noise_seed: int):
        gen = torch.Generator().manual_seed(noise_seed)
        if self.cfg.method == "dsl":
            return dsl_training_loss(self.model, input_ids, gen, self.cfg.snr, maskable, attention_mask)
        return mdm_training_loss(
            self.model, input_ids, gen, self.cfg.mdm_eps, maskable, attention_mask, self.cfg.mdm_weighting
        )


def build_model(cfg: TrainConfig, init_dir: str | Path) -> nn.Module:
    """Load the backbone; for DSL attach noise table + converter and freeze per §1.6."""
    backbone = load_backbone(init_dir)
    if cfg.method == "mdm":
        for p in backbone.parameters():  # the control trains every parameter [§1.6 ⚠ asymmetry]
            p.requires_grad_(True)
        return backbone
    model = DSLModel(backbone, DSLConfig(**cfg.dsl))
    configure_dsl_trainable(model)
    if not cfg.freeze_output_head:
        for p in backbone.output_head.parameters():
            p.requires_grad_(True)
    return model


def optimizer_groups(model: nn.Module, cfg: TrainConfig) -> list[dict]:
    """AdamW groups as HF Trainer: no decay on biases and norm weights (1-D); the converter may
    get a learning-rate multiplier (``DSL_CONVERTER_LR_SCALE``) [§1.6]."""
    groups: dict[tuple[bool, bool], list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        key = (param.ndim >= 2, name.startswith("converter."))
        groups.setdefault(key, []).append(param)
    return [
        {
            "params": params,
            "weight_decay": cfg.weight_decay if decay else 0.0,
            "lr": cfg.lr * (cfg.converter_lr_scale if converter else 1.0),
        }
        for (decay, converter), params in sorted(groups.items())
    ]


class _StopFlag:
    """Set by SIGTERM/SIGUSR1; checked between optimizer steps."""

    def __init__(self):
        self.signal: int | None = None
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            signal.signal(sig, self._handle)

    def _handle(self, signum, _frame):
        self.signal = signum


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Learning-rate multiplier at ``step``: linear warm-up, then constant (the paper's
    ``constant_with_warmup`` [§2.2]), then, with ``decay_steps`` > 0, linear decay to 0."""
    if step < cfg.warmup_steps:
        return step / cfg.warmup_steps  # as transformers' get_constant_schedule_with_warmup
    start = cfg.steps - cfg.decay_steps
    if cfg.decay_steps and step >= start:
        return max(0.0, (cfg.steps - step) / cfg.decay_steps)
    return 1.0


def learning_rate_schedule(optimizer, cfg: TrainConfig):
    from functools import partial

    return torch.optim.lr_scheduler.LambdaLR(optimizer, partial(lr_factor, cfg=cfg))


def latest_state(state_dir: Path, fingerprint: str | None = None) -> tuple[int, Path] | None:
    """(step, folder) of the newest complete state; with ``fingerprint``, only if it was saved by
    that run (else None)."""
    marker = state_dir / "latest.json"
    if not marker.exists():
        return None
    try:
        info = json.loads(marker.read_text())
        step, path = int(info["step"]), state_dir / info["dir"]
    except (ValueError, KeyError, TypeError):
        return None  # unreadable marker: treated as foreign state (moved aside by the caller)
    if fingerprint is not None and info.get("fingerprint") != fingerprint:
        return None
    return (step, path) if path.is_dir() else None


def stale_state_reason(state_dir: Path, fingerprint: str) -> str | None:
    """Why the state in ``state_dir`` must not be resumed by the run ``fingerprint`` (None: it may,
    or there is none)."""
    marker = state_dir / "latest.json"
    if not marker.exists():
        leftovers = [p.name for p in state_dir.glob("step_*")] if state_dir.is_dir() else []
        return f"state folders without a latest.json ({', '.join(sorted(leftovers))})" if leftovers else None
    try:
        info = json.loads(marker.read_text())
    except ValueError:
        return f"{marker} is not valid JSON"
    if not isinstance(info, dict) or "fingerprint" not in info:
        return "the state was saved without a run fingerprint (an older version)"
    if info["fingerprint"] != fingerprint:
        return (
            f"the state was saved by another run (fingerprint {str(info['fingerprint'])[:12]}, this run "
            f"{fingerprint[:12]}): its settings, init model or data differ"
        )
    if latest_state(state_dir, fingerprint) is None:
        return f"{marker} names a missing or unreadable state folder"
    return None


def set_aside_stale_state(state_dir: Path, reason: str) -> Path:
    """Move foreign state out of the way (kept for inspection; delete it when not needed)."""
    try:
        old = json.loads((state_dir / "latest.json").read_text()).get("fingerprint") or "unknown"
    except (OSError, ValueError, AttributeError):
        old = "unknown"
    aside = state_dir.with_name(f"{state_dir.name}.stale-{str(old)[:12]}")
    if aside.exists():
        shutil.rmtree(aside)
    os.replace(state_dir, aside)
    log.warning("not resuming %s: %s; moved it to %s and starting fresh", state_dir, reason, aside)
    return aside


def _save_state(accelerator, state_dir: Path, step: int, keep: int, history: list, fingerprint: str) -> None:
    """Save to a temp folder, then publish it by renaming and rewriting ``latest.json``, so a
    kill at any moment leaves the previous complete state in place."""
    name = f"step_{step:07d}"
    tmp = state_dir / f".{name}.tmp"
    if accelerator.is_main_process and tmp.exists():
        shutil.rmtree(tmp)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (tmp / "history.json").write_text(json.dumps(history))
        final = state_dir / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        marker_tmp = state_dir / "latest.json.tmp"
        marker_tmp.write_text(json.dumps({"step": step, "dir": name, "fingerprint": fingerprint}))
        os.replace(marker_tmp, state_dir / "latest.json")
        for old in sorted(state_dir.glob("step_*"))[:-keep]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()


def train(
    cfg: TrainConfig, init_dir: str | Path, data_dir: str | Path, out_dir: str | Path, state_dir: str | Path
) -> dict:
    """Run (or resume) a training run and publish the final model to ``out_dir`` atomically."""
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    accelerator, world, ga = _make_accelerator(cfg)
    set_seed(cfg.seed)
    data = TokenDataset(data_dir)
    order = EpochOrder(cfg.seed, len(data), cfg.global_batch, data.lengths(), cfg.group_by_length)
    model = build_model(cfg, init_dir)
    objective = TrainingObjective(model, cfg)
    optimizer = torch.optim.AdamW(optimizer_groups(model, cfg), lr=cfg.lr, betas=cfg.adam_betas, eps=cfg.adam_eps)
    scheduler = learning_rate_schedule(optimizer, cfg)
    objective, optimizer = accelerator.prepare(objective, optimizer)
    accelerator.register_for_checkpointing(scheduler)

    fingerprint = run_fingerprint(cfg, init_dir, data_dir)
    state_dir = Path(state_dir)
    start_step, history, path, fresh_reason = _prepare_state(accelerator, state_dir, fingerprint)
    if path is not None:
        accelerator.load_state(str(path))
        history = json.loads((path / "history.json").read_text())
        accelerator.print(f"resumed from {path} at step {start_step}")

    stop = _StopFlag()
    batches = _StepBatches(data, order, cfg, accelerator.process_index, world, ga, accelerator.device)
    t0 = time.perf_counter()
    bar = tqdm(
        range(start_step, cfg.steps),
        initial=start_step,
        total=cfg.steps,
        disable=not accelerator.is_main_process,
        desc=f"train {cfg.method}",
        mininterval=2.0,
    )
    for step in bar:
        mean_loss = _train_step(accelerator, objective, optimizer, batches, step, cfg)
        scheduler.step()
        history.append(mean_loss)
        if accelerator.is_main_process and (step % cfg.log_every == 0 or step == cfg.steps - 1):
            bar.set_postfix(loss=f"{mean_loss:.4f}")
            log.info("step %d loss %.5f lr %.3g", step + 1, mean_loss, scheduler.get_last_lr()[0])
        _save_or_stop(accelerator, cfg, stop, state_dir, step + 1, history, fingerprint)
    metrics = {
        "method": cfg.method,
        "steps": cfg.steps,
        "resumed_from_step": start_step,
        "fresh_start_reason": fresh_reason,
        "run_fingerprint": fingerprint,
        "world_size": world,
        "distributed_type": accelerator.distributed_type.value,
        "gradient_accumulation": ga,
        **_throughput(history, time.perf_counter() - t0, cfg.global_batch * data.seq_len * (cfg.steps - start_step)),
        "config": asdict(cfg),
    }
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        publish_model(accelerator.unwrap_model(objective).model, out_dir, metrics)
    accelerator.wait_for_everyone()
    accelerator.end_training()  # tear the process group down so every worker exits cleanly
    return metrics


def _make_accelerator(cfg: TrainConfig):
    """(Accelerator, world size, gradient-accumulation steps) for this launch."""
    from accelerate import Accelerator

    # The launcher (accelerate launch / torchrun / deepspeed) sets WORLD_SIZE; it is needed before
    # the Accelerator exists because the accumulation steps are a constructor argument.
    world = int(os.environ.get("WORLD_SIZE", "1"))
    ga = gradient_accumulation_steps(cfg.global_batch, cfg.micro_batch, world)
    # accelerate's own accumulation works the same under DDP, FSDP and DeepSpeed.
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, gradient_accumulation_steps=ga)
    if accelerator.num_processes != world:
        raise TrainConfigError(f"WORLD_SIZE says {world} processes but accelerate formed {accelerator.num_processes}")
    fill_deepspeed_config(accelerator, cfg)
    return accelerator, world, ga


@dataclass(frozen=True)
class _StepBatches:
    """This rank's micro-batches of one optimizer step, on the training device."""

    data: TokenDataset
    order: EpochOrder
    cfg: TrainConfig
    rank: int
    world: int
    ga: int
    device: torch.device

    def micro(self, step: int, micro: int):
        indices = batch_indices(step, micro, self.rank, self.world, self.cfg, len(self.data), self.order)
        return (None if t is None else t.to(self.device) for t in self.data.batch(indices))

    def seed(self, step: int, micro: int) -> int:
        """The noise seed of one micro-batch: distinct per step, micro-batch and rank."""
        return derived_seed(self.cfg.seed, step, micro * self.world + self.rank)


def _train_step(accelerator, objective, optimizer, batches: _StepBatches, step: int, cfg: TrainConfig) -> float:
    """One optimizer step over ``batches.ga`` micro-batches; returns the loss averaged over ranks."""
    objective.train()
    step_loss = torch.zeros((), device=batches.device)
    for micro in range(batches.ga):
        ids, maskable, attention = batches.micro(step, micro)
        with accelerator.accumulate(objective):
            loss = objective(ids, maskable, attention, batches.seed(step, micro))
            accelerator.backward(loss)  # scaled by 1/GA inside accelerate
            if accelerator.sync_gradients and cfg.grad_clip > 0:
                accelerator.clip_grad_norm_(objective.parameters(), cfg.grad_clip)
            optimizer.step()  # a no-op until the last micro-batch of the step
            optimizer.zero_grad(set_to_none=True)
        step_loss += loss.detach() / batches.ga
    return accelerator.reduce(step_loss, reduction="mean").item()


def _save_or_stop(accelerator, cfg: TrainConfig, stop, state_dir: Path, done: int, history, fingerprint) -> None:
    """Save the state every ``save_every`` steps; on a signal or the time limit, save it and exit
    with :data:`PREEMPTED_EXIT_CODE` so that the rerun resumes."""
    out_of_time = cfg.stop_after_seconds > 0 and time.monotonic() - _PROCESS_START > cfg.stop_after_seconds
    stopping = _any_rank(accelerator, stop.signal is not None or out_of_time)
    if stopping or (cfg.save_every and done % cfg.save_every == 0 and done < cfg.steps):
        _save_state(accelerator, state_dir, done, cfg.keep_states, history, fingerprint)
    if not stopping:
        return
    reason = "time limit reached" if out_of_time else f"signal {stop.signal} received"
    if accelerator.is_main_process:  # launchers turn exit 75 into 1: the job reads this
        (state_dir / STOPPED_MARKER).write_text(json.dumps({"step": done, "reason": reason}))
    accelerator.print(f"{reason}: state saved at step {done}; rerun to resume")
    accelerator.end_training()
    raise SystemExit(PREEMPTED_EXIT_CODE)


def _throughput(history: list[float], seconds: float, tokens: int) -> dict:
    """Loss and speed figures of this process (since the resume, if any)."""
    return {
        "loss_history": history,
        "final_loss": history[-1] if history else math.nan,
        "seconds": seconds,
        "tokens_per_second": tokens / max(seconds, 1e-9),
        "max_memory_allocated": torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None,
    }


def _prepare_state(accelerator, state_dir: Path, fingerprint: str):
    """(start step, history, state folder to load or None, why the run starts fresh or None).
    Foreign state is moved aside by the main process before any rank looks for state."""
    reason = None
    if accelerator.is_main_process:
        (state_dir / STOPPED_MARKER).unlink(missing_ok=True)
        reason = stale_state_reason(state_dir, fingerprint)
        if reason:
            set_aside_stale_state(state_dir, reason)
            accelerator.print(f"not resuming: {reason}; starting fresh")
        state_dir.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    resume = latest_state(state_dir, fingerprint)
    if resume is None:
        return 0, [], None, reason or "no saved state"
    return resume[0], [], resume[1], None


def publish_model(model, out_dir: str | Path, metrics: dict) -> None:
    """Write the model into a temp folder beside ``out_dir`` and rename it into place."""
    out = Path(out_dir)
    tmp = out.with_name(f".{out.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save(tmp)
    (tmp / TRAIN_METRICS).write_text(json.dumps(metrics, indent=1) + "\n")
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)


def _any_rank(accelerator, flag: bool) -> bool:
    if accelerator.num_processes == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=accelerator.device)
    return bool(accelerator.reduce(t, reduction="sum").item() > 0)
