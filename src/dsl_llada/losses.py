"""Training objectives: the DSL loss [protocol §1.4] and LLaDA's MDM loss [§2.3].

Both are normalised by B*L (all positions of the batch), as in the authors' trainers.
``maskable`` (B, L) marks positions that take part in the forward process; positions outside
it (an instruction prompt) stay clean and carry no loss. Pre-training text is all maskable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .dsl import DSLModel, noise_channel, sample_mixed_snr


def dsl_loss(logits: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy on every (maskable) position of the noisy sequence, summed and divided by
    B*L; no SNR weighting [§1.4]. Logits are promoted to fp32."""
    ce = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), reduction="none")
    if weight is not None:
        ce = ce * weight.flatten().float()
    return ce.sum() / targets.numel()


def mdm_forward_process(
    input_ids: torch.Tensor,
    mask_id: int,
    generator: torch.Generator,
    eps: float = 1e-3,
    maskable: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """LLaDA's forward process [§2.3]: t ~ U(0,1) per sequence, p = (1-eps)t + eps, each token
    replaced by [MASK] with probability p. Returns (noisy ids, masked bool, p per position)."""
    batch, length = input_ids.shape
    t = torch.rand(batch, generator=generator).to(input_ids.device)
    p = ((1 - eps) * t + eps).unsqueeze(1).expand(batch, length)
    masked = torch.rand(batch, length, generator=generator).to(input_ids.device) < p
    if maskable is not None:
        masked &= maskable.bool()
    noisy = torch.where(masked, torch.full_like(input_ids, mask_id), input_ids)
    return noisy, masked, p


def mdm_loss(
    logits: torch.Tensor, targets: torch.Tensor, masked: torch.Tensor, p_mask: torch.Tensor, weighting: str = "elbo"
) -> torch.Tensor:
    """LLaDA's objective [§2.3]: sum over masked positions of CE / p, divided by B*L.

    ``weighting="flat"`` averages CE over the masked positions instead: the same minimiser (each
    position's CE is minimised by the true conditional whatever its positive weight) with far
    lower gradient variance, which the toy's from-scratch base model needs to learn in minutes.
    It is never used for the paper's MDM control."""
    ce = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), reduction="none").view_as(targets)
    if weighting == "flat":
        return (ce * masked.float()).sum() / masked.sum().clamp_min(1)
    if weighting != "elbo":
        raise ValueError(f"mdm weighting must be 'elbo' or 'flat', got {weighting!r}")
    return (ce * masked.float() / p_mask.float()).sum() / targets.numel()


def dsl_training_loss(
    model: DSLModel,
    input_ids: torch.Tensor,
    generator: torch.Generator,
    snr_cfg: dict,
    maskable: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """One DSL training forward [§1.2-§1.5]: per-token SNR, noisy embeddings, converter,
    backbone, CE on every maskable position. Non-maskable positions enter clean through the
    backbone's own input embedding, as prompts do at sampling time [§3.5]."""
    batch, length = input_ids.shape
    snr = sample_mixed_snr(batch, length, generator, **snr_cfg, device=input_ids.device)
    x = model.noise_table[input_ids]
    z = noise_channel(x, snr, generator=_device_generator(generator, input_ids.device))
    h = model.embed_noisy(z, snr=snr)
    if maskable is not None:
        clean = model.backbone.embed(input_ids).to(h.dtype)
        h = torch.where(maskable.bool().unsqueeze(-1), h, clean)
    logits = model.backbone(inputs_embeds=h, attention_mask=attention_mask)
    return dsl_loss(logits, input_ids, maskable)


def mdm_training_loss(
    backbone,
    input_ids: torch.Tensor,
    generator: torch.Generator,
    eps: float = 1e-3,
    maskable: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
    weighting: str = "elbo",
) -> torch.Tensor:
    """One MDM training forward with LLaDA's objective [§2.3]."""
    noisy, masked, p = mdm_forward_process(input_ids, backbone.special.mask, generator, eps, maskable)
    logits = backbone(input_ids=noisy, attention_mask=attention_mask)
    return mdm_loss(logits, input_ids, masked, p, weighting)


def _device_generator(generator: torch.Generator, device: torch.device) -> torch.Generator | None:
    """Noise is drawn on CPU from the seeded generator unless the data lives on an accelerator;
    there a generator seeded from the CPU one keeps runs reproducible."""
    if torch.device(device).type == "cpu":
        return generator
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return torch.Generator(device=device).manual_seed(seed)
