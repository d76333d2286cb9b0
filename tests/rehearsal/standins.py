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
