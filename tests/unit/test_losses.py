"""Objectives [protocol §1.4, §2.3] on hand-worked examples."""

import math

import torch

from dsl_llada.losses import dsl_loss, dsl_training_loss, mdm_forward_process, mdm_loss


def test_mdm_loss_hand_worked():
    # B=1, L=3, V=2. Position 0 masked with p=0.5, position 2 masked, position 1 clean.
    logits = torch.tensor([[[0.0, 0.0], [5.0, -5.0], [math.log(3.0), 0.0]]])
    targets = torch.tensor([[1, 0, 0]])
    masked = torch.tensor([[True, False, True]])
    p = torch.full((1, 3), 0.5)
    ce0 = math.log(2.0)  # uniform over 2 tokens
    ce2 = -math.log(3.0 / 4.0)  # softmax([ln 3, 0]) = [3/4, 1/4]
    expected = (ce0 / 0.5 + ce2 / 0.5) / 3  # / (B*L), never by the masked count
    assert math.isclose(mdm_loss(logits, targets, masked, p).item(), expected, rel_tol=1e-6)


def test_dsl_loss_every_position_over_BL():
    logits = torch.zeros(2, 4, 5)
    targets = torch.randint(0, 5, (2, 4))
    assert math.isclose(dsl_loss(logits, targets).item(), math.log(5.0), rel_tol=1e-6)
    weight = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0]])
    assert math.isclose(dsl_loss(logits, targets, weight).item(), 3 * math.log(5.0) / 8, rel_tol=1e-6)


def test_mdm_forward_process_rates_and_maskable():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 50, (4000, 32))
    noisy, masked, p = mdm_forward_process(ids, mask_id=3, generator=gen)
    assert torch.equal(noisy[masked], torch.full_like(noisy[masked], 3))
    assert torch.equal(noisy[~masked], ids[~masked])
    assert ((p >= 1e-3) & (p <= 1.0)).all() and torch.equal(p[:, 0], p[:, -1])
    assert abs(masked.float().mean().item() - 0.5) < 0.01  # E[p] = 1/2
    row_rate = masked.float().mean(1)
    assert torch.corrcoef(torch.stack([row_rate, p[:, 0]]))[0, 1] > 0.95
    keep = torch.zeros(4000, 32, dtype=torch.bool)
    keep[:, 16:] = True
    _, masked2, _ = mdm_forward_process(ids, 3, torch.Generator().manual_seed(0), maskable=keep)
    assert not masked2[:, :16].any()


def test_dsl_training_loss_clean_prompt_positions_carry_no_loss(tiny_dsl):
    ids = torch.randint(8, 60, (2, 10))
    maskable = torch.zeros(2, 10, dtype=torch.bool)
    maskable[:, 6:] = True
    snr = dict(roar_prob=0.1, mu=1.69, sigma=0.9, s_max=100, s_max_lognormal=40)
    a = dsl_training_loss(tiny_dsl, ids, torch.Generator().manual_seed(1), snr, maskable)
    b = dsl_training_loss(tiny_dsl, ids, torch.Generator().manual_seed(1), snr, maskable)
    assert torch.equal(a, b)  # seeded
    full = dsl_training_loss(tiny_dsl, ids, torch.Generator().manual_seed(1), snr)
    assert a < full  # 4 of 10 positions excluded from the sum, same B*L divisor
