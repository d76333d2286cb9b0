#!/usr/bin/env python
"""Training-step cost: P5 = DSL step time / MDM step time at the same batch and length.

Plain Python, no test runner. Prints ONE JSON object on stdout (progress goes to stderr).

A step is what ``training.train`` does per optimizer step with one micro-batch: the loss
(``losses.dsl_training_loss`` or ``losses.mdm_training_loss``), backward, gradient clipping,
AdamW step (the training code's parameter groups), zero_grad. Each method gets a freshly built
model from the same seed, trainable as in ``training.build_model``: the MDM control trains
every parameter; the DSL run trains blocks, norms and converter, with the output head, the
input embedding and the noise table frozen [protocol §1.6].

* CPU (default when CUDA is absent): the toy backbone of ``bench_sampler.py``.
* CUDA (default when present): ``--shape 8b``, our native LLaDA class with LLaDA-8B's
  dimensions in bf16 (random weights), AdamW on bf16 parameters.

Reported: median step time over ``--steps`` timed steps after ``--warmup`` steps, tokens/s, and
MFU = 6 * N * tokens/s / peak FLOP/s with N = backbone parameters without the input embedding
(lookups are not matmuls; attention's sequence-length term is not counted), the same N for both
methods so the two MFUs compare step times; peak from ``--peak-tflops`` (default 989: H100/H200
bf16 dense). MFU is reported on CUDA only. Target: P5 <= 1.25.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from bench_sampler import (  # noqa: E402
    LLADA_8B,
    LLADA_SPECIAL,
    TOY_ARCH,
    TOY_WORDS,
    attach_dsl,
    build_shaped_backbone,
    log,
    pick_device,
    random_ids,
    sync,
    versions,
)

from dsl_llada.backbone import build_toy_backbone, load_backbone  # noqa: E402
from dsl_llada.dsl import DSLConfig, configure_dsl_trainable  # noqa: E402
from dsl_llada.losses import dsl_training_loss, mdm_training_loss  # noqa: E402
from dsl_llada.training import TrainConfig, optimizer_groups  # noqa: E402

SNR_CFG = dict(roar_prob=0.1, mu=1.69, sigma=0.9, s_max=100.0, s_max_lognormal=40.0, roar_high_frac=0.8)


def build_backbone(args, device):
    if args.model:
        dtype = args.dtype or ("bfloat16" if device.type == "cuda" else "float32")
        return load_backbone(args.model, dtype=dtype).to(device)
    if args.shape == "8b":
        return build_shaped_backbone(LLADA_8B, LLADA_SPECIAL, device, torch.bfloat16, args.seed)
    return build_toy_backbone(TOY_WORDS, TOY_ARCH, args.seed).to(device)


def build_method(method: str, args, device):
    """The model, its AdamW optimizer and the loss closure, as ``training.train`` sets them up."""
    backbone = build_backbone(args, device)
    cfg = TrainConfig(
        method=method,
        steps=1,
        global_batch=args.batch,
        micro_batch=args.batch,
        lr=1e-5,
        warmup_steps=0,
        dsl={"noise_dim": args.noise_dim, "chunk_tokens": args.chunk_tokens},
    )
    if method == "mdm":
        model = backbone
        for p in model.parameters():
            p.requires_grad_(True)

        def loss_fn(ids, gen):
            return mdm_training_loss(model, ids, gen, cfg.mdm_eps)
    else:
        model = attach_dsl(backbone, DSLConfig(**cfg.dsl), device)
        configure_dsl_trainable(model)

        def loss_fn(ids, gen):
            return dsl_training_loss(model, ids, gen, SNR_CFG)

    model.train()
    optimizer = torch.optim.AdamW(optimizer_groups(model, cfg), lr=cfg.lr, betas=cfg.adam_betas, eps=cfg.adam_eps)
    return model, backbone, optimizer, loss_fn, cfg


def count(params) -> int:
    return sum(p.numel() for p in params)


class MethodRun:
    """One method's model, optimizer and step closure, with its timings."""

    def __init__(self, method: str, args, device, ids):
        self.method, self.device = method, device
        self.model, self.backbone, self.optimizer, self.loss_fn, self.cfg = build_method(method, args, device)
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.ids, self.seed = ids, args.seed
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.losses: list[float] = []

    def step(self, i: int, record: bool) -> None:
        sync(self.device)
        w0, c0 = time.perf_counter(), time.process_time()
        gen = torch.Generator().manual_seed(self.seed * 1000 + i)
        loss = self.loss_fn(self.ids, gen)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.trainable, self.cfg.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        sync(self.device)
        if record:
            self.wall.append(time.perf_counter() - w0)
            self.cpu.append(time.process_time() - c0)
        self.losses.append(float(loss.detach()))

    def summary(self) -> dict:
        out = {
            "step_s": statistics.median(self.wall),
            "step_s_repeats": self.wall,
            "trainable_params": count(self.trainable),
            "total_params": count(self.model.parameters()),
            "n_for_mfu": count(self.backbone.parameters()) - self.backbone.input_embedding.weight.numel(),
            "losses": self.losses,
        }
        if self.device.type == "cpu":
            out["step_s_cpu_time"] = statistics.median(self.cpu)
        return out

    def release(self) -> None:
        del self.model, self.backbone, self.optimizer, self.loss_fn, self.trainable
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def run_benchmark(args, device, ids) -> dict:
    """CPU: both models at once, steps interleaved (load drift on a shared CPU hits both alike).
    CUDA: one model at a time (two 8B models with AdamW states do not fit on one GPU)."""
    results = {}
    if device.type == "cuda":
        for method in ("mdm", "dsl"):
            run = MethodRun(method, args, device, ids)
            torch.cuda.reset_peak_memory_stats(device)
            for i in range(args.warmup + args.steps):
                run.step(i, record=i >= args.warmup)
            results[method] = run.summary()
            results[method]["max_memory_allocated_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
            run.release()
            log(f"{method}: {results[method]['step_s']:.3f} s/step")
        return results
    runs = [MethodRun(m, args, device, ids) for m in ("mdm", "dsl")]
    for i in range(args.warmup + args.steps):
        for run in runs:
            run.step(i, record=i >= args.warmup)
    for run in runs:
        results[run.method] = run.summary()
        log(
            f"{run.method}: {results[run.method]['step_s']:.3f} s/step (cpu {results[run.method]['step_s_cpu_time']:.3f})"
        )
    return results


def matmul_model(info: dict, seq_len: int, noise_dim: int) -> dict:
    """P5 if only matmuls cost time (per token; forward 1x, backward 2x for a trained weight,
    1x for a frozen one that still passes gradients on, 0x where nothing needs a gradient).
    MDM: blocks and head 3x. DSL: blocks 3x, frozen head 2x, converter z E^T 1x (E frozen, z
    needs no gradient; beta's gradient is elementwise), converter W p 3x."""
    from bench_sampler import trunk_macs_per_token

    vocab, h = info["vocab_size"], info["hidden_size"]
    trunk = trunk_macs_per_token(info, seq_len)
    head = h * vocab
    mdm = 3 * (trunk + head)
    dsl = 3 * trunk + 2 * head + vocab * noise_dim + 3 * (vocab + 1) * h
    return {"mdm_gmac_per_token": mdm / 1e9, "dsl_gmac_per_token": dsl / 1e9, "P5_matmul_only": dsl / mdm}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="a saved backbone folder (default: build --shape)")
    ap.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], help="dtype for --model")
    ap.add_argument(
        "--shape", choices=["auto", "toy", "8b"], default="auto", help="auto: 8b when the device is CUDA, toy otherwise"
    )
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (default 1: stable timings on a shared CPU)")
    ap.add_argument("--batch", type=int, default=None, help="default: 8 on CPU, 4 on CUDA")
    ap.add_argument("--seq-len", type=int, default=None, help="default: 256 on CPU, 1024 on CUDA")
    ap.add_argument("--steps", type=int, default=5, help="timed steps (median reported; at least 3)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--noise-dim", type=int, default=100)
    ap.add_argument("--chunk-tokens", type=int, default=0, help="DSLConfig.chunk_tokens for the DSL run")
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="peak dense bf16 TFLOP/s (H100/H200 SXM: 989)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    if args.steps < 3:
        ap.error("--steps must be at least 3 (the median of >= 3 steps is reported)")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = pick_device(args.device)
    if args.shape == "auto":
        args.shape = "8b" if device.type == "cuda" else "toy"
    cuda = device.type == "cuda"
    args.batch = args.batch or (4 if cuda else 8)
    args.seq_len = args.seq_len or (1024 if cuda else 256)
    if not cuda and args.threads:
        torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    if args.shape == "8b" and not args.model:  # no 16 GB model just to read its dimensions
        dims = LLADA_8B
        shape_info = {"shape": "8b (native LLaDA class, LLaDA-8B dimensions, random init)", "dtype": "bfloat16"}
        specials = set(LLADA_SPECIAL.as_dict().values())
    else:
        probe = build_backbone(args, device)
        cfg = probe.model.config
        dims = {
            "vocab_size": probe.vocab_size,
            "hidden_size": probe.hidden_size,
            "num_layers": int(cfg.num_hidden_layers),
            "intermediate_size": int(cfg.intermediate_size),
        }
        shape_info = {
            "shape": args.model or args.shape,
            "dtype": str(probe.input_embedding.weight.dtype).replace("torch.", ""),
        }
        specials = set(probe.special.as_dict().values())
        del probe
        gc.collect()
    shape_info.update({k: dims[k] for k in ("vocab_size", "hidden_size", "num_layers", "intermediate_size")})
    ids = random_ids(dims["vocab_size"], specials, args.batch, args.seq_len, args.seed).to(device)
    results = run_benchmark(args, device, ids)
    tokens = args.batch * args.seq_len
    for r in results.values():
        r["tokens_per_s"] = tokens / r["step_s"]
        if cuda:
            r["mfu"] = 6 * r["n_for_mfu"] * r["tokens_per_s"] / (args.peak_tflops * 1e12)
    report = {
        "benchmark": "train",
        "device": str(device),
        "model": shape_info,
        "versions": versions(device),
        "settings": {
            "batch": args.batch,
            "seq_len": args.seq_len,
            "tokens_per_step": tokens,
            "steps": args.steps,
            "warmup": args.warmup,
            "noise_dim": args.noise_dim,
            "chunk_tokens": args.chunk_tokens,
            "peak_tflops": args.peak_tflops if cuda else None,
            "threads": torch.get_num_threads() if not cuda else None,
        },
        "methods": results,
        "P5": results["dsl"]["step_s"] / results["mdm"]["step_s"],
        "matmul_model": matmul_model(shape_info, args.seq_len, args.noise_dim),
        "target": {"P5": "<= 1.25"},
    }
    if not cuda:
        report["P5_cpu_time"] = results["dsl"]["step_s_cpu_time"] / results["mdm"]["step_s_cpu_time"]
    report["wall_s"] = time.perf_counter() - t_start
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return report


if __name__ == "__main__":
    main()
