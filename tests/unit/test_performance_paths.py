"""The sampler fast paths give the same answers as the straightforward code [issue: performance].

Correctness only, no timings: the output head applied to a window equals the window of the full
logits; both samplers give the same tokens as reference implementations kept here (full-logit
forwards, full-vocabulary softmax before the top-k); the top-k expectation matches its
reference on both of its paths; the chunked converter equals the unchunked one.
"""

import math

import pytest
import torch
from helpers import prompt_batch

from dsl_llada.dsl import DSLConfig, DSLModel
from dsl_llada.sampler_checks import check_remasking_settings
from dsl_llada.sampling import (
    adaptive_noise_scale,
    dsl_sde_generate,
    heun_sde_step,
    low_confidence_remasking_step,
    remasking_generate,
    sensitive_snr_schedule,
    topk_expectation,
    transfer_schedule,
)

TEXTS = ["w1 w2 w3 . w4 w5", "w7 , w8", "w9 w10 w11 w12 w13 w14 w15 w16 w17 .", "w20 w21"]


# --------------------------------------------------------------------------- references


def reference_remasking(backbone, prompt_ids, prompt_mask, gen_length, steps, block_length, eos_inf=False):
    """The sampler as first written: full-sequence logits, commit step over the whole sequence."""
    check_remasking_settings(gen_length, steps, block_length)
    mask_id, eos_id = backbone.special.mask, backbone.special.eos
    batch, prompt_len = prompt_ids.shape
    x = torch.cat([prompt_ids, torch.full((batch, gen_length), mask_id, dtype=torch.long)], dim=1)
    attention = torch.cat([prompt_mask, torch.ones(batch, gen_length, dtype=torch.long)], dim=1)
    blocks = gen_length // block_length
    with torch.no_grad():
        for block in range(blocks):
            block_end = prompt_len + (block + 1) * block_length
            for n_commit in transfer_schedule(block_length, steps // blocks):
                logits = backbone.model(input_ids=x, attention_mask=attention).logits
                if eos_inf:
                    logits[..., eos_id] = -math.inf
                x = low_confidence_remasking_step(x, logits, mask_id, block_end, n_commit)
    return x[:, prompt_len:]


def reference_topk_expectation(logits, noise_table, top_k):
    """Full-vocabulary fp32 softmax, sorted top-k of the probabilities, renormalised."""
    probs = torch.softmax(logits.float(), dim=-1)
    vocab, dim = noise_table.shape
    k = min(top_k, vocab)
    top_p, top_i = probs.topk(k, dim=-1)
    top_p = top_p / top_p.sum(-1, keepdim=True)
    table = noise_table.float()
    if vocab <= k * dim:
        return torch.zeros_like(probs).scatter_(-1, top_i, top_p) @ table
    return torch.einsum("...k,...kd->...d", top_p, table[top_i])


def reference_sde(model, prompt_ids, prompt_mask, gen_length, nfe, seeds, *, beta_scale=2.0, top_k=512):
    """DSL-SDE as first written: full-sequence logits sliced afterwards, reference top-k."""
    grid = sensitive_snr_schedule(nfe // 2)
    eta = adaptive_noise_scale(nfe)
    backbone, table = model.backbone, model.noise_table
    dim = table.shape[1]
    generators = [torch.Generator().manual_seed(int(s)) for s in seeds]

    def draw():
        return torch.stack([torch.randn(gen_length, dim, generator=g) for g in generators])

    prompt_h = backbone.embed(prompt_ids)
    attention = torch.cat([prompt_mask, torch.ones(len(seeds), gen_length, dtype=torch.long)], 1)
    prompt_len = prompt_ids.shape[1]

    def logits_at(y, s):
        snr = torch.full(y.shape[:-1], s)
        h = model.embed_noisy(s * y, beta_scale=beta_scale, snr=snr).to(prompt_h.dtype)
        out = backbone.model(inputs_embeds=torch.cat([prompt_h, h], 1), attention_mask=attention)
        return out.logits[:, prompt_len:]

    def denoise(y, s):
        return reference_topk_expectation(logits_at(y, s), table, top_k)

    with torch.no_grad():
        y = draw()
        y = y / y.norm(dim=-1, keepdim=True)
        for s, s_next in zip(grid[:-1], grid[1:]):
            dw = draw() * math.sqrt(abs(s_next - s))
            y = heun_sde_step(y, s, s_next, denoise, eta, dw)
        return logits_at(y, grid[-1]).argmax(dim=-1)


# --------------------------------------------------------------------------- backbone


@pytest.mark.parametrize("window", [slice(25, None), slice(10, 30), 25, slice(0, None)])
def test_windowed_head_equals_slice_of_full_logits(tiny_backbone, window):
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, tiny_backbone.vocab_size, (3, 40), generator=gen)
    attention = torch.ones_like(ids)
    attention[0, :7] = 0  # a left-padded row
    expected_slice = window if isinstance(window, slice) else slice(window, None)
    with torch.no_grad():
        full = tiny_backbone(input_ids=ids, attention_mask=attention)
        part = tiny_backbone(input_ids=ids, attention_mask=attention, positions=window)
        embeds = tiny_backbone.embed(ids)
        part_embeds = tiny_backbone(inputs_embeds=embeds, attention_mask=attention, positions=window)
    want = full[:, expected_slice]
    assert part.shape == want.shape
    torch.testing.assert_close(part, want, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(part_embeds, want, rtol=1e-6, atol=1e-6)
    assert torch.equal(part.argmax(-1), want.argmax(-1))


def test_positions_must_be_slice_int_or_none(tiny_backbone):
    ids = torch.zeros(1, 4, dtype=torch.long)
    with pytest.raises(TypeError, match="positions"):
        tiny_backbone(input_ids=ids, positions=[1, 2])
    with pytest.raises(ValueError, match="exactly one"):
        tiny_backbone(positions=slice(1, None))


# --------------------------------------------------------------------------- samplers


@pytest.mark.parametrize(
    "gen_length, steps, block_length, eos_inf",
    [(16, 8, 16, False), (16, 8, 8, True), (16, 16, 4, False), (12, 4, 12, True)],
)
def test_remasking_matches_full_logit_reference(tiny_backbone, gen_length, steps, block_length, eos_inf):
    ids, mask = prompt_batch(tiny_backbone, TEXTS)
    fast = remasking_generate(tiny_backbone, ids, mask, gen_length, steps, block_length, eos_inf=eos_inf)
    ref = reference_remasking(tiny_backbone, ids, mask, gen_length, steps, block_length, eos_inf=eos_inf)
    assert torch.equal(fast.tokens, ref)
    assert fast.forward_passes == steps


@pytest.mark.parametrize("top_k", [512, 20, 5])  # k >= V, dense path, gather path (V=70, d=8)
def test_sde_matches_full_logit_reference(tiny_dsl, top_k):
    ids, mask = prompt_batch(tiny_dsl.backbone, TEXTS)
    seeds = [3, 4, 5, 6]
    for nfe in (4, 8):
        fast = dsl_sde_generate(tiny_dsl, ids, mask, 16, nfe, seeds, top_k=top_k)
        ref = reference_sde(tiny_dsl, ids, mask, 16, nfe, seeds, top_k=top_k)
        assert torch.equal(fast.tokens, ref), (nfe, top_k)
        assert fast.forward_passes == nfe + 1


@pytest.mark.parametrize("shape, top_k", [((2, 5, 50), 10), ((2, 5, 50), 2), ((4, 3, 50), 50), ((3, 50), 80)])
def test_topk_expectation_matches_reference(shape, top_k):
    gen = torch.Generator().manual_seed(0)
    table = torch.nn.functional.normalize(torch.randn(50, 6, generator=gen), dim=-1)
    for scale in (0.5, 3.0, 30.0):
        logits = torch.randn(*shape, generator=gen) * scale
        torch.testing.assert_close(
            topk_expectation(logits, table, top_k),
            reference_topk_expectation(logits, table, top_k),
            rtol=1e-5,
            atol=1e-6,
        )
    bf16 = (torch.randn(*shape, generator=gen) * 3).bfloat16()  # bf16 logits: softmax still in fp32
    out = topk_expectation(bf16, table, top_k)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, reference_topk_expectation(bf16, table, top_k), rtol=1e-5, atol=1e-6)


def test_cpu_topk_mask_is_the_topk_set():
    from dsl_llada.sampling import _topk_mask_cpu

    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 7, 300, generator=gen) * 4
    for k in (1, 5, 150, 299):
        keep = _topk_mask_cpu(logits, k)
        expected = torch.zeros_like(keep).scatter_(-1, logits.topk(k, -1).indices, True)
        assert torch.equal(keep, expected), k


def test_topk_ties_at_the_boundary_fall_back_to_torch_topk():
    """A tie at the k-th value makes the top-k set ambiguous: the numpy path steps aside. Tied
    tokens share one embedding row here, so every valid choice gives the same mixture."""
    from dsl_llada.sampling import _topk_mask_cpu

    gen = torch.Generator().manual_seed(2)
    table = torch.nn.functional.normalize(torch.randn(50, 6, generator=gen), dim=-1)
    table[20:24] = table[20]  # tokens 20..23 tie in the logits below
    logits = torch.randn(2, 50, generator=gen) - 10
    logits[:, :8] = torch.arange(8, 0, -1).float()  # ranks 1..8
    logits[:, 20:24] = 0.5  # ranks 9..12, tied; k = 10 cuts through them
    assert _topk_mask_cpu(logits, 10) is None
    for k in (10, 2):  # dense path (50 <= 60) and, with no tie at k = 2, the gather path
        torch.testing.assert_close(
            topk_expectation(logits, table, k), reference_topk_expectation(logits, table, k), rtol=1e-5, atol=1e-6
        )
    nan_row = logits.clone()
    nan_row[1, 30] = float("nan")
    assert _topk_mask_cpu(nan_row, 5) is None


# --------------------------------------------------------------------------- converter chunking


def test_chunked_converter_equals_unchunked(tiny_dsl):
    conv, table = tiny_dsl.converter, tiny_dsl.noise_table
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(5, 13, table.shape[1], generator=gen) * 4
    snr = torch.rand(5, 13, generator=gen) * 50
    with torch.no_grad():
        full = conv(z, table, 2.0, snr, 0)
        for chunk in (1, 7, 64, 65, 1000):  # equal up to the BLAS's row-blocking (bitwise here
            # for most sizes; a one-row chunk takes a matrix-vector kernel)
            torch.testing.assert_close(conv(z, table, 2.0, snr, chunk), full, rtol=1e-6, atol=1e-6)
    grads = {}
    for chunk in (0, 16):  # training: chunks are recomputed in backward (checkpoint)
        conv.zero_grad(set_to_none=True)
        zz = z.clone().requires_grad_(True)
        conv(zz, table, 1.0, snr, chunk).square().mean().backward()
        grads[chunk] = (zz.grad, conv.beta.grad, conv.backbone_embedding.weight.grad)
    conv.zero_grad(set_to_none=True)
    for a, b in zip(grads[0], grads[16]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_sde_tokens_do_not_depend_on_chunking(tiny_backbone):
    ids, mask = prompt_batch(tiny_backbone, TEXTS)
    plain = DSLModel(tiny_backbone, DSLConfig(noise_dim=8, chunk_tokens=0)).eval()
    chunked = DSLModel(tiny_backbone, DSLConfig(noise_dim=8, chunk_tokens=10)).eval()
    chunked.converter.load_state_dict(plain.converter.state_dict())
    a = dsl_sde_generate(plain, ids, mask, 16, 8, [1, 2, 3, 4], top_k=20).tokens
    b = dsl_sde_generate(chunked, ids, mask, 16, 8, [1, 2, 3, 4], top_k=20).tokens
    assert torch.equal(a, b)
