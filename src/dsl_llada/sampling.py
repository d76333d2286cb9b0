"""Samplers [protocol §3]: LLaDA low-confidence remasking (+EOS/block variant) and DSL-SDE.

All samplers are batched (left-padded prompts with an attention mask; a batch gives the same
tokens as one prompt at a time), seeded per sample, and report the forward passes they made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .backbone import MaskPredictor
from .dsl import DSLModel
from .errors import SamplerConfigError
from .sampler_checks import check_remasking_settings

# The DSL-SDE's paper settings [§3.5], written once: beta_inf = 2 x beta_train, top-k 512.
# generation.MethodSpec takes its field defaults from here; every preset also states them.
SDE_BETA_SCALE = 2.0
SDE_TOP_K = 512


@dataclass
class SampleResult:
    tokens: torch.Tensor  # (B, G) generated ids
    forward_passes: int  # true backbone forwards made for the batch
    nfe: int  # the protocol's NFE accounting [§3.1, §3.5 item 8]


# --------------------------------------------------------------------------- prompts


def left_pad(sequences: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-pad to a (B, P) batch and its attention mask; RoPE is relative, so left padding
    under an attention mask leaves every real position's logits unchanged."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, width - len(seq) :] = torch.tensor(seq, dtype=torch.long)
        mask[row, width - len(seq) :] = 1
    return ids, mask


# --------------------------------------------------------------------------- remasking


def transfer_schedule(masked_count: int, steps: int) -> list[int]:
    """Tokens to commit per step in a block [§3.1]: floor(m/steps), plus 1 for the first
    (m mod steps) steps."""
    base, extra = divmod(masked_count, steps)
    return [base + (1 if i < extra else 0) for i in range(steps)]


def low_confidence_remasking_step(
    x: torch.Tensor,
    logits: torch.Tensor,
    mask_id: int,
    block_end: int,
    n_commit: int,
    confidence_dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """One step of low-confidence remasking [§3.1]: greedy x0 = argmax, confidence = softmax
    probability of x0, positions beyond the block or already committed get -inf, and the
    ``n_commit`` most confident still-masked positions are committed. Committed tokens never
    change. Returns the new x."""
    x0 = logits.argmax(dim=-1)
    probs = torch.softmax(logits.to(confidence_dtype), dim=-1)
    confidence = probs.gather(-1, x0.unsqueeze(-1)).squeeze(-1)
    still_masked = x == mask_id
    confidence = torch.where(still_masked, confidence, torch.full_like(confidence, -math.inf))
    confidence[:, block_end:] = -math.inf
    order = confidence.argsort(dim=1, descending=True, stable=True)
    commit = torch.zeros_like(still_masked)
    commit.scatter_(1, order[:, :n_commit], True)
    commit &= still_masked
    return torch.where(commit, x0, x)


@torch.no_grad()
def remasking_generate(
    backbone: MaskPredictor,
    prompt_ids: torch.Tensor,
    prompt_mask: torch.Tensor,
    gen_length: int,
    steps: int,
    block_length: int | None = None,
    *,
    eos_inf: bool = False,
    confidence_dtype: torch.dtype = torch.float64,
) -> SampleResult:
    """LLaDA low-confidence remasking [§3.1]; with ``eos_inf`` and block 32 it is the
    "LLaDA+EOS+Block" baseline [§3.2] (EOS logit -inf; EoT allowed). Also the DSL model's
    "standard remasking" when given its backbone [§3.4]. NFE = steps.

    The backbone returns logits for the generation window only (``positions``), and the
    commit step runs on that window, so prompt positions are never candidates: the same tokens
    as scoring the whole sequence, since prompt tokens are never [MASK] (a prompt holding a
    literal [MASK] id stays untouched here, where the whole-sequence step could fill it)."""
    block_length = block_length or gen_length
    check_remasking_settings(gen_length, steps, block_length)
    mask_id, eos_id = backbone.special.mask, backbone.special.eos
    batch, prompt_len = prompt_ids.shape
    device = backbone.input_embedding.weight.device
    x = torch.cat([prompt_ids, torch.full((batch, gen_length), mask_id, dtype=torch.long)], dim=1).to(device)
    attention = torch.cat([prompt_mask, torch.ones(batch, gen_length, dtype=torch.long)], dim=1).to(device)
    blocks = gen_length // block_length
    window = slice(prompt_len, None)  # logits (and the commit step) for the generation window only
    forwards = 0
    for block in range(blocks):
        block_end = (block + 1) * block_length  # relative to the window
        for n_commit in transfer_schedule(block_length, steps // blocks):
            logits = backbone(input_ids=x, attention_mask=attention, positions=window)
            forwards += 1
            if eos_inf:
                logits[..., eos_id] = -math.inf
            x[:, window] = low_confidence_remasking_step(
                x[:, window], logits, mask_id, block_end, n_commit, confidence_dtype
            )
    return SampleResult(tokens=x[:, window].cpu(), forward_passes=forwards, nfe=steps)


# --------------------------------------------------------------------------- DSL-SDE


def sensitive_snr_schedule(
    steps: int, s_min: float = 0.01, s_knee: float = 7.0, s_high: float = 74.0, s_max: float = 100.0
) -> list[float]:
    """The "sensitive" SNR grid [§3.5 item 3]: n1 = max(1, floor(0.05 steps)) log-spaced steps
    s_min -> s_knee, n2 = max(1, floor(0.9 steps)) s_knee -> s_high, n3 = the rest s_high ->
    s_max. With n3 = 0 (NFE <= 16) the last SNR is s_high, as in the released code."""
    if steps < 2:
        raise SamplerConfigError(f"the sensitive schedule needs at least 2 Heun steps (NFE >= 4), got {steps}")
    n1 = max(1, math.floor(0.05 * steps))
    n2 = max(1, math.floor(0.9 * steps))
    n3 = steps - n1 - n2
    grid = _log_space(s_min, s_knee, n1)
    grid += _log_space(s_knee, s_high, n2)[1:]
    if n3 > 0:
        grid += _log_space(s_high, s_max, n3)[1:]
    return grid


def uniform_snr_schedule(steps: int, s_min: float = 0.01, s_max: float = 100.0) -> list[float]:
    """Log-linear s_min -> s_max in ``steps`` intervals (the "uniform" option of §3.5)."""
    return _log_space(s_min, s_max, steps)


def _log_space(a: float, b: float, n: int) -> list[float]:
    return [math.exp(math.log(a) + (math.log(b) - math.log(a)) * i / n) for i in range(n + 1)]


def adaptive_noise_scale(nfe: int) -> float:
    """eta by budget [§3.5 item 6]: 0.1 (NFE <= 8), 0.05 (<= 16), 0.01 (<= 32), else 0.005."""
    for limit, eta in ((8, 0.1), (16, 0.05), (32, 0.01)):
        if nfe <= limit:
            return eta
    return 0.005


def topk_expectation(logits: torch.Tensor, noise_table: torch.Tensor, top_k: int) -> torch.Tensor:
    """x_hat = sum over the top-k tokens of q_v E_v, q = softmax(logits) truncated to the top-k
    and renormalised [§3.5 item 4]. Uses a dense product when the vocabulary is small enough
    that it is cheaper than gathering k embedding rows per position.

    Computed without the full-vocabulary softmax: softmax is monotone, so the top-k of the
    probabilities are the top-k of the logits, and the renormalised truncated probabilities are
    exactly the fp32 softmax over those k logits. On CPU the top-k set comes from a numpy
    partition (several times faster than ``torch.topk`` there), with ``torch.topk`` deciding
    whenever a row ties at its k-th value; elsewhere from an unsorted ``torch.topk``. The
    gathered mixture is an ``embedding_bag`` sum, which never materialises (..., k, d) rows."""
    vocab, dim = noise_table.shape
    k = min(top_k, vocab)
    table = noise_table.float()  # a no-op (no copy) for the fp32 table the samplers pass
    logits = logits.float()
    if k == vocab:  # nothing truncated
        return torch.softmax(logits, dim=-1) @ table
    dense_path = vocab <= k * dim
    keep = _topk_mask_cpu(logits, k) if logits.device.type == "cpu" else None
    if keep is not None and dense_path:
        return torch.softmax(logits.masked_fill(~keep, -math.inf), dim=-1) @ table
    if keep is not None:
        top_i = keep.reshape(-1, vocab).nonzero()[:, 1].view(-1, k)  # row-major: row r's k ids
        top_logits = logits.reshape(-1, vocab).gather(-1, top_i)
    else:
        top_logits, top_i = logits.topk(k, dim=-1, sorted=False)
    top_p = torch.softmax(top_logits, dim=-1)
    if dense_path:
        dense = torch.zeros(*logits.shape[:-1], vocab, dtype=top_p.dtype, device=top_p.device)
        return dense.scatter_(-1, top_i, top_p) @ table
    mix = F.embedding_bag(top_i.reshape(-1, k), table, per_sample_weights=top_p.reshape(-1, k), mode="sum")
    return mix.reshape(*logits.shape[:-1], dim)


def _topk_mask_cpu(logits: torch.Tensor, k: int) -> torch.Tensor | None:
    """Each row's k largest logits as a boolean mask, via numpy's partition; None when some row
    does not have exactly k entries >= its k-th largest value (ties at the boundary, or NaN), so
    the top-k set is not unique and ``torch.topk`` picks it as before."""
    flat = logits.detach().reshape(-1, logits.shape[-1])
    kth = np.partition(flat.numpy(), -k, axis=-1)[:, -k]
    keep = flat >= torch.from_numpy(kth).unsqueeze(-1)
    if not bool((keep.sum(-1) == k).all()):
        return None
    return keep.view(logits.shape)


def heun_sde_step(y, s: float, s_next: float, denoise, eta: float, dw: torch.Tensor) -> torch.Tensor:
    """One Heun (trapezoid) step of the DSL SDE in y = z/s space [§3.5 item 5]:
    f = (x_hat(y, s) - y)/s, g = eta/s; predictor y~ = y + f D + g dW; corrector
    y <- y + (f + f')D/2 + (g + g')dW/2. eta = 0 is the deterministic ODE."""
    delta = s_next - s
    f = (denoise(y, s) - y) / s
    g = eta / s
    y_pred = y + f * delta + g * dw
    f_next = (denoise(y_pred, s_next) - y_pred) / s_next
    g_next = eta / s_next
    return y + 0.5 * (f + f_next) * delta + 0.5 * (g + g_next) * dw


def snr_schedule(schedule: str, steps: int, snr_points: dict | None = None) -> list[float]:
    """The SNR grid of ``steps`` Heun steps named by ``sampler.schedule`` [§3.5 item 3]:
    "sensitive" (:func:`sensitive_snr_schedule`, every point overridable through
    ``snr_points``) or "uniform" (:func:`uniform_snr_schedule`, ``s_min``/``s_max`` only)."""
    points = snr_points or {}
    if schedule == "sensitive":
        return sensitive_snr_schedule(steps, **points)
    if schedule == "uniform":
        return uniform_snr_schedule(steps, points.get("s_min", 0.01), points.get("s_max", 100.0))
    raise SamplerConfigError(f"sampler.schedule must be 'sensitive' or 'uniform', got {schedule!r}")


class SeededNoise:
    """Standard-normal (gen_length, dim) draws, one per sample from its own generator seeded by
    ``seeds[i]``, so a sample's noise does not depend on the rest of its batch [§3.5]."""

    def __init__(self, seeds: list[int], gen_length: int, dim: int, device: torch.device) -> None:
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.shape = (gen_length, dim)
        self.device = device

    def draw(self) -> torch.Tensor:
        """The next (B, gen_length, dim) draw, on the model's device."""
        return torch.stack([torch.randn(*self.shape, generator=g) for g in self.generators]).to(self.device)


class PromptedDenoiser:
    """The DSL denoiser for a fixed batch of prompts [§3.5 item 4]: latents y at SNR s become
    z = s y, the converter embeds them (beta_inf = beta_scale * beta_train) after the clean
    prompt embeddings, and the backbone scores the generation window only. Counts the true
    backbone forwards in ``forwards``."""

    def __init__(
        self,
        model: DSLModel,
        prompt_ids: torch.Tensor,
        prompt_mask: torch.Tensor,
        gen_length: int,
        *,
        beta_scale: float,
        top_k: int,
    ) -> None:
        self.model, self.beta_scale, self.top_k = model, beta_scale, top_k
        self.device = model.backbone.input_embedding.weight.device
        self.table = model.noise_table.float()  # fp32 once, not per denoiser call
        self.prompt_h = model.backbone.embed(prompt_ids.to(self.device))
        ones = torch.ones(prompt_ids.shape[0], gen_length, dtype=torch.long)
        self.attention = torch.cat([prompt_mask, ones], 1).to(self.device)
        self.window = slice(prompt_ids.shape[1], None)  # logits for the generation positions only
        self.forwards = 0

    def logits(self, y: torch.Tensor, s: float) -> torch.Tensor:
        """Backbone logits over the generation window for latents ``y`` at SNR ``s``."""
        snr = torch.full(y.shape[:-1], s, device=self.device)
        h = self.model.embed_noisy(s * y, beta_scale=self.beta_scale, snr=snr).to(self.prompt_h.dtype)
        self.forwards += 1
        inputs = torch.cat([self.prompt_h, h], 1)
        return self.model.backbone(inputs_embeds=inputs, attention_mask=self.attention, positions=self.window)

    def __call__(self, y: torch.Tensor, s: float) -> torch.Tensor:
        """x_hat(y, s): the top-k expectation of the noise table under the logits [§3.5 item 4]."""
        return topk_expectation(self.logits(y, s), self.table, self.top_k)


@torch.no_grad()
def dsl_sde_generate(
    model: DSLModel,
    prompt_ids: torch.Tensor,
    prompt_mask: torch.Tensor,
    gen_length: int,
    nfe: int,
    seeds: list[int],
    *,
    beta_scale: float = SDE_BETA_SCALE,
    top_k: int = SDE_TOP_K,
    eta: float | None = None,
    schedule: str = "sensitive",
    snr_points: dict | None = None,
) -> SampleResult:
    """DSL-SDE with a Heun integrator in y-space [§3.5].

    Prompt tokens enter clean through the backbone's input embedding; generation positions get
    converter outputs (beta_inf = beta_scale * beta_train). Each sample draws its unit-norm init
    and every dW from its own generator seeded by ``seeds[i]``, so a batch gives the same result
    as one prompt at a time. steps = NFE/2; the final decode is one more forward at the last
    SNR, so true forwards = NFE + 1 [§3.5 item 8]."""
    if nfe % 2:
        raise SamplerConfigError(f"DSL-SDE needs an even NFE (two forwards per Heun step), got {nfe}")
    if len(seeds) != prompt_ids.shape[0]:
        raise SamplerConfigError(f"{len(seeds)} seeds for a batch of {prompt_ids.shape[0]}")
    grid = snr_schedule(schedule, nfe // 2, snr_points)
    eta = adaptive_noise_scale(nfe) if eta is None else eta
    denoise = PromptedDenoiser(model, prompt_ids, prompt_mask, gen_length, beta_scale=beta_scale, top_k=top_k)
    noise = SeededNoise(seeds, gen_length, denoise.table.shape[1], denoise.device)
    y = noise.draw()
    y = y / y.norm(dim=-1, keepdim=True)  # "norm init": unit norm per position
    for s, s_next in zip(grid[:-1], grid[1:]):
        dw = noise.draw() * math.sqrt(abs(s_next - s))
        y = heun_sde_step(y, s, s_next, denoise, eta, dw)
    tokens = denoise.logits(y, grid[-1]).argmax(dim=-1)
    return SampleResult(tokens=tokens.cpu(), forward_passes=denoise.forwards, nfe=nfe)
