"""The backbone interface at both sizes: toy EuroBERT and LLaDA's remote-code layout."""

import json
import sys
from pathlib import Path

import pytest
import torch

from dsl_llada.backbone import BACKBONE_META, BackboneError, build_toy_tokenizer, load_backbone
from dsl_llada.dsl import DSLConfig, DSLModel, load_dsl_model
from dsl_llada.prompts import chat_prompt_ids
from dsl_llada.sampling import dsl_sde_generate, left_pad, remasking_generate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LOCKED_SHA = "0123456789abcdef0123456789abcdef01234567"


def test_toy_backbone_structure(tiny_backbone):
    m = tiny_backbone.model
    assert type(m).__name__ == "EuroBertForMaskedLM"
    assert not m.config.tie_word_embeddings
    assert tiny_backbone.output_head.weight.data_ptr() != tiny_backbone.input_embedding.weight.data_ptr()
    assert not any(name.endswith("bias") for name, _ in m.named_parameters())  # no biases, as LLaDA
    tok = tiny_backbone.tokenizer
    assert tok.mask_token == "<|mdm_mask|>" and tok.convert_ids_to_tokens(tiny_backbone.special.eot) == "<|eot_id|>"
    text = tok.apply_chat_template([{"role": "user", "content": "w1 w2"}], add_generation_prompt=True, tokenize=False)
    assert text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")


def test_toy_backbone_save_load_round_trip(tiny_backbone, tmp_path):
    tiny_backbone.save(tmp_path)
    loaded = load_backbone(tmp_path)
    assert loaded.special == tiny_backbone.special and loaded.family == "eurobert"
    ids = torch.tensor([[5, 6, 7, tiny_backbone.special.mask]])
    assert torch.equal(loaded(input_ids=ids), tiny_backbone(input_ids=ids))
    assert not list(tmp_path.glob("*.bin"))  # safetensors only


@pytest.fixture(scope="module")
def llada_dir(tmp_path_factory):
    """A tiny model saved in LLaDA-8B's layout: remote code via auto_map + our metadata, as the
    download rule leaves it (family, special ids, locked revision)."""
    sys.path.insert(0, str(FIXTURES))
    from tiny_llada.configuration_llada import LLaDAConfig
    from tiny_llada.modeling_llada import LLaDAModelLM

    tok = build_toy_tokenizer([f"w{i}" for i in range(50)])
    LLaDAConfig.register_for_auto_class()
    LLaDAModelLM.register_for_auto_class("AutoModel")
    torch.manual_seed(0)
    model = LLaDAModelLM(LLaDAConfig(vocab_size=len(tok), embedding_size=len(tok), mask_token_id=tok.mask_token_id))
    path = tmp_path_factory.mktemp("llada")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    special = {r: tok.convert_tokens_to_ids(t) for r, t in
               dict(mask="<|mdm_mask|>", eos="<|endoftext|>", eot="<|eot_id|>", pad="<|pad|>").items()}
    (path / BACKBONE_META).write_text(json.dumps({"family": "llada", "special_ids": special,
                                                  "hub_id": "GSAI-ML/LLaDA-8B-Instruct", "revision": LOCKED_SHA}))
    return path, model


def test_llada_layout_loads_through_remote_code(llada_dir):
    path, reference = llada_dir
    assert "auto_map" in json.loads((path / "config.json").read_text())
    bb = load_backbone(path)
    assert bb.family == "llada" and type(bb.model).__name__ == "LLaDAModelLM"
    assert bb.output_head is bb.model.model.transformer.ff_out
    assert bb.input_embedding is bb.model.model.transformer.wte
    ids = torch.tensor([[4, 9, 10, bb.special.mask]])
    assert torch.allclose(bb(input_ids=ids), reference(input_ids=ids).logits)
    emb = bb.embed(ids)
    assert torch.allclose(bb(inputs_embeds=emb), bb(input_ids=ids))


def test_llada_layout_runs_every_sampler_and_dsl_round_trip(llada_dir, tmp_path):
    path, _ = llada_dir
    bb = load_backbone(path)
    ids, mask = left_pad([chat_prompt_ids(bb.tokenizer, p)[0] for p in ["w1 w2 w3", "w4"]], bb.special.pad)
    assert remasking_generate(bb, ids, mask, 16, 8).forward_passes == 8
    assert not (remasking_generate(bb, ids, mask, 16, 8, 8, eos_inf=True).tokens == bb.special.eos).any()
    dsl = DSLModel(bb, DSLConfig(noise_dim=8))
    assert dsl_sde_generate(dsl, ids, mask, 16, 8, [1, 2]).forward_passes == 9
    dsl.save(tmp_path / "dsl")
    again = load_dsl_model(tmp_path / "dsl")
    assert again.backbone.family == "llada"
    assert torch.equal(again.converter.backbone_embedding.weight, dsl.converter.backbone_embedding.weight)


def test_remote_code_needs_a_locked_sha(llada_dir, tmp_path):
    with pytest.raises(BackboneError, match="40-hex commit SHA"):
        load_backbone("GSAI-ML/LLaDA-8B-Instruct", family="llada", trust_remote_code=True, revision="main")
    path, _ = llada_dir
    meta = json.loads((path / BACKBONE_META).read_text())
    unlocked = tmp_path / "unlocked"
    import shutil

    shutil.copytree(path, unlocked)
    (unlocked / BACKBONE_META).write_text(json.dumps(dict(meta, revision="main")))
    with pytest.raises(BackboneError, match="40-hex commit SHA"):
        load_backbone(unlocked)


def test_unknown_family_names_the_key(tmp_path):
    with pytest.raises(BackboneError, match="model.family"):
        load_backbone(tmp_path, family="gpt")
