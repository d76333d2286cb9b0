#!/usr/bin/env python
"""Sampler performance: P1 (overhead per forward), P2 (batching), P3 (converter memory).

Plain Python, no test runner. Prints ONE JSON object on stdout (progress goes to stderr).

* CPU (default when CUDA is absent): the toy backbone (our native LLaDA class, ~1000-word
  vocabulary, hidden 96, 3 layers), or the model folder given by ``--model``.
* CUDA (default when present): ``--shape 8b``, a randomly initialised
  :class:`dsl_llada.llada.LLaDAModelLM` with LLaDA-8B's dimensions (hidden 4096, 32 layers,
  32 heads, intermediate 12288, vocabulary 126464) in bf16: the class that loads the real
  checkpoint, with random weights.

Definitions (all at a fixed prompt length + generation length, every prompt the same length):

* bare forward: one ``backbone(input_ids, attention_mask)`` over prompt + generation with the
  full logits, at the same batch; ``window forward`` is the same with the head applied to the
  generation window only (what the samplers now call).
* P1 = sampler wall time / (forward passes it made x one bare forward). Target <= 1.10.
  ``p1_vs_window_forward`` is the stricter ratio against window forwards (pure sampler
  overhead: commit step, converter, top-k, SDE arithmetic). Forwards and sampler runs are
  interleaved per repeat and the median of the per-repeat ratios is reported, so load drift on
  a shared machine moves both together.
* P2 = sampler samples/s at the batch ``generation.batch_size_for`` chooses from
  ``--budget-mb`` / best over batch sizes 1..max of B / (forward passes x bare forward(B)).
  Target >= 0.9. Also the gain over the sampler at batch 1 and whether the tokens of the
  first rows equal those of one-prompt-at-a-time runs.
* P3 = peak memory of the DSL converter (the (V+1)-way softmax) on the generation positions,
  with and without ``chunk_tokens``, as the batch grows; outputs compared exactly. On CUDA:
  ``torch.cuda.max_memory_allocated`` above the level before the call. On CPU: the peak of the
  running total of bytes allocated by PyTorch's CPU allocator during the call, above the level
  at its start, read from the profiler's allocation events (``profile_memory=True``): tensors'
  storage, including temporaries freed inside an op; not Python objects, not allocator caches.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

try:
    import dsl_llada  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dsl_llada.backbone import MaskPredictor, SpecialIds, build_toy_backbone, load_backbone  # noqa: E402
from dsl_llada.dsl import DSLConfig, DSLModel, load_dsl_model  # noqa: E402
from dsl_llada.generation import batch_size_for  # noqa: E402
from dsl_llada.sampling import dsl_sde_generate, remasking_generate  # noqa: E402

TOY_ARCH = dict(hidden_size=96, intermediate_size=288, num_layers=3, num_heads=4, max_positions=512)
TOY_WORDS = [f"w{i}" for i in range(990)]  # + 10 special/role tokens = a 1000-token vocabulary
# LLaDA-8B's dimensions and special ids (mask 126336, EOS 126081, EoT 126348) [protocol §1.6].
LLADA_8B = dict(
    vocab_size=126464,
    hidden_size=4096,
    intermediate_size=12288,
    num_layers=32,
    num_heads=32,
    max_positions=4096,
    rope_theta=500000.0,
    bos_token_id=126080,
)
LLADA_SPECIAL = SpecialIds(mask=126336, eos=126081, eot=126348, pad=126081)


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- setup


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def build_shaped_backbone(
    dims: dict, special: SpecialIds, device: torch.device, dtype: torch.dtype, seed: int = 0
) -> MaskPredictor:
    """A randomly initialised native LLaDA network of the given dimensions, built directly on
    ``device`` in ``dtype`` (no tokenizer: the benchmarks feed random ids)."""
    from dsl_llada.backbone import toy_llada_config
    from dsl_llada.llada import LLaDAModelLM

    config = toy_llada_config(dims, dims["vocab_size"], special)
    previous = torch.get_default_dtype()
    torch.manual_seed(seed)
    torch.set_default_dtype(dtype)
    try:
        try:  # initialise on the device itself: seconds for 8B on a GPU, minutes on CPU
            with torch.device(device):
                model = LLaDAModelLM(config)
        except RuntimeError as err:
            log(f"building on {device} failed ({err}); building on CPU and moving")
            model = LLaDAModelLM(config).to(device)
    finally:
        torch.set_default_dtype(previous)
    model.eval()
    return MaskPredictor(model, None, special, family="llada")


def attach_dsl(backbone: MaskPredictor, cfg: DSLConfig, device: torch.device) -> DSLModel:
    """A DSL model on the backbone, on ``device``. Built on CPU, then moved: the noise table is
    drawn from a seeded CPU generator, which cannot fill a tensor made on an accelerator."""
    return DSLModel(backbone, cfg).to(device)


def build_models(args, device: torch.device, need_dsl: bool = True) -> tuple[MaskPredictor, DSLModel | None, dict]:
    """The backbone (and a DSL model on it) for ``--model``/``--shape``."""
    if args.model:
        path = Path(args.model)
        dtype = args.dtype or ("bfloat16" if device.type == "cuda" else "float32")
        try:  # ours, or a released snapshot with the DSL tensors inside the shards
            dsl = load_dsl_model(path, dtype=dtype)
        except ValueError:
            dsl = None
        backbone = dsl.backbone if dsl is not None else load_backbone(path, dtype=dtype)
        backbone.to(device)
        if dsl is not None:
            dsl.to(device)
        elif need_dsl:  # a plain backbone: timing does not depend on the converter's weights
            dsl = attach_dsl(backbone, DSLConfig(noise_dim=args.noise_dim), device).eval()
        shape = f"model:{path}"
    elif args.shape == "8b":
        backbone = build_shaped_backbone(LLADA_8B, LLADA_SPECIAL, device, torch.bfloat16, args.seed)
        shape = "8b (native LLaDA class, LLaDA-8B dimensions, random init, bf16)"
        dsl = None
        if need_dsl:
            dsl = attach_dsl(backbone, DSLConfig(noise_dim=args.noise_dim), device).eval()
    else:
        backbone = build_toy_backbone(TOY_WORDS, TOY_ARCH, args.seed).to(device)
        shape = "toy (native LLaDA class, hidden 96, 3 layers, 4 heads, intermediate 288)"
        dsl = None
        if need_dsl:
            dsl = attach_dsl(backbone, DSLConfig(noise_dim=args.noise_dim), device).eval()
    cfg = backbone.model.config
    info = {
        "shape": shape,
        "family": backbone.family,
        "dtype": str(backbone.input_embedding.weight.dtype).replace("torch.", ""),
        "vocab_size": backbone.vocab_size,
        "hidden_size": backbone.hidden_size,
        "num_layers": int(getattr(cfg, "num_hidden_layers", getattr(cfg, "n_layers", 0))),
        "num_heads": int(getattr(cfg, "num_attention_heads", getattr(cfg, "n_heads", 0))),
        "intermediate_size": int(getattr(cfg, "intermediate_size", getattr(cfg, "mlp_hidden_size", 0))),
        "backbone_params": sum(p.numel() for p in backbone.parameters()),
        "noise_dim": None if dsl is None else int(dsl.noise_table.shape[1]),
    }
    return backbone, dsl, info


def random_prompts(backbone: MaskPredictor, batch: int, length: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random prompt ids (no special ids), all of one length, so no padding."""
    ids = random_ids(backbone.vocab_size, set(backbone.special.as_dict().values()), batch, length, seed)
    return ids, torch.ones_like(ids)


def random_ids(vocab: int, specials: set[int], batch: int, length: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (batch, length), generator=gen)
    for sid in specials:  # move special ids to an ordinary neighbour
        step = 1
        while (ids == sid).any():
            ids = torch.where(ids == sid, (ids + step) % vocab, ids)
            step += 1
    return ids


def versions(device: torch.device) -> dict:
    import transformers

    out = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "dsl_llada": getattr(sys.modules.get("dsl_llada"), "__version__", None),
        "platform": platform.platform(),
        "cpu_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(device)
        out["cuda"] = torch.version.cuda
    return out


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device) -> tuple[dict, object]:
    """Run ``fn`` once: {"wall": seconds, "cpu": this process's CPU seconds} and its result.

    On a shared CPU with one thread, process CPU time is what the wall time would be on an
    idle machine (others' load does not count); on CUDA only wall time means anything."""
    sync(device)
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    sync(device)
    return {"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0}, out


def clocks(device: torch.device) -> tuple[str, ...]:
    return ("wall",) if device.type == "cuda" else ("wall", "cpu")


def med(samples: list[dict], clock: str) -> float:
    return statistics.median(x[clock] for x in samples)


def trunk_macs_per_token(info: dict, seq_len: int) -> float:
    """Multiply-accumulates per token of the transformer blocks: q, k, v, o projections, the
    gated MLP's three matrices, and attention's QK^T and AV over ``seq_len`` keys."""
    h, inter, layers = info["hidden_size"], info["intermediate_size"], info["num_layers"]
    return layers * (4 * h * h + 3 * h * inter + 2 * seq_len * h)


def matmul_model(info: dict, prompt_len: int, gen_len: int, top_k: int) -> dict:
    """What P1 would be if only matmuls cost time (per sample and forward; elementwise work such
    as softmax, top-k and the commit step is left out): a reference for what the measured P1
    contains beyond the matmuls, and how the ratios move from the toy to the 8B shape."""
    seq, vocab, h = prompt_len + gen_len, info["vocab_size"], info["hidden_size"]
    d = info["noise_dim"] or 0
    trunk = seq * trunk_macs_per_token(info, seq)
    bare = trunk + seq * h * vocab
    window = trunk + gen_len * h * vocab
    k = min(top_k, vocab)
    topk_mix = gen_len * (vocab * d if vocab <= k * d else k * d)
    converter = gen_len * (vocab * d + (vocab + 1) * h)
    return {
        "bare_forward_gmac": bare / 1e9,
        "window_forward_gmac": window / 1e9,
        "converter_gmac": converter / 1e9,
        "topk_mixture_gmac": topk_mix / 1e9,
        "P1_matmul_only_remasking": window / bare,
        "P1_matmul_only_sde": (window + converter + topk_mix) / bare,
    }


# --------------------------------------------------------------------------- memory


def peak_bytes(fn, device: torch.device) -> tuple[int, object, str]:
    """Peak bytes allocated above the starting level while ``fn`` runs (see module docstring)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        out = fn()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base, out, "torch.cuda.max_memory_allocated - start"
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        out = fn()
    peak = 0
    stack = list(prof.profiler.kineto_results.experimental_event_tree())
    while stack:
        node = stack.pop()
        if node.tag == _EventType.Allocation:
            peak = max(peak, int(node.extra_fields.total_allocated))
        stack.extend(node.children)
    return peak, out, "CPU allocator: peak running total of allocated bytes (profiler allocation events)"


# --------------------------------------------------------------------------- runs


def run_sampler(kind: str, backbone, dsl, ids, mask, gen_len: int, nfe: int, seeds: list[int], top_k: int):
    if kind == "remasking":
        return remasking_generate(backbone, ids, mask, gen_len, steps=nfe, block_length=gen_len)
    return dsl_sde_generate(dsl, ids, mask, gen_len, nfe, seeds, top_k=top_k)


def bench_samplers(args, backbone, dsl, device, ids_all, mask_all, chosen: int) -> dict:
    gen_len = args.gen_len
    x_all = torch.cat([ids_all, torch.full((ids_all.shape[0], gen_len), backbone.special.mask)], 1).to(device)
    full_mask = torch.ones_like(x_all)
    window = slice(args.prompt_len, None)
    clk = clocks(device)

    def bare(b):
        return lambda: backbone(input_ids=x_all[:b], attention_mask=full_mask[:b])

    def windowed(b):
        return lambda: backbone(input_ids=x_all[:b], attention_mask=full_mask[:b], positions=window)

    results = {}
    with torch.no_grad():
        # P2 sweep: bare forwards over batch sizes, round-robin so load drift hits all sizes alike
        sweep = sorted({b for b in args.sweep if b <= args.max_batch} | {chosen})
        for b in sweep:  # warm-up
            timed(bare(b), device)
        timed(windowed(chosen), device)
        sweep_runs: dict[int, list] = {b: [] for b in sweep}
        for _ in range(args.repeats):
            for b in sweep:
                sweep_runs[b].append(timed(bare(b), device)[0])
        sweep_t = {c: {b: med(sweep_runs[b], c) for b in sweep} for c in clk}
        for b in sweep:
            log(f"bare forward batch {b}: " + ", ".join(f"{c} {sweep_t[c][b] * 1e3:.1f} ms" for c in clk))

        seeds = [1000 + i for i in range(chosen)]
        ids, mask = ids_all[:chosen], mask_all[:chosen]
        for kind in args.samplers:
            if kind == "sde" and dsl is None:
                continue
            # warm-up once per sampler, at the smallest NFE (same shapes and code paths)
            timed(
                lambda: run_sampler(kind, backbone, dsl, ids, mask, gen_len, min(args.nfe), seeds, args.top_k), device
            )
            for nfe in args.nfe:
                run = lambda: run_sampler(kind, backbone, dsl, ids, mask, gen_len, nfe, seeds, args.top_k)  # noqa: E731
                reps = []
                for _ in range(args.repeats):  # interleaved: bare forward, window forward, sampler
                    t_bare = timed(bare(chosen), device)[0]
                    t_win = timed(windowed(chosen), device)[0]
                    t_s, result = timed(run, device)
                    reps.append((t_s, t_bare, t_win, result))
                fp = reps[0][3].forward_passes
                tokens_big = reps[0][3].tokens
                # batch 1: throughput, and identical tokens for the first rows
                singles, t_one = [], []
                for row in range(min(args.check_rows, chosen)):
                    one = (
                        lambda: run_sampler(
                            kind,
                            backbone,
                            dsl,
                            ids_all[row : row + 1],  # noqa: E731
                            mask_all[row : row + 1],
                            gen_len,
                            nfe,
                            [1000 + row],
                            args.top_k,
                        )
                    )
                    if row == 0:
                        timed(one, device)
                        t_one = [timed(one, device)[0] for _ in range(args.repeats)]
                    singles.append(timed(one, device)[1].tokens[0])
                identical = all(torch.equal(tokens_big[r], singles[r]) for r in range(len(singles)))
                entry = {"sampler": kind, "nfe": nfe, "forward_passes": fp, "batch": chosen}
                for c in clk:
                    sfx = "" if c == "wall" else "_cpu_time"
                    t_s = statistics.median(r[0][c] for r in reps)
                    sps = chosen / t_s
                    best_b = max(sweep, key=lambda b: b / sweep_t[c][b])
                    best_sps = best_b / (fp * sweep_t[c][best_b])
                    t1 = statistics.median(x[c] for x in t_one)
                    entry.update(
                        {
                            f"sampler_s{sfx}": t_s,
                            f"sampler_s_repeats{sfx}": [r[0][c] for r in reps],
                            f"bare_forward_s{sfx}": statistics.median(r[1][c] for r in reps),
                            f"window_forward_s{sfx}": statistics.median(r[2][c] for r in reps),
                            f"P1{sfx}": statistics.median(r[0][c] / (fp * r[1][c]) for r in reps),
                            f"p1_vs_window_forward{sfx}": statistics.median(r[0][c] / (fp * r[2][c]) for r in reps),
                            f"samples_per_s{sfx}": sps,
                            f"bare_best_samples_per_s{sfx}": best_sps,
                            f"bare_best_batch{sfx}": best_b,
                            f"bare_batching_efficiency{sfx}": (sweep_t[c][best_b] / best_b)
                            / (sweep_t[c][chosen] / chosen),
                            f"P2{sfx}": sps / best_sps,
                            f"samples_per_s_batch1{sfx}": 1.0 / t1,
                            f"gain_over_batch1{sfx}": sps * t1,
                        }
                    )
                entry["identical_tokens_batch1_vs_batch"] = identical
                entry["identical_rows_checked"] = len(singles)
                name = f"{kind}_nfe{nfe}"
                results[name] = entry
                log(
                    f"{name}: batch {chosen}, "
                    + "; ".join(
                        f"{c}: {entry['sampler_s' + sf]:.3f} s, P1 {entry['P1' + sf]:.3f} (window "
                        f"{entry['p1_vs_window_forward' + sf]:.3f}), P2 {entry['P2' + sf]:.3f}, gain x{entry['gain_over_batch1' + sf]:.2f}"
                        for c, sf in (("wall", ""), ("cpu", "_cpu_time"))
                        if c in clk
                    )
                    + f"; identical {identical}"
                )
    return {
        "samplers": results,
        "p2_sweep": {
            "batch_sizes": sweep,
            **{f"bare_forward_s{'' if c == 'wall' else '_cpu_time'}": [sweep_t[c][b] for b in sweep] for c in clk},
        },
    }


def bench_converter_memory(args, dsl: DSLModel, device) -> dict:
    """P3: the converter on B x gen_len positions, chunk_tokens 0 vs args.chunk_tokens."""
    conv, table = dsl.converter, dsl.noise_table
    dim = table.shape[1]
    rows = []
    for batch in args.p3_batches:
        gen = torch.Generator().manual_seed(batch)
        z = (torch.randn(batch, args.gen_len, dim, generator=gen) * 4).to(device)
        snr = torch.full((batch, args.gen_len), 20.0, device=device)
        out_bytes = (
            batch
            * args.gen_len
            * conv.backbone_embedding.weight.shape[0]
            * conv.backbone_embedding.weight.element_size()
        )
        row = {"batch": batch, "positions": batch * args.gen_len, "output_h_mb": out_bytes / 2**20}
        outs = {}
        for mode in ("inference", "train"):
            for chunk in (0, args.chunk_tokens):

                def fn():
                    if mode == "inference":
                        with torch.no_grad():
                            return conv(z, table, 2.0, snr, chunk)
                    zz = z.clone().requires_grad_(True)
                    h = conv(zz, table, 1.0, snr, chunk)
                    h.float().square().mean().backward()
                    return zz.grad

                conv.zero_grad(set_to_none=True)
                peak, out, method = peak_bytes(fn, device)
                row[f"{mode}_peak_mb_chunk{chunk}"] = peak / 2**20
                outs[(mode, chunk)] = out.detach()
        conv.zero_grad(set_to_none=True)
        for mode in ("inference", "train"):
            a, b = outs[(mode, 0)], outs[(mode, args.chunk_tokens)]
            row[f"{mode}_identical"] = bool(torch.equal(a, b))
            row[f"{mode}_max_abs_diff"] = float((a.float() - b.float()).abs().max())
        rows.append(row)
        log(
            f"P3 batch {batch}: "
            + ", ".join(f"{k} {v:.1f}" for k, v in row.items() if k.endswith(tuple("0123456789")) and "peak" in k)
        )
    first, last = rows[0], rows[-1]
    grow = {
        mode: {
            c: last[f"{mode}_peak_mb_chunk{c}"] / max(first[f"{mode}_peak_mb_chunk{c}"], 1e-9)
            for c in (0, args.chunk_tokens)
        }
        for mode in ("inference", "train")
    }
    bound_mb = args.chunk_tokens * (dsl.converter.vocab_size + 1) * 4 / 2**20
    return {
        "chunk_tokens": args.chunk_tokens,
        "method": method,
        "one_chunk_softmax_mb": bound_mb,
        "rows": rows,
        "peak_growth_first_to_last_batch": grow,
        "positions_growth": last["positions"] / first["positions"],
    }


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", help="a saved backbone or DSL model folder (default: build --shape)")
    ap.add_argument(
        "--dtype",
        choices=["float32", "bfloat16", "float16"],
        help="dtype for --model (default: float32 on CPU, bfloat16 on CUDA)",
    )
    ap.add_argument(
        "--shape", choices=["auto", "toy", "8b"], default="auto", help="auto: 8b when the device is CUDA, toy otherwise"
    )
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (default 1: stable timings on a shared CPU)")
    ap.add_argument("--prompt-len", type=int, default=150)
    ap.add_argument("--gen-len", type=int, default=64)
    ap.add_argument("--nfe", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--samplers", nargs="+", default=["remasking", "sde"], choices=["remasking", "sde"])
    ap.add_argument("--top-k", type=int, default=512)
    ap.add_argument("--noise-dim", type=int, default=100)
    ap.add_argument(
        "--budget-mb",
        type=float,
        default=None,
        help="memory budget for batch_size_for (default: 1024 on CPU, half the free GPU memory)",
    )
    ap.add_argument("--max-batch", type=int, default=64)
    ap.add_argument("--sweep", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--check-rows", type=int, default=2, help="rows compared against one-prompt runs")
    ap.add_argument("--chunk-tokens", type=int, default=256)
    ap.add_argument("--p3-batches", type=int, nargs="+", default=[1, 4, 16, 64])
    ap.add_argument("--skip", nargs="*", default=[], choices=["samplers", "p3"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    if args.repeats < 3:
        ap.error("--repeats must be at least 3 (the median of >= 3 runs is reported)")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = pick_device(args.device)
    if args.shape == "auto":
        args.shape = "8b" if device.type == "cuda" else "toy"
    if device.type == "cpu" and args.threads:
        torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    backbone, dsl, info = build_models(args, device)
    log(f"built {info['shape']} on {device} in {time.perf_counter() - t_start:.1f} s")
    if args.budget_mb is None:
        if device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(device)
            args.budget_mb = free / 2 / 2**20
        else:
            args.budget_mb = 1024.0
    chosen = batch_size_for(
        args.prompt_len,
        args.gen_len,
        info["vocab_size"],
        info["hidden_size"],
        info["num_layers"] or 32,
        args.budget_mb,
        args.max_batch,
    )
    n_prompts = max([chosen, args.check_rows] + [b for b in args.sweep if b <= args.max_batch])
    ids_all, mask_all = random_prompts(backbone, n_prompts, args.prompt_len, args.seed)
    report = {
        "benchmark": "sampler",
        "device": str(device),
        "model": info,
        "versions": versions(device),
        "settings": {
            "prompt_len": args.prompt_len,
            "gen_len": args.gen_len,
            "nfe": args.nfe,
            "top_k": args.top_k,
            "repeats": args.repeats,
            "budget_mb": args.budget_mb,
            "max_batch": args.max_batch,
            "batch_chosen": chosen,
            "threads": torch.get_num_threads() if device.type == "cpu" else None,
        },
        "targets": {"P1": "<= 1.10", "P2": ">= 0.90", "P3": "chunked peak bounded as batch grows, outputs identical"},
    }
    report["matmul_model"] = matmul_model(info, args.prompt_len, args.gen_len, args.top_k)
    if "samplers" not in args.skip:
        report.update(bench_samplers(args, backbone, dsl, device, ids_all, mask_all, chosen))
        s = report["samplers"]
        summary = {}
        for c in clocks(device):
            sfx = "" if c == "wall" else "_cpu_time"
            summary.update(
                {
                    f"P1{sfx}": {k: round(v["P1" + sfx], 4) for k, v in s.items()},
                    f"p1_vs_window_forward{sfx}": {k: round(v["p1_vs_window_forward" + sfx], 4) for k, v in s.items()},
                    f"P2{sfx}": {k: round(v["P2" + sfx], 4) for k, v in s.items()},
                    f"gain_over_batch1{sfx}": {k: round(v["gain_over_batch1" + sfx], 3) for k, v in s.items()},
                }
            )
        summary["identical_across_batch"] = all(v["identical_tokens_batch1_vs_batch"] for v in s.values())
        report["summary"] = summary
    if "p3" not in args.skip and dsl is not None:
        report["P3"] = bench_converter_memory(args, dsl, device)
        rows = report["P3"]["rows"]
        report.setdefault("summary", {})["P3_identical"] = all(
            r["inference_identical"] and r["train_identical"] for r in rows
        )
        report["summary"]["P3_chunked_peak_growth"] = report["P3"]["peak_growth_first_to_last_batch"]
    report["wall_s"] = time.perf_counter() - t_start
    text = json.dumps(report, indent=1, default=lambda o: None if isinstance(o, float) and math.isnan(o) else str(o))
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return report


if __name__ == "__main__":
    main()
