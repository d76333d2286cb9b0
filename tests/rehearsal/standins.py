"""Tiny, seeded stand-ins for every hub artifact the paper presets read, in the real layout.

The rehearsal (tests/rehearsal/test_rehearsal.py) runs `released`, `quick` and `paper` end to end
offline, as a reviewer would, on these files. Each stand-in keeps the real artifact's file names,
config keys, tensor names, special-token ids and dataset columns; only sizes shrink.

    python tests/rehearsal/standins.py --out /tmp/standins

writes (paths relative to --out; a Snakemake working directory can take them as they are):

  rehearsal/hub.lock.yaml                every hub id of config/hub.lock.yaml at a fake 40-hex SHA
  rehearsal/models/<repo name>/          snapshot folders (what `hf download --local-dir` gives)
  resources/hub/models--<org>--<name>/   the same snapshots as a pre-populated Hugging Face cache
                                         (blobs/, refs/main, snapshots/<sha>/ -> ../../blobs/...)
  resources/datasets/<bench>/test/       `Dataset.save_to_disk` folders with the hub columns
  resources/datasets/gsm8k/test/, resources/datasets/hendrycks_math/<config>/test/   the same
  resources/datasets/fineweb-edu/sample-10BT/sample/10BT/000_00000.parquet   FineWeb-Edu columns
  resources/paper_eval/texts_100.json    robustness texts in the authors' record format [§7]

What is real and where it comes from (checked with public copies; no third-party code here):

* GSAI-ML/LLaDA-8B-Instruct `config.json`: every key and value of the hub file except the sizes
  (d_model, n_heads, n_kv_heads, n_layers, mlp_hidden_size); `embedding_size`/`vocab_size` stay
  126,464. `tokenizer_config.json`: the hub file's keys; added tokens 126080-126348 with their real
  contents (BOS <|startoftext|> 126080, EOS <|endoftext|> 126081, [CLS] 126082, [gMASK] 126083,
  <|reserved_token_k|> 126084+k, <|mdm_mask|> 126336, <role> ... <|number_end|> 126340-126345,
  <|start_header_id|> 126346, <|end_header_id|> 126347, <|eot_id|> 126348) and the real chat
  template. `generation_config.json`: the hub file. `model.safetensors.index.json` + shards: the
  hub key names (model.transformer.wte, blocks.N.{q,k,v}_proj, attn_out, attn_norm, ff_norm,
  ff_proj, up_proj, ff_out, ln_f, transformer.ff_out) and the hub's key-to-shard pattern.
* Assumed (no public copy found): `special_tokens_map.json` (rebuilt from tokenizer_config.json)
  and the BPE merges (a byte-level BPE trained on the stand-in text, padded with filler tokens so
  that the special tokens sit at their real ids).
* liddlefish/DSL-LLaDA-*: LLaDA's weights plus `noise_embed.weight`, `converter.{beta (0-dim),
  logit_bias, backbone_embedding.weight, backbone_embedding.bias, embed.weight}` (the authors'
  converter registers the noise table a second time as `embed`), `log_snr_max` (0-dim, a parameter
  the authors' attach_dsl_modules registers on the model at fengsxy/DSL-LLaDA 33f2925) and, for
  Highpass, `converter.residual_proj.{weight,bias}`. The DSL tensors sit in one shard, the one the
  index names for `noise_embed.weight` (the authors' inference reads them from there), all bf16.
  Beta1 ships tokenizer files (a Trainer save); Beta2 and Highpass do not, as the authors'
  inference takes the tokenizer from LLaDA-8B-Instruct: both layouts are exercised.
* No `modeling_llada.py` / `configuration_llada.py`: the workflow must not need remote code
  (config.json keeps its `auto_map`, so code that still tried to import it would fail here).
* Benchmarks: EdinburghNLP/xsum (document, summary, id), cnn_dailymail 3.0.0 (article,
  highlights, id), ccdv/pubmed- and arxiv-summarization (article, abstract; no id column), with a
  few empty rows as in the real splits. FineWeb-Edu sample-10BT: its ten columns.

The paper items beyond the summaries (Figure 2 / GenPPL, BERTScore, the AR rows, reasoning). The
config values and token ids below are the hub files' as we know them; public copies confirmed
Qwen's added tokens and ids and Llama-3.1's default system header and template variables, the
rest was not re-checked against the hub here (no network):

* openai-community/gpt2-large `config.json`: the hub keys and values except n_embd, n_head,
  n_layer (vocab 50,257, n_positions 1,024, gelu_new, <|endoftext|> 50256 as BOS/EOS).
  vocab.json + merges.txt + tokenizer.json (byte-level BPE; <|endoftext|> the only added token,
  at 50256), generation_config.json, one fp32 `model.safetensors` under GPT2Model's key names
  (wte, wpe, h.N.{ln_1,attn.c_attn,attn.c_proj,ln_2,mlp.c_fc,mlp.c_proj}, ln_f; no prefix, no
  lm_head: tied). Assumed: no tokenizer_config.json; the h.N.attn.bias causal-mask buffers are
  stored (the file was converted from the pickled checkpoint, which holds them).
* FacebookAI/roberta-large `config.json`: the hub keys and values except hidden_size,
  num_attention_heads, intermediate_size; its 24 layers stay (bert-score reads layer 17).
  vocab.json with <s> 0, <pad> 1, </s> 2, <unk> 3, <mask> 50264 (vocab 50,265), merges.txt,
  tokenizer.json (RoBERTa post-processor <s> $A </s>), fp32 `model.safetensors` under
  RobertaForMaskedLM's names (roberta.embeddings/encoder, lm_head.{dense,layer_norm,bias}; the
  decoder weight is tied). No tokenizer_config.json: the hub repository has none, so no
  model_max_length (transformers took 512 from a table of hub names until 4.40). Assumed: no
  pooler tensors.
  The BERTScore rescale baseline is the bert-score package's own roberta-large file (real).
* Qwen/Qwen2.5-7B-Instruct `config.json`: the hub keys and values except hidden_size, heads,
  kv heads, layers, intermediate_size, max_window_layers (vocab 152,064, rope_theta 1e6,
  bos 151643, eos 151645, no tied embeddings). tokenizer.json (NFC + byte-level BPE; 151,643
  base tokens, then the 22 added tokens <|endoftext|> 151643 ... <|im_start|> 151644,
  <|im_end|> 151645 ... <|file_sep|> 151664, special up to <|video_pad|>), vocab.json,
  merges.txt, tokenizer_config.json (Qwen2Tokenizer, eos <|im_end|>, pad <|endoftext|>, no BOS),
  generation_config.json (the hub's sampling defaults, repetition_penalty 1.05, which greedy
  generate still applies), four bf16 shards + index under Qwen2ForCausalLM's key names.
* meta-llama/Llama-3.1-8B-Instruct `config.json`: the hub keys and values except the sizes
  (vocab 128,256, llama3 rope_scaling, eos [128001, 128008, 128009]). tokenizer.json
  (byte-level BPE, 128,000 base tokens, the 256 special tokens 128000-128255 with their real
  contents: <|begin_of_text|>, <|end_of_text|>, <|finetune_right_pad_id|> 128004,
  <|start_header_id|> 128006, <|end_header_id|> 128007, <|eom_id|> 128008, <|eot_id|> 128009,
  <|python_tag|> 128010, the others <|reserved_special_token_k|>), the post-processor that
  prepends <|begin_of_text|> (as the hub's), tokenizer_config.json (PreTrainedTokenizerFast, eos
  <|eot_id|>, no pad), special_tokens_map.json, generation_config.json, four bf16 shards + index
  under LlamaForCausalLM's names. The `original/` folder (Meta's checkpoint) is left out.
* Chat templates: for Qwen2.5 and Llama-3.1, the templates' branch for system / user / assistant
  messages without tools, written here to render the same text as the hub templates (Qwen's
  default system line; Llama's system header with "Cutting Knowledge Date: December 2023" and
  "Today Date: 26 Jul 2024", BOS from the template); the tool-calling branches are left out.
* Assumed for all four: the BPE merges and base vocabulary (trained on the stand-in text, padded
  with filler tokens so that the special tokens sit at their real ids; the real pre-tokenizer
  split patterns are replaced by plain byte-level splitting), the shard split of the 4-shard
  models, and generation_config's transformers_version of GPT-2.
* Reasoning: openai/gsm8k config main, split test (question, answer ending "#### <number>",
  with the <<a+b=c>> calculator annotations) and EleutherAI/hendrycks_math's seven configs,
  split test (problem, level "Level k", type, solution with a \\boxed{} answer), as save_to_disk
  folders at resources/datasets/gsm8k/test and resources/datasets/hendrycks_math/<config>/test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
from pathlib import Path

HUB_MODELS = {
    "GSAI-ML/LLaDA-8B-Instruct": "base",
    "liddlefish/DSL-LLaDA-Beta1": "beta1",
    "liddlefish/DSL-LLaDA-Beta2": "beta2",
    "liddlefish/DSL-LLaDA-Highpass": "highpass",
}
HUB_DATASETS = (
    "EdinburghNLP/xsum",
    "cnn_dailymail",
    "ccdv/pubmed-summarization",
    "ccdv/arxiv-summarization",
    "HuggingFaceFW/fineweb-edu",
)

# --- GSAI-ML/LLaDA-8B-Instruct config.json: the hub values; SIZES are the stand-in's ---------
LLADA_CONFIG = {
    "activation_type": "silu",
    "alibi": False,
    "alibi_bias_max": 8.0,
    "architectures": ["LLaDAModelLM"],
    "attention_dropout": 0.0,
    "attention_layer_norm": False,
    "attention_layer_norm_with_affine": True,
    "auto_map": {
        "AutoConfig": "configuration_llada.LLaDAConfig",
        "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM",
        "AutoModel": "modeling_llada.LLaDAModelLM",
    },
    "bias_for_layer_norm": False,
    "block_group_size": 1,
    "block_type": "llama",
    "d_model": 4096,
    "embedding_dropout": 0.0,
    "embedding_size": 126464,
    "eos_token_id": 126081,
    "flash_attention": False,
    "include_bias": False,
    "include_qkv_bias": False,
    "init_cutoff_factor": None,
    "init_device": "meta",
    "init_fn": "mitchell",
    "init_std": 0.02,
    "input_emb_norm": False,
    "layer_norm_type": "rms",
    "layer_norm_with_affine": True,
    "mask_token_id": 126336,
    "max_sequence_length": 4096,
    "mlp_hidden_size": 12288,
    "mlp_ratio": 4,
    "model_type": "llada",
    "multi_query_attention": None,
    "n_heads": 32,
    "n_kv_heads": 32,
    "n_layers": 32,
    "pad_token_id": 126081,
    "precision": "amp_bf16",
    "residual_dropout": 0.0,
    "rms_norm_eps": 1e-05,
    "rope": True,
    "rope_full_precision": True,
    "rope_theta": 500000.0,
    "scale_logits": False,
    "transformers_version": "4.46.3",
    "use_cache": False,
    "vocab_size": 126464,
    "weight_tying": False,
}
SIZES = {"d_model": 16, "n_heads": 2, "n_kv_heads": 2, "n_layers": 2, "mlp_hidden_size": 48}  # 12288 = 3 d
GENERATION_CONFIG = {
    "_from_model_config": True,
    "bos_token_id": 126080,
    "eos_token_id": 126081,
    "transformers_version": "4.46.2",
}

BOS, EOS, MASK, EOT = 126080, 126081, 126336, 126348
N_BASE_VOCAB = 126080  # ids below the added tokens
CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
)
EXTRA_SPECIALS = [
    "<role>",
    "</role>",
    "<|arithmetic_start|>",
    "<|arithmetic_end|>",
    "<|number_start|>",
    "<|number_end|>",
]

# Hub key -> shard of LLaDA-8B-Instruct's index (blocks 0-1 of the real weight_map; 5 shards used).
_BLOCK_SHARD = {
    "attn_norm": 3,
    "attn_out": 1,
    "ff_norm": 3,
    "ff_out": 2,
    "ff_proj": 4,
    "k_proj": 3,
    "q_proj": 3,
    "up_proj": 5,
    "v_proj": 4,
}
_TOP_SHARD = {
    "model.transformer.ff_out.weight": 2,
    "model.transformer.ln_f.weight": 1,
    "model.transformer.wte.weight": 1,
}

# Released DSL checkpoints [protocol §2.5]: learned beta, residual
DSL_RELEASES = {
    "beta1": {"beta": 0.99, "residual": False, "tokenizer": True},
    "beta2": {"beta": 1.98, "residual": False, "tokenizer": False},
    "highpass": {"beta": 1.98, "residual": True, "tokenizer": False},
}
NOISE_DIM = 16  # a size: the paper models have d = 100 [§1.1]; loaders read d from the tensor


def fake_sha(hub_id: str) -> str:
    """A fixed, valid 40-hex commit SHA per hub id (never a real one)."""
    return hashlib.sha1(f"dsl-llada-standin:{hub_id}".encode()).hexdigest()


def special_tokens() -> dict[int, str]:
    """id -> content of LLaDA-8B-Instruct's added tokens 126080-126348."""
    out = {126080: "<|startoftext|>", 126081: "<|endoftext|>", 126082: "[CLS]", 126083: "[gMASK]"}
    for k in range(256):
        out[126084 + k] = f"<|reserved_token_{k}|>"
    out[MASK] = "<|mdm_mask|>"  # takes reserved_token_252's place
    for i, tok in enumerate(EXTRA_SPECIALS + ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]):
        out[126340 + i] = tok
    assert out[EOT] == "<|eot_id|>" and len(out) == 269
    return out


# ------------------------------------------------------------------------------ text


def word_list(seed: int = 0, n: int = 400) -> list[str]:
    """Pronounceable pseudo-words without 'q' (the filler tokens start with 'zq', so never clash)."""
    rng = random.Random(seed)
    cons, vow = "bcdfghjklmnprstvwz", "aeiou"
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(cons) + rng.choice(vow) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def sentence(rng: random.Random, words: list[str], lo: int, hi: int) -> str:
    toks = [rng.choice(words) for _ in range(rng.randint(lo, hi))]
    return (" ".join(toks)).capitalize() + "."


def paragraph(rng: random.Random, words: list[str], n_sent: int, lo: int = 6, hi: int = 14) -> str:
    return " ".join(sentence(rng, words, lo, hi) for _ in range(n_sent))


# ------------------------------------------------------------------------------ tokenizer


def _b26(i: int) -> str:
    s = ""
    while True:
        i, r = divmod(i, 26)
        s = chr(97 + r) + s
        if i == 0:
            return s


def build_tokenizer(out: Path, corpus: list[str]) -> None:
    """tokenizer.json + tokenizer_config.json + special_tokens_map.json in the hub layout.

    A byte-level BPE (trained on ``corpus``) fills ids 0..N; filler tokens (" zq<letters>", valid
    byte-level strings that the merges never produce) pad the base vocabulary to 126,080 entries,
    so the 269 added tokens get the real ids 126080-126348.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from tokenizers import AddedToken

    trainer = trainers.BpeTrainer(
        vocab_size=1200, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False, special_tokens=[]
    )
    trained = Tokenizer(models.BPE())
    trained.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trained.train_from_iterator(corpus, trainer)
    model = json.loads(trained.to_str())["model"]
    vocab = dict(sorted(model["vocab"].items(), key=lambda kv: kv[1]))
    assert list(vocab.values()) == list(range(len(vocab)))
    i = 0
    while len(vocab) < N_BASE_VOCAB:
        vocab["\u0120zq" + _b26(i)] = len(vocab)  # \u0120 = byte-level space
        i += 1
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = special_tokens()
    tok.add_special_tokens([AddedToken(specials[k], special=True, normalized=False) for k in sorted(specials)])
    for k, content in specials.items():
        assert tok.token_to_id(content) == k, (content, tok.token_to_id(content), k)
    tok.save(str(out / "tokenizer.json"))

    decoder = {
        str(k): {
            "content": specials[k],
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for k in sorted(specials)
    }
    config = {
        "add_bos_token": False,
        "add_eos_token": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": EXTRA_SPECIALS,
        "bos_token": "<|startoftext|>",
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "cls_token": "[CLS]",
        "eos_token": "<|endoftext|>",
        "fast_tokenizer": True,
        "gmask_token": "[gMASK]",
        "merges_file": None,
        "model_input_names": ["input_ids", "attention_mask"],
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": "<|endoftext|>",
        "tokenizer_class": "PreTrainedTokenizerFast",
        "trust_remote_code": True,
        "vocab_file": None,
    }
    _write_json(out / "tokenizer_config.json", config)
    _write_json(
        out / "special_tokens_map.json",
        {  # assumed layout (rebuilt from tokenizer_config)
            "additional_special_tokens": EXTRA_SPECIALS,
            "bos_token": "<|startoftext|>",
            "cls_token": "[CLS]",
            "eos_token": "<|endoftext|>",
            "pad_token": "<|endoftext|>",
        },
    )


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2) + "\n")


# ------------------------------------------------------------------------------ weights


def llada_config() -> dict:
    return dict(LLADA_CONFIG, **SIZES)


def llada_state(seed: int) -> dict:
    """LLaDA's tensors under the hub key names, seeded normal(0, init_std) weights, unit norms."""
    import torch

    cfg = llada_config()
    d, h, v, std = cfg["d_model"], cfg["mlp_hidden_size"], cfg["embedding_size"], cfg["init_std"]
    g = torch.Generator().manual_seed(seed)

    def normal(*shape):
        return torch.randn(*shape, generator=g) * std

    state = {"model.transformer.wte.weight": normal(v, d)}
    for n in range(cfg["n_layers"]):
        p = f"model.transformer.blocks.{n}."
        state.update(
            {
                p + "attn_norm.weight": torch.ones(d),
                p + "q_proj.weight": normal(d, d),
                p + "k_proj.weight": normal(d * cfg["n_kv_heads"] // cfg["n_heads"], d),
                p + "v_proj.weight": normal(d * cfg["n_kv_heads"] // cfg["n_heads"], d),
                p + "attn_out.weight": normal(d, d),
                p + "ff_norm.weight": torch.ones(d),
                p + "ff_proj.weight": normal(h, d),
                p + "up_proj.weight": normal(h, d),
                p + "ff_out.weight": normal(d, h),
            }
        )
    state["model.transformer.ln_f.weight"] = torch.ones(d)
    state["model.transformer.ff_out.weight"] = normal(v, d)
    return {k: t.to(torch.bfloat16).contiguous() for k, t in state.items()}


def _shard_of(key: str) -> int:
    if key in _TOP_SHARD:
        return _TOP_SHARD[key]
    return _BLOCK_SHARD[key.split(".")[-2]]


def write_sharded(out: Path, state: dict, extra_shard: dict | None = None) -> None:
    """Hub-style shards model-0000k-of-0000n.safetensors + model.safetensors.index.json."""
    from safetensors.torch import save_file

    n = max(*_TOP_SHARD.values(), *_BLOCK_SHARD.values()) + (1 if extra_shard else 0)
    groups: dict[int, dict] = {}
    for key, t in state.items():
        groups.setdefault(_shard_of(key), {})[key] = t
    if extra_shard:
        groups[n] = dict(extra_shard)
    weight_map, total = {}, 0
    for k in sorted(groups):
        name = f"model-{k:05d}-of-{n:05d}.safetensors"
        save_file(groups[k], str(out / name), metadata={"format": "pt"})
        for key, t in groups[k].items():
            weight_map[key] = name
            total += t.numel() * t.element_size()
    assert len(weight_map) == len(state) + len(extra_shard or {}), "a tensor name is in two groups"
    _write_json(
        out / "model.safetensors.index.json",
        {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))},
    )


def dsl_tensors(wte, mask_id: int, beta: float, residual: bool, seed: int) -> dict:
    """The released checkpoints' DSL tensors, initialised as the authors' attach_dsl_modules does
    (seed-42 unit rows, converter values = [wte^T | wte[mask]], logit bias ln V on the mask slot),
    then moved a little (seeded) as 1k training steps would; beta at its learned value [§1.3, §2.5]."""
    import math

    import torch

    v, d = wte.shape
    g = torch.Generator().manual_seed(42)
    noise = torch.nn.functional.normalize(torch.randn(v, NOISE_DIM, generator=g), dim=-1)
    g = torch.Generator().manual_seed(seed)
    w = torch.cat([wte.float().T, wte.float()[mask_id].unsqueeze(1)], dim=1)
    w = w + 0.001 * torch.randn(w.shape, generator=g)
    bias = (torch.rand(d, generator=g) * 2 - 1) / math.sqrt(v + 1)
    logit_bias = torch.zeros(v + 1)
    logit_bias[-1] = math.log(v)
    logit_bias[:-1] += 0.01 * torch.randn(v, generator=g)
    out = {
        "noise_embed.weight": noise,
        "converter.embed.weight": noise.clone(),  # the same table, registered twice upstream
        "converter.beta": torch.tensor(beta),  # 0-dim, as nn.Parameter(torch.tensor(beta_init))
        "converter.logit_bias": logit_bias,
        "converter.backbone_embedding.weight": w,
        "converter.backbone_embedding.bias": bias,
        "log_snr_max": torch.tensor(math.log(100.0)),  # model.log_snr_max (DSL_SNR_MAX = 100)
    }
    if residual:
        out["converter.residual_proj.weight"] = 0.01 * torch.randn(d, NOISE_DIM, generator=g)
        out["converter.residual_proj.bias"] = torch.zeros(d)
    return {k: t.to(torch.bfloat16).contiguous() for k, t in out.items()}


def build_models(root: Path, corpus: list[str]) -> dict[str, Path]:
    """Snapshot folders of the four hub models under ``root``; returns hub id -> folder."""
    base = root / "LLaDA-8B-Instruct"
    base.mkdir(parents=True)
    cfg = llada_config()
    _write_json(base / "config.json", cfg)
    _write_json(base / "generation_config.json", GENERATION_CONFIG)
    build_tokenizer(base, corpus)
    state = llada_state(seed=0)
    write_sharded(base, state)
    folders = {"GSAI-ML/LLaDA-8B-Instruct": base}
    for i, (name, spec) in enumerate(DSL_RELEASES.items()):
        hub_id = next(k for k, v in HUB_MODELS.items() if v == name)
        folder = root / hub_id.split("/")[1]
        folder.mkdir()
        # a Trainer save of the model loaded from LLaDA-8B-Instruct (its config, bf16)
        _write_json(
            folder / "config.json",
            dict(cfg, _name_or_path="GSAI-ML/LLaDA-8B-Instruct", torch_dtype="bfloat16", transformers_version="4.38.2"),
        )
        _write_json(folder / "generation_config.json", dict(GENERATION_CONFIG, transformers_version="4.38.2"))
        if spec["tokenizer"]:
            for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
                shutil.copyfile(base / f, folder / f)
        import torch

        g = torch.Generator().manual_seed(100 + i)
        tuned = {k: (t.float() + 0.001 * torch.randn(t.shape, generator=g)).to(t.dtype) for k, t in state.items()}
        extra = dsl_tensors(tuned["model.transformer.wte.weight"], MASK, spec["beta"], spec["residual"], 200 + i)
        write_sharded(folder, tuned, extra_shard=extra)
        folders[hub_id] = folder
    return folders


def populate_hf_cache(cache_dir: Path, hub_id: str, sha: str, folder: Path) -> Path:
    """The Hugging Face cache layout snapshot_download leaves: blobs by hash, refs/main, and
    snapshots/<sha>/<file> as relative symlinks to the blobs."""
    repo = cache_dir / ("models--" + hub_id.replace("/", "--"))
    snap = repo / "snapshots" / sha
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    snap.mkdir(parents=True)
    for f in sorted(folder.iterdir()):
        digest = hashlib.sha256(f.read_bytes()).hexdigest()
        blob = repo / "blobs" / digest
        if not blob.exists():
            os.link(f, blob)  # the same bytes as the mirror folder; nothing writes to either
        os.symlink(os.path.relpath(blob, snap), snap / f.name)
    (repo / "refs" / "main").write_text(sha)
    return snap


# ------------------------------------------------------------------------------ datasets

BENCH_LAYOUT = {  # mirror name -> (hub columns, has id column)
    "xsum": ("document", "summary", "id"),
    "cnn_dailymail": ("article", "highlights", "id"),
    "pubmed": ("article", "abstract", None),
    "arxiv": ("article", "abstract", None),
}


def build_benchmarks(root: Path, words: list[str], rows: int = 12, seed: int = 1) -> None:
    """save_to_disk mirrors at resources/datasets/<bench>/test with the hub's columns; rows 3 and 7
    have an empty text or summary (skipped by the builder, as the real splits' empty rows)."""
    import datasets

    for b, (text, summary, id_col) in BENCH_LAYOUT.items():
        rng = random.Random(f"{seed}:{b}")
        recs = []
        for i in range(rows):
            rec = {text: paragraph(rng, words, rng.randint(3, 6)), summary: sentence(rng, words, 6, 12)}
            if i == 3:
                rec[text] = ""
            if i == 7:
                rec[summary] = "  "
            if id_col:
                rec[id_col] = str(30000000 + 7 * i) if b == "xsum" else hashlib.sha1(f"{b}{i}".encode()).hexdigest()
            recs.append(rec)
        datasets.Dataset.from_list(recs).save_to_disk(str(root / b / "test"))


FINEWEB_COLUMNS = (
    "text",
    "id",
    "dump",
    "url",
    "file_path",
    "language",
    "language_score",
    "token_count",
    "score",
    "int_score",
)


def build_fineweb(root: Path, words: list[str], n_docs: int = 60, seed: int = 2) -> Path:
    """FineWeb-Edu sample-10BT as `hf download --include 'sample/10BT/*'` lays it out: one parquet
    data file with the dataset's ten columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    cols: dict[str, list] = {c: [] for c in FINEWEB_COLUMNS}
    for i in range(n_docs):
        text = paragraph(rng, words, rng.randint(2, 8))
        score = round(rng.uniform(2.5, 4.5), 6)
        cols["text"].append(text)
        cols["id"].append(f"<urn:uuid:{hashlib.md5(str(i).encode()).hexdigest()}>")
        cols["dump"].append("CC-MAIN-2013-20")
        cols["url"].append(f"http://example.org/doc/{i}")
        cols["file_path"].append("s3://commoncrawl/crawl-data/CC-MAIN-2013-20/segments/0/warc/standin.warc.gz")
        cols["language"].append("en")
        cols["language_score"].append(round(rng.uniform(0.9, 1.0), 6))
        cols["token_count"].append(len(text.split()) * 2)
        cols["score"].append(score)
        cols["int_score"].append(int(round(score)))
    out = root / "sample" / "10BT"
    out.mkdir(parents=True)
    pq.write_table(pa.table(cols), str(out / "000_00000.parquet"))
    return out


def build_texts(path: Path, tokenizer_dir: Path, words: list[str], n: int = 4, seed: int = 3) -> None:
    """texts_100.json's record format [§7]: {id, text, tokens, n_tokens}, tokenised without specials."""
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_dir / "tokenizer.json"))
    rng = random.Random(seed)
    recs = []
    for i in range(n):
        text = paragraph(rng, words, 2, 8, 12)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        recs.append({"id": i, "text": text, "tokens": ids, "n_tokens": len(ids)})
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json(path, recs)


# ------------------------------------------------------------------------------ quality-item models
#
# The models the paper items beyond the summaries read: GPT-2-large (GenPPL), roberta-large
# (BERTScore), Qwen2.5-7B-Instruct and Llama-3.1-8B-Instruct (the AR rows). Each keeps its hub
# config.json keys and values except the sizes (QUALITY_SIZES), its tokenizer files and special
# tokens at their real ids, and its state-dict key names; see the module docstring.

GPT2_LARGE_CONFIG = {
    "activation_function": "gelu_new",
    "architectures": ["GPT2LMHeadModel"],
    "attn_pdrop": 0.1,
    "bos_token_id": 50256,
    "embd_pdrop": 0.1,
    "eos_token_id": 50256,
    "initializer_range": 0.02,
    "layer_norm_epsilon": 1e-05,
    "model_type": "gpt2",
    "n_ctx": 1024,
    "n_embd": 1280,
    "n_head": 20,
    "n_layer": 36,
    "n_positions": 1024,
    "resid_pdrop": 0.1,
    "summary_activation": None,
    "summary_first_dropout": 0.1,
    "summary_proj_to_labels": True,
    "summary_type": "cls_index",
    "summary_use_proj": True,
    "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}},
    "vocab_size": 50257,
}
ROBERTA_LARGE_CONFIG = {
    "architectures": ["RobertaForMaskedLM"],
    "attention_probs_dropout_prob": 0.1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 1024,
    "initializer_range": 0.02,
    "intermediate_size": 4096,
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": 514,
    "model_type": "roberta",
    "num_attention_heads": 16,
    "num_hidden_layers": 24,
    "pad_token_id": 1,
    "type_vocab_size": 1,
    "vocab_size": 50265,
}
QWEN25_7B_CONFIG = {
    "architectures": ["Qwen2ForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "hidden_act": "silu",
    "hidden_size": 3584,
    "initializer_range": 0.02,
    "intermediate_size": 18944,
    "max_position_embeddings": 32768,
    "max_window_layers": 28,
    "model_type": "qwen2",
    "num_attention_heads": 28,
    "num_hidden_layers": 28,
    "num_key_value_heads": 4,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "sliding_window": 131072,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.43.1",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 152064,
}
LLAMA31_8B_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 128000,
    "eos_token_id": [128001, 128008, 128009],
    "hidden_act": "silu",
    "hidden_size": 4096,
    "initializer_range": 0.02,
    "intermediate_size": 14336,
    "max_position_embeddings": 131072,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": {
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3",
    },
    "rope_theta": 500000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.43.0.dev0",
    "use_cache": True,
    "vocab_size": 128256,
}
# the stand-ins' sizes; roberta-large keeps its 24 layers (bert-score reads layer 17 of them)
QUALITY_SIZES = {
    "gpt2": {"n_embd": 16, "n_head": 2, "n_layer": 2},
    "roberta": {"hidden_size": 16, "num_attention_heads": 2, "intermediate_size": 64},
    "qwen2": {
        "hidden_size": 16,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "num_hidden_layers": 2,
        "intermediate_size": 48,
        "max_window_layers": 2,
    },
    "llama": {
        "hidden_size": 16,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "num_hidden_layers": 2,
        "intermediate_size": 48,
    },
}
QWEN_GENERATION_CONFIG = {
    "bos_token_id": 151643,
    "pad_token_id": 151643,
    "do_sample": True,
    "eos_token_id": [151645, 151643],
    "repetition_penalty": 1.05,
    "temperature": 0.7,
    "top_p": 0.8,
    "top_k": 20,
    "transformers_version": "4.37.0",
}
LLAMA_GENERATION_CONFIG = {
    "bos_token_id": 128000,
    "do_sample": True,
    "eos_token_id": [128001, 128008, 128009],
    "temperature": 0.6,
    "top_p": 0.9,
    "transformers_version": "4.42.3",
}
GPT2_GENERATION_CONFIG = {"_from_model_config": True, "bos_token_id": 50256, "eos_token_id": 50256}

# Qwen2.5's added tokens 151643-151664 (special: True up to <|video_pad|>, False from <tool_call>)
QWEN_ADDED = [
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
]
QWEN_BASE = 151643
LLAMA_BASE = 128000
# The chat templates' branch for plain system / user / assistant messages without tools, written
# to render exactly as the hub templates do for them (the tool-calling branches are left out).
QWEN_CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if (message.role == 'user') or (message.role == 'system' and not loop.first) or "
    "(message.role == 'assistant') %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}\n"
)
LLAMA_CHAT_TEMPLATE = (
    "{{- bos_token }}\n"
    '{%- if not date_string is defined %}{%- set date_string = "26 Jul 2024" %}{%- endif %}\n'
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}"
    '{%- else %}{%- set system_message = "" %}{%- endif %}\n'
    '{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}'
    '{{- "Cutting Knowledge Date: December 2023\\n" }}'
    '{{- "Today Date: " + date_string + "\\n\\n" }}'
    '{{- system_message }}{{- "<|eot_id|>" }}\n'
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + "
    "'<|eot_id|>' }}"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}\n"
)


def llama_special_tokens() -> dict[int, str]:
    """id -> content of Llama-3.1's 256 special tokens 128000-128255."""
    named = {
        128000: "<|begin_of_text|>",
        128001: "<|end_of_text|>",
        128004: "<|finetune_right_pad_id|>",
        128006: "<|start_header_id|>",
        128007: "<|end_header_id|>",
        128008: "<|eom_id|>",
        128009: "<|eot_id|>",
        128010: "<|python_tag|>",
    }
    out, k = {}, 0
    for i in range(LLAMA_BASE, LLAMA_BASE + 256):
        if i in named:
            out[i] = named[i]
        else:
            out[i] = f"<|reserved_special_token_{k}|>"
            k += 1
    assert out[128255] == "<|reserved_special_token_247|>" and out[128002] == "<|reserved_special_token_0|>"
    return out


def _trained_bpe(corpus: list[str], vocab_size: int = 1200) -> tuple[list[str], list[tuple[str, str]]]:
    """A byte-level BPE trained on ``corpus``: its tokens in id order and its merges."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
        special_tokens=[],
    )
    trained = Tokenizer(models.BPE())
    trained.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trained.train_from_iterator(corpus, trainer)
    model = json.loads(trained.to_str())["model"]
    tokens = [t for t, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1])]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return tokens, merges


def padded_vocab(tokens: list[str], first_id: int, end_id: int, head: dict[str, int] | None = None) -> dict:
    """``head`` (token -> id below first_id), then ``tokens`` from ``first_id``, then filler tokens
    (" zq<letters>", never produced by the merges) up to ``end_id`` (exclusive)."""
    vocab = dict(head or {})
    for t in tokens:
        vocab[t] = len(vocab)
    assert len(vocab) == first_id + len(tokens)
    i = 0
    while len(vocab) < end_id:
        vocab["\u0120zq" + _b26(i)] = len(vocab)
        i += 1
    return vocab


def _save_bpe_files(out: Path, vocab: dict, merges: list) -> None:
    """vocab.json + merges.txt as the GPT-2 family ships them."""
    _write_json(out / "vocab.json", vocab)
    (out / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")


def _byte_level_tokenizer(vocab: dict, merges: list, added: list[tuple[int, str, bool]], nfc: bool = False):
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    if nfc:
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    for i, content, special in sorted(added):
        if tok.token_to_id(content) is None:
            tok.add_tokens([AddedToken(content, special=special, normalized=False)])
        assert tok.token_to_id(content) == i, (content, tok.token_to_id(content), i)
    return tok


def _added_decoder(added: list[tuple[int, str, bool]], lstrip: set[str] = frozenset()) -> dict:
    return {
        str(i): {
            "content": c,
            "lstrip": c in lstrip,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": s,
        }
        for i, c, s in sorted(added)
    }


def _torch_state(model, drop: tuple[str, ...] = (), strip: str = "") -> dict:
    return {
        k[len(strip) :] if strip and k.startswith(strip) else k: t.detach().clone().contiguous()
        for k, t in model.state_dict().items()
        if not any(k.endswith(d) for d in drop)
    }


def _seeded(cls, cfg: dict, seed: int):
    import torch

    torch.manual_seed(seed)
    return cls(cls.config_class(**cfg))


def build_gpt2_large(out: Path, corpus: list[str], tokens, merges) -> None:
    """openai-community/gpt2-large: config.json, generation_config.json, vocab.json, merges.txt,
    tokenizer.json, model.safetensors (fp32, GPT2Model key names without a prefix, the causal-mask
    buffers h.N.attn.bias included, no lm_head: it is tied to wte)."""
    import torch
    from safetensors.torch import save_file
    from transformers import GPT2LMHeadModel

    out.mkdir(parents=True)
    cfg = dict(GPT2_LARGE_CONFIG, **QUALITY_SIZES["gpt2"])
    _write_json(out / "config.json", cfg)
    _write_json(out / "generation_config.json", dict(GPT2_GENERATION_CONFIG, transformers_version="4.26.0.dev0"))
    vocab = padded_vocab(tokens, 0, 50256)
    vocab["<|endoftext|>"] = 50256
    _save_bpe_files(out, vocab, merges)
    tok = _byte_level_tokenizer({k: v for k, v in vocab.items() if v < 50256}, merges, [(50256, "<|endoftext|>", True)])
    tok.save(str(out / "tokenizer.json"))
    state = _torch_state(_seeded(GPT2LMHeadModel, cfg, 10), drop=("lm_head.weight",), strip="transformer.")
    n = cfg["n_positions"]
    for layer in range(cfg["n_layer"]):
        state[f"h.{layer}.attn.bias"] = torch.tril(torch.ones(n, n, dtype=torch.uint8)).view(1, 1, n, n).float()
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})


def build_roberta_large(out: Path, corpus: list[str], tokens, merges) -> None:
    """FacebookAI/roberta-large: config.json, vocab.json (<s> 0, <pad> 1, </s> 2, <unk> 3, <mask>
    50264), merges.txt, tokenizer.json, model.safetensors (RobertaForMaskedLM key names, fp32)."""
    from tokenizers import processors
    from safetensors.torch import save_file
    from transformers import RobertaForMaskedLM

    out.mkdir(parents=True)
    cfg = dict(ROBERTA_LARGE_CONFIG, **QUALITY_SIZES["roberta"])
    _write_json(out / "config.json", cfg)
    head = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    vocab = padded_vocab(tokens, 4, 50264, head)
    vocab["<mask>"] = 50264
    _save_bpe_files(out, vocab, merges)
    added = [(0, "<s>", True), (1, "<pad>", True), (2, "</s>", True), (3, "<unk>", True), (50264, "<mask>", True)]
    tok = _byte_level_tokenizer({k: v for k, v in vocab.items() if v != 50264}, merges, added)
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False
    )
    tok.save(str(out / "tokenizer.json"))
    state = _torch_state(
        _seeded(RobertaForMaskedLM, cfg, 11), drop=("lm_head.decoder.weight", "position_ids", "token_type_ids")
    )
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})


def _write_shards4(out: Path, state: dict, n_layers: int) -> None:
    """model-0000k-of-00004.safetensors + index: embeddings with layer 0 in shard 1, the last
    layer with the final norm and lm_head in shard 4, the other layers spread over shards 2-3."""
    import torch
    from safetensors.torch import save_file

    def shard(key: str) -> int:
        if key.startswith("model.embed_tokens"):
            return 1
        if key.startswith(("model.norm", "lm_head")):
            return 4
        layer = int(key.split(".")[2])
        return 1 if layer == 0 else 4 if layer == n_layers - 1 else 2 + layer % 2

    groups: dict[int, dict] = {k: {} for k in (1, 2, 3, 4)}
    for key, t in state.items():
        groups[shard(key)][key] = t.to(torch.bfloat16).contiguous()
    weight_map, total = {}, 0
    for k, g in groups.items():
        name = f"model-{k:05d}-of-00004.safetensors"
        save_file(g, str(out / name), metadata={"format": "pt"})
        for key, t in g.items():
            weight_map[key] = name
            total += t.numel() * t.element_size()
    _write_json(
        out / "model.safetensors.index.json",
        {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))},
    )


def build_qwen25(out: Path, corpus: list[str], tokens, merges) -> None:
    """Qwen/Qwen2.5-7B-Instruct: config.json, generation_config.json, vocab.json, merges.txt,
    tokenizer.json (NFC, byte-level BPE, 151,643 base tokens, the 22 added tokens at
    151643-151664), tokenizer_config.json, four bf16 shards + index (Qwen2ForCausalLM key names)."""
    from transformers import Qwen2ForCausalLM

    out.mkdir(parents=True)
    cfg = dict(QWEN25_7B_CONFIG, **QUALITY_SIZES["qwen2"])
    _write_json(out / "config.json", cfg)
    _write_json(out / "generation_config.json", QWEN_GENERATION_CONFIG)
    vocab = padded_vocab(tokens, 0, QWEN_BASE)
    _save_bpe_files(out, vocab, merges)
    added = [(QWEN_BASE + i, c, s) for i, (c, s) in enumerate(QWEN_ADDED)]
    _byte_level_tokenizer(vocab, merges, added, nfc=True).save(str(out / "tokenizer.json"))
    _write_json(
        out / "tokenizer_config.json",
        {
            "add_bos_token": False,
            "add_prefix_space": False,
            "added_tokens_decoder": _added_decoder(added),
            "additional_special_tokens": [c for c, s in QWEN_ADDED[1:14]],
            "bos_token": None,
            "chat_template": QWEN_CHAT_TEMPLATE,
            "clean_up_tokenization_spaces": False,
            "eos_token": "<|im_end|>",
            "errors": "replace",
            "model_max_length": 131072,
            "pad_token": "<|endoftext|>",
            "split_special_tokens": False,
            "tokenizer_class": "Qwen2Tokenizer",
            "unk_token": None,
        },
    )
    _write_shards4(out, _torch_state(_seeded(Qwen2ForCausalLM, cfg, 12)), cfg["num_hidden_layers"])


def build_llama31(out: Path, corpus: list[str], tokens, merges) -> None:
    """meta-llama/Llama-3.1-8B-Instruct: config.json, generation_config.json, tokenizer.json
    (byte-level BPE, 128,000 base tokens, 256 special tokens at 128000-128255, the post-processor
    that prepends <|begin_of_text|>), tokenizer_config.json, special_tokens_map.json, four bf16
    shards + index (LlamaForCausalLM key names)."""
    from tokenizers import processors
    from transformers import LlamaForCausalLM

    out.mkdir(parents=True)
    cfg = dict(LLAMA31_8B_CONFIG, **QUALITY_SIZES["llama"])
    _write_json(out / "config.json", cfg)
    _write_json(out / "generation_config.json", LLAMA_GENERATION_CONFIG)
    vocab = padded_vocab(tokens, 0, LLAMA_BASE)
    added = [(i, c, True) for i, c in llama_special_tokens().items()]
    tok = _byte_level_tokenizer(vocab, merges, added)
    tok.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single="<|begin_of_text|> $A",
                pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                special_tokens=[("<|begin_of_text|>", LLAMA_BASE)],
            ),
        ]
    )
    tok.save(str(out / "tokenizer.json"))
    _write_json(
        out / "tokenizer_config.json",
        {
            "added_tokens_decoder": _added_decoder(added),
            "bos_token": "<|begin_of_text|>",
            "chat_template": LLAMA_CHAT_TEMPLATE,
            "clean_up_tokenization_spaces": True,
            "eos_token": "<|eot_id|>",
            "model_input_names": ["input_ids", "attention_mask"],
            "model_max_length": 131072,
            "tokenizer_class": "PreTrainedTokenizerFast",
        },
    )
    flags = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
    _write_json(
        out / "special_tokens_map.json",
        {"bos_token": dict(content="<|begin_of_text|>", **flags), "eos_token": dict(content="<|eot_id|>", **flags)},
    )
    _write_shards4(out, _torch_state(_seeded(LlamaForCausalLM, cfg, 13)), cfg["num_hidden_layers"])


QUALITY_MODELS = {  # hub id -> (snapshot folder name, builder)
    "openai-community/gpt2-large": ("gpt2-large", build_gpt2_large),
    "FacebookAI/roberta-large": ("roberta-large", build_roberta_large),
    "Qwen/Qwen2.5-7B-Instruct": ("Qwen2.5-7B-Instruct", build_qwen25),
    "meta-llama/Llama-3.1-8B-Instruct": ("Llama-3.1-8B-Instruct", build_llama31),
}


def build_quality_models(root: Path, corpus: list[str]) -> dict[str, Path]:
    """Snapshot folders of the four quality-item models under ``root``; returns hub id -> folder."""
    tokens, merges = _trained_bpe(corpus)
    folders = {}
    for hub_id, (name, build) in QUALITY_MODELS.items():
        build(root / name, corpus, tokens, merges)
        folders[hub_id] = root / name
    return folders


# ------------------------------------------------------------------------------ reasoning datasets

MATH_CONFIGS = (
    "algebra",
    "counting_and_probability",
    "geometry",
    "intermediate_algebra",
    "number_theory",
    "prealgebra",
    "precalculus",
)


def build_reasoning_sets(root: Path, words: list[str], n_gsm8k: int = 3, seed: int = 5) -> None:
    """openai/gsm8k (config main, split test: question, answer with the "#### <number>" line) at
    resources/datasets/gsm8k/test and EleutherAI/hendrycks_math (7 configs, split test: problem,
    level, type, solution with a \\boxed{} answer) at resources/datasets/hendrycks_math/<config>/test,
    as save_to_disk folders."""
    import datasets

    rng = random.Random(seed)
    recs = []
    for i in range(n_gsm8k):
        a, b = rng.randint(2, 40), rng.randint(2, 40)
        q = f"{sentence(rng, words, 5, 9)} A {rng.choice(words)} has {a} and gets {b} more. How many now?"
        answer = f"{sentence(rng, words, 4, 8)}\nIt has {a} + {b} = <<{a}+{b}={a + b}>>{a + b}.\n#### {a + b:,}"
        recs.append({"question": q, "answer": answer})
    datasets.Dataset.from_list(recs).save_to_disk(str(root / "gsm8k" / "test"))
    for c in MATH_CONFIGS:
        a = rng.randint(2, 12)
        recs = [
            {
                "problem": f"{sentence(rng, words, 4, 8)} What is ${a}^2$?",
                "level": f"Level {rng.randint(1, 5)}",
                "type": c.replace("_", " ").title().replace(" And ", " & "),
                "solution": f"We have ${a}^2 = {a}\\cdot {a} = \\boxed{{{a * a}}}$.",
            }
        ]
        datasets.Dataset.from_list(recs).save_to_disk(str(root / "hendrycks_math" / c / "test"))


# ------------------------------------------------------------------------------ lock + all


def write_lock_file(path: Path) -> dict[str, str]:
    from dsl_llada.hub import write_lock

    import yaml

    # every id of the repository's lock (a config is checked against all of them); only the ones
    # above have stand-ins, the others are pinned but never fetched (the overlays switch them off)
    repo_lock = yaml.safe_load((Path(__file__).resolve().parents[2] / "config/hub.lock.yaml").read_text())
    lock = {h: {"kind": e["kind"], "revision": fake_sha(h)} for h, e in repo_lock.items()}
    lock.update({h: {"kind": "model", "revision": fake_sha(h)} for h in HUB_MODELS})
    lock.update({h: {"kind": "dataset", "revision": fake_sha(h)} for h in HUB_DATASETS})
    path.parent.mkdir(parents=True, exist_ok=True)
    write_lock(path, lock)
    return {h: e["revision"] for h, e in lock.items()}


def build_all(out: str | os.PathLike) -> dict:
    """Every stand-in under ``out`` (see the module docstring); returns a summary."""
    out = Path(out)
    if (out / "rehearsal").exists():
        raise FileExistsError(f"{out / 'rehearsal'} exists; build into an empty folder")
    words = word_list()
    rng = random.Random(4)
    corpus = [paragraph(rng, words, 4) for _ in range(400)]
    shas = write_lock_file(out / "rehearsal" / "hub.lock.yaml")
    folders = build_models(out / "rehearsal" / "models", corpus)
    for hub_id, folder in folders.items():
        populate_hf_cache(out / "resources" / "hub", hub_id, shas[hub_id], folder)
    build_benchmarks(out / "resources" / "datasets", words)
    build_fineweb(out / "resources" / "datasets" / "fineweb-edu" / "sample-10BT", words)
    build_texts(out / "resources" / "paper_eval" / "texts_100.json", folders["GSAI-ML/LLaDA-8B-Instruct"], words)
    quality = build_quality_models(out / "rehearsal" / "models", corpus)
    for hub_id, folder in quality.items():
        populate_hf_cache(out / "resources" / "hub", hub_id, shas[hub_id], folder)
    folders.update(quality)
    build_reasoning_sets(out / "resources" / "datasets", words)
    return {"lock": shas, "models": {h: str(f) for h, f in folders.items()}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="empty folder (e.g. a Snakemake working directory)")
    args = parser.parse_args(argv)
    summary = build_all(args.out)
    json.dump(summary, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
