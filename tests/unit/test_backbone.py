"""The backbone interface: the toy and LLaDA-8B's hub layout both load into our native LLaDA class."""

import json
import shutil

import pytest
import torch

from dsl_llada.backbone import BACKBONE_META, BackboneError, build_toy_backbone, load_backbone
from dsl_llada.dsl import DSLConfig, DSLModel, load_dsl_model
from dsl_llada.llada import LLaDAModelLM
from dsl_llada.sampling import chat_prompt_ids, dsl_sde_generate, left_pad, remasking_generate

LOCKED_SHA = "0123456789abcdef0123456789abcdef01234567"
# Stand-ins for the hub repository's remote code: if anything imported them, the load would fail.
REMOTE_CODE = "raise RuntimeError('remote code from the model folder was executed')\n"


def test_toy_backbone_structure(tiny_backbone):
    m = tiny_backbone.model
    assert type(m) is LLaDAModelLM and tiny_backbone.family == "llada"
    assert not m.config.weight_tying
    assert tiny_backbone.output_head is m.model.transformer.ff_out
    assert tiny_backbone.input_embedding is m.model.transformer.wte
    assert tiny_backbone.output_head.weight.data_ptr() != tiny_backbone.input_embedding.weight.data_ptr()
    assert not any(name.endswith("bias") for name, _ in m.named_parameters())  # no biases, as LLaDA
    assert m.config.rows == len(tiny_backbone.tokenizer) and m.config.mask_token_id == tiny_backbone.special.mask
    tok = tiny_backbone.tokenizer
    assert tok.mask_token == "<|mdm_mask|>" and tok.convert_ids_to_tokens(tiny_backbone.special.eot) == "<|eot_id|>"
    text = tok.apply_chat_template([{"role": "user", "content": "w1 w2"}], add_generation_prompt=True, tokenize=False)
    assert text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")


def test_toy_backbone_is_seeded():
    words, arch = (
        [f"w{i}" for i in range(20)],
        dict(hidden_size=16, intermediate_size=24, num_layers=1, num_heads=2, max_positions=32),
    )
    a, b, c = (build_toy_backbone(words, arch, seed).model.state_dict() for seed in (3, 3, 4))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["model.transformer.wte.weight"], c["model.transformer.wte.weight"])


def test_toy_backbone_save_load_round_trip(tiny_backbone, tmp_path):
    tiny_backbone.save(tmp_path)
    loaded = load_backbone(tmp_path)
    assert loaded.special == tiny_backbone.special and loaded.family == "llada"
    assert type(loaded.model) is LLaDAModelLM
    ids = torch.tensor([[5, 6, 7, tiny_backbone.special.mask]])
    assert torch.equal(loaded(input_ids=ids), tiny_backbone(input_ids=ids))
    assert not list(tmp_path.glob("*.bin"))  # safetensors only
    assert "auto_map" not in json.loads((tmp_path / "config.json").read_text())


@pytest.fixture(scope="module")
def llada_dir(tmp_path_factory, tiny_backbone):
    """A tiny model in LLaDA-8B-Instruct's hub layout, as the download rule leaves it: the hub's
    config keys with ``auto_map`` pointing at remote code, a tokenizer config asking for remote
    code, sharded safetensors, and our metadata (family, special ids, locked revision)."""
    path = tmp_path_factory.mktemp("llada")
    tiny_backbone.model.save_pretrained(path, max_shard_size="40KB")
    tiny_backbone.tokenizer.save_pretrained(path)
    config = json.loads((path / "config.json").read_text())
    config.update(
        {
            "auto_map": {
                "AutoConfig": "configuration_llada.LLaDAConfig",
                "AutoModel": "modeling_llada.LLaDAModelLM",
                "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM",
            },
            "init_device": "meta",
            "init_fn": "mitchell",
            "precision": "amp_bf16",
            "flash_attention": False,
            "alibi": False,
            "include_qkv_bias": False,
            "input_emb_norm": False,
            "scale_logits": False,
        }
    )
    (path / "config.json").write_text(json.dumps(config))
    tok_config = json.loads((path / "tokenizer_config.json").read_text())
    tok_config.update(
        {
            "trust_remote_code": True,
            "tokenizer_class": "PreTrainedTokenizerFast",
            "auto_map": {"AutoTokenizer": ["tokenization_llada.LLaDATokenizer", None]},
        }
    )
    (path / "tokenizer_config.json").write_text(json.dumps(tok_config))
    for name in ("configuration_llada.py", "modeling_llada.py", "tokenization_llada.py"):
        (path / name).write_text(REMOTE_CODE)
    (path / BACKBONE_META).write_text(
        json.dumps(
            {
                "family": "llada",
                "special_ids": tiny_backbone.special.as_dict(),
                "hub_id": "GSAI-ML/LLaDA-8B-Instruct",
                "revision": LOCKED_SHA,
            }
        )
    )
    assert len(list(path.glob("*.safetensors"))) > 1
    return path


def test_llada_layout_loads_natively_without_remote_code(llada_dir, tiny_backbone):
    bb = load_backbone(llada_dir)  # REMOTE_CODE raises if any of the folder's *.py files is imported
    assert bb.family == "llada" and type(bb.model) is LLaDAModelLM and bb.origin["revision"] == LOCKED_SHA
    assert bb.output_head is bb.model.model.transformer.ff_out
    assert bb.input_embedding is bb.model.model.transformer.wte
    from transformers import PreTrainedTokenizerFast

    assert isinstance(bb.tokenizer, PreTrainedTokenizerFast)
    assert bb.tokenizer.convert_tokens_to_ids("<|mdm_mask|>") == bb.special.mask
    ids = torch.tensor([[4, 9, 10, bb.special.mask]])
    assert torch.equal(bb(input_ids=ids), tiny_backbone(input_ids=ids))
    emb = bb.embed(ids)
    assert torch.allclose(bb(inputs_embeds=emb), bb(input_ids=ids))
    torch.testing.assert_close(bb(input_ids=ids, positions=2), bb(input_ids=ids)[:, 2:], atol=1e-6, rtol=0)


def test_llada_layout_runs_every_sampler_and_dsl_round_trip(llada_dir, tmp_path):
    bb = load_backbone(llada_dir)
    ids, mask = left_pad([chat_prompt_ids(bb.tokenizer, p)[0] for p in ["w1 w2 w3", "w4"]], bb.special.pad)
    assert remasking_generate(bb, ids, mask, 16, 8).forward_passes == 8
    assert not (remasking_generate(bb, ids, mask, 16, 8, 8, eos_inf=True).tokens == bb.special.eos).any()
    dsl = DSLModel(bb, DSLConfig(noise_dim=8))
    assert dsl_sde_generate(dsl, ids, mask, 16, 8, [1, 2]).forward_passes == 9
    dsl.save(tmp_path / "dsl")
    again = load_dsl_model(tmp_path / "dsl")  # backbone and DSL tensors share the folder: both strict
    assert again.backbone.family == "llada"
    assert torch.equal(again.converter.backbone_embedding.weight, dsl.converter.backbone_embedding.weight)


def test_llada_layout_with_a_missing_tensor_names_it(llada_dir, tmp_path):
    from safetensors.torch import load_file, save_file

    broken = tmp_path / "broken"
    shutil.copytree(llada_dir, broken)
    index = json.loads((broken / "model.safetensors.index.json").read_text())
    shard = broken / index["weight_map"]["model.transformer.ln_f.weight"]
    tensors = load_file(str(shard))
    del tensors["model.transformer.ln_f.weight"]
    save_file(tensors, str(shard), metadata={"format": "pt"})
    del index["weight_map"]["model.transformer.ln_f.weight"]
    (broken / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(BackboneError, match=r"missing \['model.transformer.ln_f.weight'\]"):
        load_backbone(broken)


def test_former_eurobert_folders_are_refused_with_a_hint(tiny_backbone, tmp_path):
    tiny_backbone.save(tmp_path)
    meta = json.loads((tmp_path / BACKBONE_META).read_text())
    (tmp_path / BACKBONE_META).write_text(json.dumps(dict(meta, family="eurobert")))
    with pytest.raises(BackboneError, match="rebuild"):
        load_backbone(tmp_path)


def test_unknown_family_names_the_key(tmp_path):
    with pytest.raises(BackboneError, match="model.family"):
        load_backbone(tmp_path, family="gpt")
