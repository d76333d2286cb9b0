"""AR reference rows [protocol §3.7] with a tiny causal LM trained here: greedy, chat template,
prompt cut at max_prompt_tokens, rows in the sampling shards' layout, resumable."""

import json

import numpy as np
import pytest

from dsl_llada.autoregressive import ARError, ar_greedy, ar_sample_benchmarks, build_toy_causal_lm, load_causal_lm
from dsl_llada.backbone import build_toy_tokenizer
from dsl_llada.data import write_token_dataset

WORDS = [f"w{i}" for i in range(20)]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("ar")
    tok = build_toy_tokenizer(WORDS)
    tok.save_pretrained(str(root / "tok"))
    ids = [tok.convert_tokens_to_ids(w) for w in WORDS]
    rows = np.array([[ids[(s + j) % 20] for j in range(24)] for s in range(20)], dtype=np.int64)
    write_token_dataset(root / "data", rows, None, meta={"source": "test"})
    stats = build_toy_causal_lm(
        root / "data",
        root / "tok",
        root / "model",
        steps=80,
        seed=0,
        batch=8,
        lr=1e-2,
        arch=dict(hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2, max_positions=64),
    )
    assert stats["last_loss"] < stats["first_loss"]
    return root / "model"


def test_greedy_is_deterministic_and_bounded(model_dir):
    model, tok = load_causal_lm(model_dir, "float32")
    a = ar_greedy(model, tok, "w3 w4 w5", gen_length=6, max_prompt_tokens=8192)
    b = ar_greedy(model, tok, "w3 w4 w5", gen_length=6, max_prompt_tokens=8192)
    assert a == b and 0 < len(a["tokens"]) <= 6 and not a["prompt_truncated"]
    cut = ar_greedy(model, tok, "w3 w4 w5", gen_length=2, max_prompt_tokens=3)
    assert cut["prompt_truncated"] and cut["prompt_tokens"] == 3


def test_sample_benchmarks_writes_shards_and_resumes(model_dir, tmp_path):
    records = [{"id": str(i), "prompt": f"w{i} w{i + 1}", "reference": "w1"} for i in range(5)]
    (tmp_path / "rec.json").write_text(json.dumps(records))
    out = tmp_path / "shard0of2.jsonl"
    job = {"records": str(tmp_path / "rec.json"), "out": str(out), "gen_length": 4}
    # a previous, interrupted run left record 2 in the progress file: it is kept, not regenerated
    (tmp_path / "shard0of2.jsonl.progress.jsonl").write_text(
        json.dumps({"id": "2", "text": "kept", "prompt_truncated": False}) + "\n"
    )
    stats = ar_sample_benchmarks(
        model_dir, [job], method="ar_toy", shard=0, n_shards=2, max_prompt_tokens=8192, dtype="float32"
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["0", "2", "4"] and stats[str(out)]["n"] == 3
    assert rows[1]["text"] == "kept" and rows[0]["nfe"] == 0 and rows[0]["method"] == "ar_toy"
    assert (
        rows[0]["forward_passes"] == len(rows[0]["tokens"])
        and not (tmp_path / "shard0of2.jsonl.progress.jsonl").exists()
    )


def test_model_folder_errors(tmp_path):
    with pytest.raises(ARError, match="ar_references"):
        load_causal_lm(tmp_path)


def test_prompt_is_tokenized_with_the_tokenizers_specials_as_the_authors_do(model_dir):
    """Llama-3.1's chat template starts with {{ bos_token }} and its tokenizer's post-processor
    prepends <|begin_of_text|> too. The authors' eval_summarization_ar.py tokenizes the rendered
    prompt with the tokenizer's specials, so their Llama rows saw two BOS; ours do the same
    [protocol §3.7]."""
    from tokenizers import processors

    model, tok = load_causal_lm(model_dir, "float32")
    bos = tok.convert_tokens_to_ids("w0")  # a stand-in BOS token of the toy vocabulary
    tok.bos_token = "w0"
    tok.chat_template = "{{ bos_token }} {% for m in messages %}{{ m['content'] }}{% endfor %}"
    tok._tokenizer.post_processor = processors.TemplateProcessing(single="w0 $A", special_tokens=[("w0", bos)])
    rendered = tok.apply_chat_template(
        [{"role": "user", "content": "w3 w4"}], add_generation_prompt=True, tokenize=False
    )
    with_specials = tok(rendered)["input_ids"]
    assert with_specials[:2] == [bos, bos]  # what tokenizing with the post-processor gives
    out = ar_greedy(model, tok, "w3 w4", gen_length=2, max_prompt_tokens=8192)
    assert out["prompt_tokens"] == len(with_specials)


def test_toy_causal_lm_same_seed_same_weights(model_dir, tmp_path):
    """GPT-2's dropout draws from torch's generator: seeded per build, two builds with one seed
    write the same bytes (unseeded, the second build would see another global RNG state)."""
    root = model_dir.parent
    arch = dict(hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2, max_positions=64)
    for name in ("a", "b"):
        build_toy_causal_lm(root / "data", root / "tok", tmp_path / name, steps=5, seed=3, batch=4, lr=1e-2, arch=arch)
    assert (tmp_path / "a/model.safetensors").read_bytes() == (tmp_path / "b/model.safetensors").read_bytes()
