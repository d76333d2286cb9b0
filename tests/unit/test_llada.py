"""Our native LLaDA network (dsl_llada.llada) against numbers from the authors' own code.

``tests/fixtures/llada_reference_logits.json`` holds only numbers: seeded tiny configs (the
hub config.json of GSAI-ML/LLaDA-8B-Instruct with the sizes overridden), the weight rule, the
inputs, the padding masks and the fp32 logits that the authors' ``modeling_llada.py`` (the
revision after their 2025-10-21 attention_mask update, run under transformers 4.46.3 and torch
2.13.0; see the fixture's ``source``) produced. Their code is not in this repository.
"""

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from dsl_llada.backbone import BackboneError
from dsl_llada.llada import LLaDAConfig, LLaDAModelLM

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "llada_reference_logits.json"
HUB_KEYS_PER_BLOCK = ("attn_norm", "attn_out", "ff_norm", "ff_out", "ff_proj", "k_proj", "q_proj", "up_proj", "v_proj")


@pytest.fixture(scope="module")
def reference():
    return json.loads(FIXTURE.read_text())


def rule_weights(model: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """The fixture's documented weight rule (``weight_rule``), applied to our parameter names."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key, value in sorted(model.state_dict().items()):
        z = torch.randn(tuple(value.shape), generator=gen, dtype=torch.float32)
        out[key] = 1.0 + 0.1 * z if key.endswith(("norm.weight", "ln_f.weight")) else z / math.sqrt(value.shape[1])
    return out


def reference_model(reference, case) -> LLaDAModelLM:
    config = LLaDAConfig(**{**reference["hub_config"], **case["config"]})
    model = LLaDAModelLM(config).eval()
    assert sorted(model.state_dict()) == case["state_dict_keys"]  # the hub's names, no more, no fewer
    model.load_state_dict(rule_weights(model, case["seed"]), strict=True)
    return model


def test_logits_match_the_authors_code(reference):
    assert "2025-10-21" in reference["source"]["code"] and reference["source"]["dtype"] == "float32"
    names = [case["name"] for case in reference["cases"]]
    assert names == ["mha_no_mask", "mha_padding_mask", "gqa_padding_mask"]
    for case in reference["cases"]:
        model = reference_model(reference, case)
        ids = torch.tensor(case["input_ids"])
        mask = None if case["attention_mask"] is None else torch.tensor(case["attention_mask"])
        expected = torch.tensor(case["expected_logits"])
        with torch.no_grad():
            got = model(input_ids=ids, attention_mask=mask).logits
            via_embeds = model(inputs_embeds=model.get_input_embeddings()(ids), attention_mask=mask).logits
        assert got.shape == expected.shape
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=0, msg=case["name"])
        torch.testing.assert_close(via_embeds, expected, atol=1e-5, rtol=0, msg=case["name"])


def test_the_padding_mask_matters_in_the_reference(reference):
    """Non-vacuous: the mask changes the real tokens' logits, so matching both cases checks it."""
    free, masked = (torch.tensor(c["expected_logits"]) for c in reference["cases"][:2])
    assert (free[1, :7] - masked[1, :7]).abs().max() > 1e-3
    assert torch.equal(free[0], masked[0])  # row 0 has no padding


@pytest.fixture(scope="module")
def tiny():
    config = LLaDAConfig(
        d_model=32,
        n_heads=4,
        n_kv_heads=2,
        n_layers=2,
        mlp_hidden_size=48,
        vocab_size=64,
        embedding_size=64,
        max_sequence_length=64,
        rope_theta=10000.0,
    )
    torch.manual_seed(0)
    return LLaDAModelLM(config).eval()


def test_right_padding_under_the_mask_leaves_real_tokens_unchanged(tiny):
    ids = torch.randint(0, 64, (1, 9), generator=torch.Generator().manual_seed(3))
    padded = torch.cat([ids, torch.full((1, 5), 7)], 1)
    mask = torch.cat([torch.ones(1, 9), torch.zeros(1, 5)], 1).long()
    with torch.no_grad():
        alone = tiny(input_ids=ids).logits
        hidden = tiny(input_ids=padded, attention_mask=mask).logits[:, :9]
        attended = tiny(input_ids=padded).logits[:, :9]
    torch.testing.assert_close(hidden, alone, atol=1e-5, rtol=0)
    assert (attended - alone).abs().max() > 1e-3


def test_bf16_padding_stays_finite_even_for_an_all_padding_row(tiny):
    """The bias is finfo(dtype).min in the attention's dtype, never -inf: no NaN in bf16 or
    under autocast, even where a row hides every key (the hub code gives such rows a uniform
    attention; those rows are never read)."""
    half = LLaDAModelLM(tiny.config).to(torch.bfloat16).eval()
    half.load_state_dict(tiny.state_dict())
    ids = torch.randint(0, 64, (2, 8), generator=torch.Generator().manual_seed(6))
    mask = torch.tensor([[1] * 5 + [0] * 3, [0] * 8])
    with torch.no_grad():
        assert torch.isfinite(half(input_ids=ids, attention_mask=mask).logits.float()).all()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert torch.isfinite(tiny(input_ids=ids, attention_mask=mask).logits.float()).all()


def test_positions_apply_the_head_to_a_window_only(tiny):
    ids = torch.randint(0, 64, (2, 12), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        full = tiny(input_ids=ids).logits
        window = tiny(input_ids=ids, positions=slice(5, None)).logits
    assert window.shape == (2, 7, 64)
    torch.testing.assert_close(window, full[:, 5:], atol=1e-6, rtol=0)


def test_hub_layout_at_8b_shape():
    """LLaDA-8B-Instruct's config.json keys give the hub's 291 tensor names and ~8.0B parameters."""
    hub = {
        "d_model": 4096,
        "n_heads": 32,
        "n_kv_heads": 32,
        "n_layers": 32,
        "mlp_hidden_size": 12288,
        "mlp_ratio": 4,
        "rope_theta": 500000.0,
        "vocab_size": 126464,
        "embedding_size": 126464,
        "max_sequence_length": 4096,
        "rms_norm_eps": 1e-05,
        "include_bias": False,
        "include_qkv_bias": False,
        "weight_tying": False,
        "block_type": "llama",
        "layer_norm_type": "rms",
        "activation_type": "silu",
        "rope": True,
        "alibi": False,
        "flash_attention": False,
        "init_device": "meta",
        "precision": "amp_bf16",
        "auto_map": {"AutoModel": "modeling_llada.LLaDAModelLM"},
        "mask_token_id": 126336,
    }
    config = LLaDAConfig(**hub)
    assert not hasattr(config, "auto_map")
    with torch.device("meta"):
        model = LLaDAModelLM(config)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    expected = {"model.transformer.wte.weight", "model.transformer.ln_f.weight", "model.transformer.ff_out.weight"}
    expected |= {f"model.transformer.blocks.{i}.{name}.weight" for i in range(32) for name in HUB_KEYS_PER_BLOCK}
    assert set(shapes) == expected and len(shapes) == 291
    assert shapes["model.transformer.blocks.0.ff_proj.weight"] == (12288, 4096)
    assert shapes["model.transformer.ff_out.weight"] == (126464, 4096)
    assert 8.0e9 < sum(p.numel() for p in model.parameters()) < 8.1e9
    assert all(p.ndim >= 1 for p in model.parameters())  # DeepSpeed cannot broadcast 0-dim tensors


@pytest.mark.parametrize(
    "key, value",
    [
        ("block_type", "sequential"),
        ("layer_norm_type", "default"),
        ("weight_tying", True),
        ("alibi", True),
        ("include_bias", True),
        ("activation_type", "gelu"),
        ("residual_dropout", 0.1),
    ],
)
def test_unimplemented_switches_are_refused_by_name(key, value):
    with pytest.raises(BackboneError, match=key):
        LLaDAConfig(**{key: value})


def test_save_load_round_trip_sharded_bf16(tiny, tmp_path):
    tiny.save_pretrained(tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json").exists() and len(list(tmp_path.glob("*.safetensors"))) > 1
    assert "auto_map" not in json.loads((tmp_path / "config.json").read_text())
    again = LLaDAModelLM.from_pretrained(tmp_path).eval()
    ids = torch.tensor([[1, 5, 9, 2]])
    with torch.no_grad():
        assert torch.equal(again(input_ids=ids).logits, tiny(input_ids=ids).logits)
    half = LLaDAModelLM.from_pretrained(tmp_path, dtype=torch.bfloat16)
    assert {p.dtype for p in half.parameters()} == {torch.bfloat16}


def _single_file_copy(tiny, path: Path) -> Path:
    tiny.save_pretrained(path)
    return path / "model.safetensors"


def test_strict_loading_names_missing_and_unexpected_keys(tiny, tmp_path):
    weights = _single_file_copy(tiny, tmp_path)
    tensors = load_file(str(weights))
    tensors.pop("model.transformer.blocks.1.up_proj.weight")
    tensors["model.transformer.blocks.0.att_proj.weight"] = torch.zeros(3, 32)
    save_file(tensors, str(weights), metadata={"format": "pt"})
    with pytest.raises(BackboneError) as err:
        LLaDAModelLM.from_pretrained(tmp_path)
    assert "model.transformer.blocks.1.up_proj.weight" in str(err.value)
    assert "model.transformer.blocks.0.att_proj.weight" in str(err.value)


def test_strict_loading_names_a_mis_shaped_key_and_allows_declared_extras(tiny, tmp_path):
    weights = _single_file_copy(tiny, tmp_path)
    tensors = load_file(str(weights))
    tensors["noise_embed.weight"] = torch.zeros(64, 8)  # a DSL module sharing the shard: not ours
    save_file(tensors, str(weights), metadata={"format": "pt"})
    with pytest.raises(BackboneError, match="noise_embed.weight"):
        LLaDAModelLM.from_pretrained(tmp_path)
    LLaDAModelLM.from_pretrained(tmp_path, extra_key_prefixes=("noise_embed.",))
    tensors["model.transformer.ln_f.weight"] = torch.ones(31)
    save_file(tensors, str(weights), metadata={"format": "pt"})
    with pytest.raises(BackboneError, match="ln_f"):
        LLaDAModelLM.from_pretrained(tmp_path, extra_key_prefixes=("noise_embed.",))


def test_activation_checkpointing_gives_the_same_gradients(tiny):
    model = LLaDAModelLM(tiny.config)
    model.load_state_dict(tiny.state_dict())
    model.train()
    ids = torch.randint(0, 64, (2, 10), generator=torch.Generator().manual_seed(5))

    def grads():
        model.zero_grad()
        model(input_ids=ids).logits.float().pow(2).mean().backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    calls = []
    model.model.transformer.blocks[0].ff_proj.register_forward_hook(lambda *_: calls.append(1))
    plain = grads()
    assert len(calls) == 1
    model.activation_checkpointing_enable()
    checkpointed = grads()
    assert len(calls) == 3  # the block ran again in the backward pass: its activations were not kept
    for name in plain:
        torch.testing.assert_close(checkpointed[name], plain[name], atol=1e-6, rtol=1e-5)
