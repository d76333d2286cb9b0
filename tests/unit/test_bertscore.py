"""BERTScore [protocol §4.3] through the real bert-score package on a tiny local RoBERTa."""

import json

import pandas as pd
import pytest
from helpers import schema_defaults

from dsl_llada.backbone import build_toy_tokenizer
from dsl_llada.bertscore import (
    BertScoreError,
    baseline_file,
    bertscore,
    build_toy_bertscore_model,
    score_bertscore_benchmarks,
)

WORDS = [f"w{i}" for i in range(30)]
ARCH = dict(hidden_size=32, intermediate_size=64, num_layers=2, num_heads=2, max_positions=64)
# the bertscore settings a job gets (the schema's defaults), on the tiny model's 2 layers
SETTINGS = {**{k: v for k, v in schema_defaults("bertscore").items() if k != "enabled"}, "num_layers": 2}
RAW = {**SETTINGS, "rescale_with_baseline": False}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("bs")
    build_toy_tokenizer(WORDS).save_pretrained(str(root / "tok"))
    build_toy_bertscore_model(root / "tok", root / "model", arch=ARCH, seed=0)
    assert list((root / "model").glob("*.safetensors"))
    return root / "model"


def test_identical_pairs_score_100_and_empty_outputs_are_skipped(model_dir):
    out = bertscore(
        ["w1 w2 w3", "", "w4 w5 w6"],
        ["w1 w2 w3", "w1", "w7 w8 w9"],
        model_dir,
        **RAW,
        device="cpu",
    )
    assert out[1] is None
    assert out[0]["bertscore_f1"] == pytest.approx(100.0, abs=1e-3)
    assert out[2]["bertscore_f1"] < 99.0  # different tokens, lower similarity


def test_rescaling_uses_the_packages_roberta_large_baseline(model_dir):
    raw = bertscore(["w1 w2 w3"], ["w1 w2 w4"], model_dir, **RAW, device="cpu")
    scaled = bertscore(["w1 w2 w3"], ["w1 w2 w4"], model_dir, **SETTINGS, device="cpu")
    assert SETTINGS["rescale_with_baseline"] and SETTINGS["baseline"] == "roberta-large"
    table = pd.read_csv(baseline_file("roberta-large"))
    b = float(table.iloc[2]["F"])  # the row of layer 2 (row 0 is the embedding layer)
    assert scaled[0]["bertscore_f1"] == pytest.approx(100 * (raw[0]["bertscore_f1"] / 100 - b) / (1 - b), abs=1e-3)
    with pytest.raises(BertScoreError, match="bertscore.baseline"):
        baseline_file("no-such-model")


def test_runs_table_means_and_errors(model_dir, tmp_path):
    records = [{"id": str(i), "prompt": "p", "reference": f"w{i} w{i + 1} w{i + 2}"} for i in range(3)]
    (tmp_path / "rec.json").write_text(json.dumps(records))
    shard = tmp_path / "s.jsonl"
    shard.write_text(
        "".join(
            json.dumps({"id": r["id"], "text": t}) + "\n"
            for r, t in zip(records, [records[0]["reference"], "", "w9 w9"])
        )
    )
    run = {"name": "m/nfe8", "shards": [str(shard)], "meta": {"benchmark": "xsum", "method": "m", "nfe": 8}}
    benches = {"xsum": {"records": str(tmp_path / "rec.json"), "runs": [run]}}  # as the rule passes them
    frame = score_bertscore_benchmarks(
        benches,
        model_dir,
        {**RAW, "device": "cpu"},
        tmp_path / "b.csv",
        tmp_path / "bs.csv",
    )
    assert frame.iloc[0]["bertscore_n"] == 2  # the empty output is not scored
    per = pd.read_csv(tmp_path / "bs.csv")
    assert frame.iloc[0]["bertscore_f1"] == pytest.approx(round(per["bertscore_f1"].dropna().mean(), 2))
    shard.write_text(json.dumps({"id": "99", "text": "w1"}) + "\n")
    with pytest.raises(BertScoreError, match="not in"):
        score_bertscore_benchmarks(benches, model_dir, SETTINGS, tmp_path / "b.csv", tmp_path / "bs.csv")
    with pytest.raises(BertScoreError, match="models.bertscore"):
        bertscore(["a"], ["a"], tmp_path, **{**SETTINGS, "num_layers": 1})


def test_model_without_model_max_length_truncates_at_its_positions(model_dir, tmp_path):
    """roberta-large's hub tokenizer files set no model_max_length: transformers 5 leaves its 1e30
    placeholder, which bert-score passed to the fast tokenizer (OverflowError). Inputs are cut at
    the model's own limit instead (max_position_embeddings less RoBERTa's padding offset)."""
    import shutil

    from dsl_llada.bertscore import max_input_tokens

    folder = tmp_path / "no_max_length"
    shutil.copytree(model_dir, folder)
    cfg_path = folder / "tokenizer_config.json"
    tok_cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
    tok_cfg.pop("model_max_length", None)
    cfg_path.write_text(json.dumps(tok_cfg))
    cfg = json.loads((folder / "config.json").read_text())
    assert max_input_tokens(folder) == cfg["max_position_embeddings"] - cfg["pad_token_id"] - 1
    long = " ".join(WORDS[i % 30] for i in range(3 * cfg["max_position_embeddings"]))
    out = bertscore([long], [long], folder, **RAW, device="cpu")
    assert out[0]["bertscore_f1"] == pytest.approx(100.0, abs=1e-3)
