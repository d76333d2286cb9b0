"""DSL modules [protocol §1]: noise table, channel, converter, SNR sampling, checkpoints."""

import json
import math

import pytest
import torch
from safetensors.torch import load_file

from dsl_llada.dsl import (
    DSL_TENSORS,
    Converter,
    DSLConfig,
    DSLModel,
    configure_dsl_trainable,
    is_dsl_checkpoint,
    load_dsl_model,
    noise_channel,
    sample_mixed_snr,
    unit_noise_embedding,
)


def test_noise_table_rows_unit_norm_and_seeded():
    a = unit_noise_embedding(50, 16, seed=42)
    assert torch.allclose(a.norm(dim=-1), torch.ones(50), atol=1e-6)
    assert torch.equal(a, unit_noise_embedding(50, 16, seed=42))
    assert not torch.equal(a, unit_noise_embedding(50, 16, seed=43))


def test_noise_channel_moments():
    x = unit_noise_embedding(1, 4, 0).expand(20000, 4)
    s = torch.full((20000,), 9.0)
    z = noise_channel(x, s, torch.Generator().manual_seed(0))
    assert z.dtype == torch.float32
    assert torch.allclose(z.mean(0), 9.0 * x[0], atol=0.08)  # E z = s x
    assert torch.allclose(z.var(0), torch.full((4,), 9.0), rtol=0.05)  # Var z = s


def _bayes_posterior(z, table, prior):
    """Brute force p(v | z) with p(z | v) = N(z; s e_v, s I), computed for s = 1."""
    log_lik = torch.stack([-0.5 * ((z - e) ** 2).sum(-1) for e in table], dim=-1)
    log_post = log_lik + prior.log()
    return torch.softmax(log_post, dim=-1)


def test_converter_is_bayes_posterior_with_beta_one_and_log_prior():
    vocab, dim = 12, 6
    table = unit_noise_embedding(vocab, dim, 1)
    conv = Converter(vocab, dim, hidden_size=5, beta_init=1.0)
    prior = torch.softmax(torch.randn(vocab, generator=torch.Generator().manual_seed(2)), 0)
    with torch.no_grad():
        conv.logit_bias[:vocab] = prior.log()
        conv.logit_bias[vocab] = -1e9  # no mask slot for the posterior check
    x = table[3]
    z = noise_channel(x.expand(7, dim), torch.ones(7), torch.Generator().manual_seed(3))
    p = conv.probabilities(z, table)[:, :vocab]
    assert torch.allclose(p, _bayes_posterior(z, table, prior), atol=1e-5)


def test_converter_mask_slot_half_at_zero():
    vocab = 30
    conv = Converter(vocab, 8, hidden_size=4, beta_init=1.0)
    p = conv.probabilities(torch.zeros(2, 8), unit_noise_embedding(vocab, 8, 0))
    assert p.dtype == torch.float32
    assert torch.allclose(p[:, vocab], torch.full((2,), 0.5), atol=1e-6)
    assert math.isclose(conv.logit_bias[vocab].item(), math.log(vocab), rel_tol=1e-6)


def test_converter_init_copies_backbone_embedding(tiny_dsl):
    wte = tiny_dsl.backbone.input_embedding.weight
    w = tiny_dsl.converter.backbone_embedding.weight
    assert torch.equal(w[:, :-1], wte.T)
    assert torch.equal(w[:, -1], wte[tiny_dsl.backbone.special.mask])


def test_converter_chunking_does_not_change_output(tiny_dsl):
    z = torch.randn(3, 11, 8, generator=torch.Generator().manual_seed(0)) * 4
    full = tiny_dsl.converter(z, tiny_dsl.noise_table)
    chunked = tiny_dsl.converter(z, tiny_dsl.noise_table, chunk_tokens=5)
    assert torch.allclose(full, chunked, atol=1e-6)


@pytest.mark.parametrize("residual", ["none", "plain", "gated"])
def test_revealed_tokens_are_the_converters_infinite_snr_limit(tiny_backbone, residual):
    """embed_revealed(ids) = the converter's output for z = s * E[id] as s grows, whatever the
    residual (plain: only its bias survives; gated: closed), with trained-looking parameters."""
    model = DSLModel(tiny_backbone, DSLConfig(noise_dim=8, beta_init=1.0, residual=residual)).eval()
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for param in model.converter.parameters():
            param.add_(0.05 * torch.randn(param.shape, generator=gen))
    ids = torch.tensor([[1, 5, 9, 30, 61]])
    snr = torch.full(ids.shape, 1e3)  # p is one-hot to fp32 precision; larger s only adds rounding to z_perp
    limit = model.embed_noisy(snr.unsqueeze(-1) * model.noise_table[ids], snr=snr)
    revealed = model.embed_revealed(ids)
    assert revealed.shape == limit.shape
    torch.testing.assert_close(revealed, limit, atol=1e-4, rtol=1e-4)
    # and it is not the backbone's own wte path once the converter has moved
    assert not torch.allclose(revealed, model.backbone.embed(ids), atol=1e-3)


def test_is_dsl_checkpoint_for_ours_released_and_plain_folders(tiny_backbone, tmp_path):
    model = DSLModel(tiny_backbone, DSLConfig(noise_dim=8))
    model.save(tmp_path / "ours")
    _released_snapshot(tiny_backbone, tmp_path / "released", _authors_dsl_state(model))
    tiny_backbone.save(tmp_path / "plain")
    assert is_dsl_checkpoint(tmp_path / "ours") and is_dsl_checkpoint(tmp_path / "released")
    assert not is_dsl_checkpoint(tmp_path / "plain")


def test_snr_sampler_statistics():
    gen = torch.Generator().manual_seed(0)
    s = sample_mixed_snr(4000, 64, gen, roar_prob=0.1, mu=1.69, sigma=0.9, s_max=100, s_max_lognormal=40)
    roar_rows = (s > 40).any(dim=1)  # only ROAR rows can exceed the LogNormal clamp
    assert 0.07 < roar_rows.float().mean() < 0.11
    ln = s[~roar_rows]
    assert ln.max() <= 40
    assert abs(ln.median().item() - math.exp(1.69)) < 0.3  # median of LogNormal(1.69, .9) = 5.42
    roar = s[roar_rows]
    high = roar[roar >= 80]
    assert high.max() <= 100 and ((roar < 1) | (roar >= 80)).all()  # smoothed ROAR: U[0,1) or U[80,100]
    assert s.min() >= 0


def test_dsl_trainable_parameters(tiny_backbone):
    model = DSLModel(tiny_backbone, DSLConfig(noise_dim=8))
    configure_dsl_trainable(model)
    assert not model.noise_embed.weight.requires_grad
    assert not any(p.requires_grad for p in model.backbone.output_head.parameters())
    assert not model.backbone.input_embedding.weight.requires_grad
    assert model.converter.beta.requires_grad and model.converter.backbone_embedding.weight.requires_grad
    for p in model.parameters():
        p.requires_grad_(True)


@pytest.mark.parametrize("residual", ["none", "plain", "gated"])
def test_checkpoint_round_trip_with_released_names(tiny_backbone, tmp_path, residual):
    model = DSLModel(tiny_backbone, DSLConfig(noise_dim=8, beta_init=0.7, residual=residual))
    with torch.no_grad():
        model.converter.beta.fill_(0.99)
        model.converter.logit_bias.add_(0.25)
    model.save(tmp_path)
    names = set(load_file(str(tmp_path / DSL_TENSORS)))
    expected = {
        "noise_embed.weight",
        "converter.beta",
        "converter.logit_bias",
        "converter.backbone_embedding.weight",
        "converter.backbone_embedding.bias",
    }
    assert expected <= names
    assert any(n.startswith("converter.residual_proj.") for n in names) == (residual != "none")
    loaded = load_dsl_model(tmp_path)
    for key, value in model.dsl_modules_state().items():
        assert torch.equal(loaded.dsl_modules_state()[key], value), key
    for (k, a), (_, b) in zip(model.backbone.state_dict().items(), loaded.backbone.state_dict().items()):
        assert torch.equal(a, b), k


def test_released_layout_dsl_tensors_inside_model_shard(tiny_backbone, tmp_path):
    """Released checkpoints keep noise_embed/converter tensors in the model shards; they load
    unchanged, and the residual is inferred from the tensor names."""
    from safetensors.torch import save_file

    model = DSLModel(tiny_backbone, DSLConfig(noise_dim=8, residual="plain"))
    tiny_backbone.save(tmp_path)
    shard = load_file(str(tmp_path / "model.safetensors"))
    shard.update(model.dsl_modules_state())
    save_file(shard, str(tmp_path / "model.safetensors"))
    loaded = load_dsl_model(tmp_path)
    assert loaded.cfg.residual == "plain" and loaded.cfg.noise_dim == 8
    assert torch.equal(loaded.converter.residual_proj.weight, model.converter.residual_proj.weight)


def test_loading_a_non_dsl_folder_names_the_problem(tiny_backbone, tmp_path):
    tiny_backbone.save(tmp_path)
    with pytest.raises(ValueError, match="noise_embed.weight"):
        load_dsl_model(tmp_path)


def _released_snapshot(backbone, path, dsl_state: dict, *, shards: int = 2):
    """A checkpoint in the released repos' layout [protocol §2.5]: backbone and DSL tensors in
    the same sharded ``model-0000k-of-0000n.safetensors`` files, a weight_map index, no
    dsl_config.json, bf16 DSL tensors and a 0-dim beta (how the authors' training saved them)."""
    from safetensors.torch import save_file

    backbone.save(path)
    state = load_file(str(path / "model.safetensors"))
    (path / "model.safetensors").unlink()
    state.update(dsl_state)
    keys = sorted(state)
    weight_map = {}
    for k in range(shards):
        name = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        part = {key: state[key].contiguous() for key in keys[k::shards]}
        save_file(part, str(path / name))
        weight_map.update(dict.fromkeys(part, name))
    (path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))


def _authors_dsl_state(model, *, beta=0.99):
    state = {k: v.to(torch.bfloat16) for k, v in model.dsl_modules_state().items()}
    state["converter.beta"] = torch.tensor(beta, dtype=torch.bfloat16)  # 0-dim, as nn.Parameter(torch.tensor(x))
    state["converter.embed.weight"] = state["noise_embed.weight"].clone()  # the table registered twice
    state["log_snr_max"] = torch.tensor(math.log(100.0))
    return state


@pytest.mark.parametrize("residual", ["none", "plain"])
def test_released_snapshot_with_every_plausible_key_loads(tiny_backbone, tmp_path, residual):
    model = DSLModel(tiny_backbone, DSLConfig(noise_dim=8, residual=residual))
    state = _authors_dsl_state(model)
    _released_snapshot(tiny_backbone, tmp_path, state)
    loaded = load_dsl_model(tmp_path)
    assert loaded.cfg.residual == residual
    assert loaded.converter.beta.shape == (1,) and loaded.converter.beta.item() == pytest.approx(0.99, abs=1e-2)
    assert torch.equal(loaded.noise_embed.weight, state["noise_embed.weight"].float())
    assert torch.equal(loaded.converter.backbone_embedding.weight, state["converter.backbone_embedding.weight"].float())
    if residual == "plain":
        assert torch.equal(loaded.converter.residual_proj.bias, state["converter.residual_proj.bias"].float())


def test_released_converter_embed_must_equal_noise_embed(tiny_backbone, tmp_path):
    model = DSLModel(tiny_backbone, DSLConfig(noise_dim=8))
    state = _authors_dsl_state(model)
    state["converter.embed.weight"][3, 0] += 0.5
    _released_snapshot(tiny_backbone, tmp_path, state)
    with pytest.raises(ValueError, match=r"converter\.embed\.weight differs from noise_embed\.weight"):
        load_dsl_model(tmp_path)


def test_unknown_dsl_key_is_named(tiny_backbone, tmp_path):
    model = DSLModel(tiny_backbone, DSLConfig(noise_dim=8))
    state = _authors_dsl_state(model)
    state["converter.temperature"] = torch.tensor(1.0)
    _released_snapshot(tiny_backbone, tmp_path, state)
    with pytest.raises(ValueError, match=r"unexpected \['converter.temperature'\]"):
        load_dsl_model(tmp_path)


def test_dsl_tensors_are_read_only_from_the_shards_that_hold_them(tiny_backbone, tmp_path):
    """With a shard index, only the shards that map DSL keys are opened, and only their DSL
    tensors are read (the backbone loader reads the rest once)."""
    from dsl_llada.dsl import _dsl_files, read_dsl_tensors

    model = DSLModel(tiny_backbone, DSLConfig(noise_dim=8))
    _released_snapshot(tiny_backbone, tmp_path, _authors_dsl_state(model), shards=3)
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())["weight_map"]
    holding = {index[k] for k in index if k.startswith(("noise_embed.", "converter.")) or k == "log_snr_max"}
    other = {v for v in index.values()} - holding
    for name in other:  # a shard without DSL keys may be unreadable: it is never opened
        (tmp_path / name).write_bytes(b"not a safetensors file")
    assert {f.name for f in _dsl_files(tmp_path)} == holding
    tensors = read_dsl_tensors(tmp_path)
    assert set(tensors) == {k for k in index if k.startswith(("noise_embed.", "converter.")) or k == "log_snr_max"}


def test_beta_is_one_element_not_zero_dim(tiny_dsl):
    """DeepSpeed's start-up broadcast views each parameter as bytes; 0-dim tensors refuse that."""
    for name, p in tiny_dsl.named_parameters():
        assert p.dim() >= 1, name
    p = tiny_dsl.converter.beta.detach().to(torch.bfloat16)
    assert p.view(torch.uint8).numel() == 2


def test_dsl_model_initialisation_does_not_depend_on_the_global_rng(tiny_backbone):
    """The converter's random parts (Linear bias, residual projection) come from the config's seed:
    the same config gives the same DSL model whatever the global RNG holds (same seed, same bytes)."""
    torch.manual_seed(1)
    a = DSLModel(tiny_backbone, DSLConfig(noise_dim=8, residual="plain")).converter.state_dict()
    torch.manual_seed(2)
    b = DSLModel(tiny_backbone, DSLConfig(noise_dim=8, residual="plain")).converter.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = DSLModel(tiny_backbone, DSLConfig(noise_dim=8, residual="plain", noise_seed=7)).converter.state_dict()
    assert not torch.equal(a["backbone_embedding.bias"], c["backbone_embedding.bias"])
