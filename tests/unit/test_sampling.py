"""Samplers [protocol §3]: schedules, remasking invariants, EOS+Block, DSL-SDE, batching."""

import math

import pytest
import torch
from helpers import prompt_batch

from dsl_llada.errors import SamplerConfigError
from dsl_llada.prompts import chat_prompt_ids
from dsl_llada.sampler_checks import check_remasking_settings
from dsl_llada.sampling import (
    adaptive_noise_scale,
    dsl_sde_generate,
    heun_sde_step,
    low_confidence_remasking_step,
    remasking_generate,
    sensitive_snr_schedule,
    snr_schedule,
    topk_expectation,
    transfer_schedule,
)


TEXTS = ["w1 w2 w3 . w4 w5", "w7 , w8", "w9 w10 w11 w12 w13 w14 w15 w16 w17 ."]


@pytest.mark.parametrize(
    "nfe, expected",
    [
        (8, [0.01, 7, 15.36, 33.72, 74]),
        (16, [0.01, 7, 9.80, 13.73, 19.23, 26.94, 37.72, 52.84, 74]),
    ],
)
def test_sensitive_schedule_matches_protocol_grid(nfe, expected):
    grid = sensitive_snr_schedule(nfe // 2)
    assert grid == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(
    "nfe, pieces, head",
    [
        (32, (1, 14, 1), [0.01, 7, 8.28, 9.80, 11.60]),
        (64, (1, 28, 3), [0.01, 7, 7.62, 8.28]),
        (128, (3, 57, 4), [0.01, 0.09, 0.79, 7, 7.30]),
    ],
)
def test_sensitive_schedule_longer_budgets(nfe, pieces, head):
    grid = sensitive_snr_schedule(nfe // 2)
    assert len(grid) == nfe // 2 + 1
    assert grid[: len(head)] == pytest.approx(head, abs=0.01)
    assert grid[-1] == pytest.approx(100.0)
    n1, n2, _ = pieces
    assert grid[n1] == pytest.approx(7.0) and grid[n1 + n2] == pytest.approx(74.0)


def test_snr_schedule_by_name_and_points():
    assert snr_schedule("sensitive", 4) == sensitive_snr_schedule(4)
    assert snr_schedule("sensitive", 4, {"s_knee": 5.0})[1] == pytest.approx(5.0)
    uniform = snr_schedule("uniform", 4, {"s_min": 0.1, "s_max": 10.0, "s_knee": 5.0})  # knee unused
    assert uniform == pytest.approx([0.1, 10**-0.5, 1.0, 10**0.5, 10.0])
    with pytest.raises(SamplerConfigError, match="'sensitive' or 'uniform', got 'linear'"):
        snr_schedule("linear", 4)


def test_adaptive_noise_scale():
    assert [adaptive_noise_scale(n) for n in (4, 8, 16, 32, 64, 128)] == [0.1, 0.1, 0.05, 0.01, 0.005, 0.005]


def test_transfer_schedule_and_divisibility():
    assert transfer_schedule(10, 4) == [3, 3, 2, 2]
    assert sum(transfer_schedule(37, 8)) == 37
    check_remasking_settings(64, 8, 16)
    with pytest.raises(SamplerConfigError, match="not divisible by block_length"):
        check_remasking_settings(64, 8, 24)
    with pytest.raises(SamplerConfigError, match="number of blocks"):
        check_remasking_settings(64, 6, 16)


def test_remasking_step_commits_most_confident_masked_only():
    mask = 9
    x = torch.tensor([[1, mask, mask, mask, mask]])
    logits = torch.full((1, 5, 10), -5.0)
    logits[0, 0, 4] = 10  # committed position: must not change even though confident
    for pos, (tok, score) in {1: (2, 1.0), 2: (3, 5.0), 3: (4, 3.0), 4: (5, 9.0)}.items():
        logits[0, pos, tok] = score
    out = low_confidence_remasking_step(x, logits, mask, block_end=4, n_commit=2)
    # position 4 is outside the block: excluded although the most confident
    assert out.tolist() == [[1, mask, 3, 4, mask]]


def test_remasking_commits_scheduled_count_and_never_rewrites(tiny_backbone, monkeypatch):
    import dsl_llada.sampling as S

    states = []
    real = S.low_confidence_remasking_step

    def spy(x, *args, **kwargs):
        out = real(x, *args, **kwargs)
        states.append((x.clone(), out.clone()))
        return out

    monkeypatch.setattr(S, "low_confidence_remasking_step", spy)
    ids, mask = prompt_batch(tiny_backbone, TEXTS)
    result = remasking_generate(tiny_backbone, ids, mask, gen_length=16, steps=8, block_length=8)
    assert result.forward_passes == 8 and result.nfe == 8
    mask_id = tiny_backbone.special.mask
    expected = transfer_schedule(8, 4) * 2
    for (before, after), n in zip(states, expected):
        newly = (before == mask_id) & (after != mask_id)
        assert (newly.sum(dim=1) == n).all()
        kept = before != mask_id
        assert torch.equal(before[kept], after[kept])  # committed tokens never change
    assert (result.tokens != mask_id).all()


def test_eos_block_never_emits_eos(tiny_backbone):
    ids, mask = prompt_batch(tiny_backbone, TEXTS)
    eos = tiny_backbone.special.eos
    with torch.no_grad():  # make EOS the model's favourite token
        tiny_backbone.output_head.weight[eos] += 5.0
    try:
        plain = remasking_generate(tiny_backbone, ids, mask, 16, 4, 16)
        eos_block = remasking_generate(tiny_backbone, ids, mask, 16, 4, 8, eos_inf=True)
    finally:
        with torch.no_grad():
            tiny_backbone.output_head.weight[eos] -= 5.0
    assert (plain.tokens == eos).any()
    assert not (eos_block.tokens == eos).any()


def test_remasking_batched_equals_single(tiny_backbone):
    ids, mask = prompt_batch(tiny_backbone, TEXTS)
    batched = remasking_generate(tiny_backbone, ids, mask, 16, 8, 8, eos_inf=True).tokens
    for row, text in enumerate(TEXTS):
        single = remasking_generate(tiny_backbone, *prompt_batch(tiny_backbone, [text]), 16, 8, 8, eos_inf=True).tokens
        assert torch.equal(single[0], batched[row])


def test_sde_batched_equals_single_and_counts_forwards(tiny_dsl):
    ids, mask = prompt_batch(tiny_dsl.backbone, TEXTS)
    seeds = [11, 12, 13]
    batched = dsl_sde_generate(tiny_dsl, ids, mask, 16, 8, seeds, top_k=20)
    assert batched.nfe == 8 and batched.forward_passes == 9  # NFE + the final decode
    for row, text in enumerate(TEXTS):
        single = dsl_sde_generate(tiny_dsl, *prompt_batch(tiny_dsl.backbone, [text]), 16, 8, [seeds[row]], top_k=20)
        assert torch.equal(single.tokens[0], batched.tokens[row])


def test_sde_seeded_and_eta_zero_is_deterministic(tiny_dsl):
    ids, mask = prompt_batch(tiny_dsl.backbone, TEXTS[:2])
    a = dsl_sde_generate(tiny_dsl, ids, mask, 16, 8, [1, 2], eta=0.5).tokens
    b = dsl_sde_generate(tiny_dsl, ids, mask, 16, 8, [1, 2], eta=0.5).tokens
    assert torch.equal(a, b)
    # eta = 0: the diffusion term vanishes, so the result no longer depends on the dW draws
    # (only on the shared init): two different dW streams with the same init agree.
    state = {}

    def run(eta, perturb):
        y0 = torch.nn.functional.normalize(torch.randn(4, 8, generator=torch.Generator().manual_seed(0)), dim=-1)
        dw = torch.randn(4, 8, generator=torch.Generator().manual_seed(perturb))

        def denoise(y, s):
            return torch.tanh(y * s)

        return heun_sde_step(y0, 1.0, 2.0, denoise, eta, dw)

    state["a"], state["b"] = run(0.0, 1), run(0.0, 2)
    assert torch.equal(state["a"], state["b"])
    assert not torch.equal(run(0.1, 1), run(0.1, 2))


def test_heun_step_matches_hand_computation():
    y = torch.tensor([[1.0, 0.0]])
    dw = torch.tensor([[0.5, -0.5]])
    denoise = lambda y, s: torch.zeros_like(y)  # noqa: E731  x_hat = 0: f = -y/s
    s, s2, eta = 1.0, 3.0, 0.2
    f = -y / s
    y_pred = y + f * 2 + (eta / s) * dw
    f2 = -y_pred / s2
    expected = y + 0.5 * (f + f2) * 2 + 0.5 * (eta / s + eta / s2) * dw
    assert torch.allclose(heun_sde_step(y, s, s2, denoise, eta, dw), expected)


def test_odd_nfe_rejected_for_sde(tiny_dsl):
    ids, mask = prompt_batch(tiny_dsl.backbone, TEXTS[:1])
    with pytest.raises(SamplerConfigError, match="even NFE"):
        dsl_sde_generate(tiny_dsl, ids, mask, 16, 7, [0])


def test_topk_expectation_dense_and_gather_agree():
    gen = torch.Generator().manual_seed(0)
    table = torch.nn.functional.normalize(torch.randn(50, 6, generator=gen), dim=-1)
    logits = torch.randn(2, 3, 50, generator=gen) * 3
    dense = topk_expectation(logits, table, top_k=10)  # 50 <= 10*6: dense path
    probs = torch.softmax(logits, -1)
    p, i = probs.topk(10, -1)
    expected = torch.einsum("...k,...kd->...d", p / p.sum(-1, keepdim=True), table[i])
    assert torch.allclose(dense, expected, atol=1e-6)
    assert (dense.norm(dim=-1) <= 1 + 1e-6).all()  # inside the unit ball
    small_k = topk_expectation(logits, table, top_k=2)  # 50 > 2*6: gather path
    p, i = probs.topk(2, -1)
    assert torch.allclose(small_k, torch.einsum("...k,...kd->...d", p / p.sum(-1, keepdim=True), table[i]), atol=1e-6)


def test_chat_prompt_truncation_keeps_template(tiny_backbone):
    tok = tiny_backbone.tokenizer
    long_prompt = " ".join(f"w{i % 50}" for i in range(300))
    ids, truncated = chat_prompt_ids(tok, long_prompt, max_tokens=40)
    assert truncated and len(ids) <= 40
    assert tok.convert_ids_to_tokens(ids[-3:]) == ["<|start_header_id|>", "assistant", "<|end_header_id|>"]
    assert not math.isnan(len(ids))
