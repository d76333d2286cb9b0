"""Reasoning answer extraction and scoring [protocol §6.2(a)]: the authors' rules."""

import json

import pandas as pd
import pytest

from dsl_llada.reasoning import (
    ReasoningError,
    extract_boxed,
    extract_number,
    gsm8k_gold,
    math_gold,
    normalize_answer,
    score_reasoning,
    task_records,
    toy_problems,
)


def test_gsm8k_extraction_order():
    assert extract_number("so 3 + 4 = 7. #### 1,234 and then 9") == "1234"  # "####" first
    assert extract_number("We get 5 apples, so the answer is $12.") == "12."  # then "answer is"
    assert extract_number("Result = -3 then 8 more") == "-3"
    assert extract_number("first 2, then 10 and finally 42") == "42"  # else the last number
    assert extract_number("no digits") == ""
    assert normalize_answer("12.") == normalize_answer("12") == "12"
    assert gsm8k_gold("Natalia sold 48 ... #### 72") == "72" and gsm8k_gold("#### 1,000") == "1000"


def test_math_extraction_and_gold():
    assert extract_boxed(r"so \boxed{3} then \boxed{\frac{1}{2}}") == r"\frac{1}{2}"  # last box, one nesting
    assert extract_boxed("The answer is x+1. Done") == "x+1"
    assert extract_boxed("nothing here") == ""
    assert math_gold(r"Thus $x = \boxed{5}$.") == "5"
    assert normalize_answer(" $5\\%$ ") == "5\\"  # "$", "%" and spaces removed, as the authors do


def test_task_prompts_and_toy_problems():
    rec = task_records("gsm8k", [{"id": 0, "question": "What is 2+2?", "gold": "4"}])[0]
    assert rec["prompt"].startswith("Solve the following math problem step by step.")
    assert rec["prompt"].endswith("Question: What is 2+2?\n\nAnswer:") and rec["reference"] == "4"
    assert "\\boxed{}" in task_records("math500", [{"id": 0, "question": "q", "gold": "1"}])[0]["prompt"]
    with pytest.raises(ReasoningError, match="reasoning.tasks"):
        task_records("nope", [])
    probs = toy_problems([{"id": "a", "source": "no number"}, {"id": "b", "source": "It cost 5 pounds and 7"}], 4)
    assert probs == [{"id": "b", "question": "It cost 5 pounds and 7", "gold": "5"}]


def test_score_reasoning_accuracy_and_missing_samples(tmp_path):
    records = task_records("gsm8k", [{"id": i, "question": f"q{i}", "gold": str(i)} for i in range(4)])
    (tmp_path / "r.json").write_text(json.dumps(records))
    shard = tmp_path / "s.jsonl"
    texts = ["#### 0", "the answer is 1", "3", "nothing"]  # 2 of 4 correct
    shard.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    run = {"task": "gsm8k", "model": "base", "records": str(tmp_path / "r.json"), "shards": [str(shard)]}
    frame = score_reasoning([run], tmp_path / "t.csv", tmp_path / "p.csv")
    assert frame.iloc[0].to_dict() == {"task": "gsm8k", "model": "base", "n": 4, "correct": 2, "accuracy_pct": 50.0}
    assert pd.read_csv(tmp_path / "p.csv")["correct"].tolist() == [True, True, False, False]
    shard.write_text(json.dumps({"id": "0", "text": "#### 0"}) + "\n")
    with pytest.raises(ReasoningError, match="3 problems have no sample"):
        score_reasoning([run], tmp_path / "t.csv", tmp_path / "p.csv")


def test_hub_problems_from_local_mirrors(tmp_path, monkeypatch):
    """Offline, GSM8K and hendrycks_math come from save_to_disk mirrors (as the benchmarks do);
    without one the error names the missing folder and the command that writes it."""
    import datasets

    from dsl_llada.reasoning import MATH_CONFIGS, load_hub_problems, reasoning_mirror

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rows = [{"question": "How many?", "answer": "2 + 3 = 5\n#### 1,005"}]
    datasets.Dataset.from_list(rows).save_to_disk(str(reasoning_mirror("gsm8k", tmp_path)))
    for i, c in enumerate(MATH_CONFIGS):
        rec = {"problem": f"p{i}", "level": "Level 1", "type": c, "solution": f"so \\boxed{{{i}}}"}
        datasets.Dataset.from_list([rec]).save_to_disk(str(reasoning_mirror("math500", tmp_path, c)))
    gsm = load_hub_problems("gsm8k", "0" * 40, str(tmp_path / "cache"), tmp_path)
    assert gsm == [{"id": 0, "question": "How many?", "gold": "1005"}]
    math = load_hub_problems("math500", "0" * 40, str(tmp_path / "cache"), tmp_path)
    assert sorted(p["question"] for p in math) == [f"p{i}" for i in range(7)]
    assert all(p["gold"] == p["question"][1:] for p in math)
    with pytest.raises(ReasoningError, match="gsm8k/test"):
        load_hub_problems("gsm8k", "0" * 40, str(tmp_path / "cache"), tmp_path / "none")
