"""Result tables: claims (paired bootstrap differences) and the Markdown summary."""

import json

import numpy as np
import pandas as pd
import pytest

from dsl_llada.tables import (
    StageError,
    make_claims_table,
    make_robustness_table,
    make_rouge_tables,
    markdown_summary,
    robustness_claims,
    sampling_claims,
)

BOOT = {"n": 300, "seed": 0, "level": 0.95}


def _score_dir(root, shift: dict[str, float], n=20):
    rng = np.random.default_rng(0)
    base = rng.uniform(10, 60, n)
    for method, delta in shift.items():
        for nfe in (4, 8):
            rows = [{"id": f"r{i}", "seed_index": k, "rouge1": base[i] + delta + k} for i in range(n) for k in (0, 1)]
            (root / method).mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows).to_csv(root / method / f"nfe{nfe}.csv", index=False)
            summary = {
                "benchmark": root.name,
                "method": method,
                "model": "m",
                "sampler": "s",
                "nfe": nfe,
                "reference": False,
                "n": n,
                "n_seeds": 2,
                "forward_passes": nfe,
                "rouge1": base.mean() + delta,
                "rouge2": 1.0,
                "rougeL": 2.0,
                "avg_words": 9.0,
                "premature_pct": 0.0,
                "repetition_pct": 5.0,
                "degenerate_pct": 0.0,
                "degenerate_hero_pct": 0.0,
                "empty_pct": 0.0,
                "prompt_truncated": 0,
                "ci_level": 0.95,
            }
            for col in ("rouge1", "rouge2", "rougeL"):
                summary[f"{col}_ci_low"], summary[f"{col}_ci_high"] = summary[col] - 1, summary[col] + 1
            (root / method / f"nfe{nfe}.json").write_text(json.dumps(summary))
    return root


def _robustness(path, fix: list[float], clean: list[float], converter: tuple[list, list] | None = None):
    """A robustness JSON with one wte row (no ``input`` key, as files written before it existed);
    ``converter``: (fix, clean) of an extra converter-input row, as DSL models have."""
    row = _robustness_row(fix, clean)
    rows = [row] if converter is None else [row, {**_robustness_row(*converter), "input": "converter"}]
    path.write_text(json.dumps({"rows": rows}))
    return str(path)


def _robustness_row(fix: list[float], clean: list[float]) -> dict:
    scored = [f for f in fix if f is not None]
    return {
        "corruption": "random",
        "rate": 0.1,
        "fix_rate": 100 * np.mean(scored),
        "clean_preserved": 100 * np.mean(clean),
        "selective": 0.0,
        "n": len(fix),
        "n_corrupted_tokens": 10,
        "n_truncated": 0,
        "per_text": {"id": list(range(len(fix))), "fix_rate": fix, "clean_preserved": clean},
    }


def test_sampling_claims_are_paired_differences_per_benchmark_and_nfe(tmp_path):
    folder = _score_dir(tmp_path / "xsum", {"dsl_sde": 5.0, "llada": 0.0, "llada_eos_block": 7.0})
    rows = sampling_claims({"xsum": str(folder)}, "dsl_sde", ["llada", "llada_eos_block"], [4, 8], BOOT)
    assert [(r["setting"], r["b"]) for r in rows] == [
        ("nfe4", "llada"),
        ("nfe4", "llada_eos_block"),
        ("nfe8", "llada"),
        ("nfe8", "llada_eos_block"),
    ]
    assert rows[0]["difference"] == pytest.approx(5.0) and rows[0]["ci_low"] == pytest.approx(5.0)
    assert rows[1]["difference"] == pytest.approx(-2.0) and rows[1]["n"] == 20
    with pytest.raises(StageError, match="mdm_remask at NFE 4"):
        sampling_claims({"xsum": str(folder)}, "dsl_sde", ["mdm_remask"], [4], BOOT)


def test_robustness_claims_skip_texts_without_corruption_and_name_missing_settings(tmp_path):
    files = {
        "dsl": _robustness(tmp_path / "dsl.json", [1.0, 0.5, None, 1.0], [1.0, 1.0, 1.0, 0.9]),
        "base": _robustness(tmp_path / "base.json", [0.0, 0.5, None, 0.0], [0.5, 0.5, 0.5, 0.5]),
    }
    rows = robustness_claims(files, "dsl", ["base"], "random", 0.1, BOOT)
    fix = next(r for r in rows if r["metric"] == "fix_rate")
    assert fix["n"] == 3 and fix["a_value"] == pytest.approx(250 / 3) and fix["difference"] == pytest.approx(200 / 3)
    with pytest.raises(StageError, match="no semantic corruption at rate 0.1"):
        robustness_claims(files, "dsl", ["base"], "semantic", 0.1, BOOT)


def test_rouge_table_claims_and_markdown_summary(tmp_path):
    folder = _score_dir(tmp_path / "xsum", {"dsl_sde": 5.0, "llada": 0.0, "llada_eos_block": 7.0})
    rouge = make_rouge_tables([str(folder)], tmp_path / "rouge.csv", tmp_path / "failures.csv")
    assert {"rouge1_ci_low", "rouge1_ci_high", "n_seeds"} <= set(pd.read_csv(tmp_path / "rouge.csv").columns)
    assert len(rouge) == 6
    rob = {
        "dsl": _robustness(tmp_path / "dsl.json", [1.0, 0.5], [1.0, 1.0], converter=([0.0, 0.0], [0.0, 0.5])),
        "base": _robustness(tmp_path / "base.json", [0.0, 0.5], [0.5, 0.5]),
    }
    table = make_robustness_table(rob, tmp_path / "robustness.csv")
    assert list(zip(table["model"], table["input"])) == [("base", "wte"), ("dsl", "wte"), ("dsl", "converter")]
    rows = sampling_claims({"xsum": str(folder)}, "dsl_sde", ["llada"], [4, 8], BOOT)
    rows += robustness_claims(rob, "dsl", ["base"], "random", 0.1, BOOT)
    make_claims_table(rows, tmp_path / "claims.csv")
    text = markdown_summary(
        tmp_path / "rouge.csv", tmp_path / "robustness.csv", tmp_path / "claims.csv", tmp_path / "summary.md"
    )
    assert (tmp_path / "summary.md").read_text() == text
    assert "| xsum | dsl_sde | 2 |" in text and "| sampling | xsum | nfe8 | rouge1 | dsl_sde | llada |" in text
    assert "5.0 [5.0, 5.0]" in text and "| dsl | wte | random | 0.1 | 75.0 | 100.0 |" in text
    assert "| dsl | converter | random | 0.1 | 0.0 | 25.0 |" in text
    # the claims compare the paper's test (wte rows), never the converter diagnostic
    clean = next(r for r in rows if r["claim"] == "robustness" and r["metric"] == "clean_preserved")
    assert clean["a_value"] == pytest.approx(100.0) and clean["difference"] == pytest.approx(50.0)
    with pytest.raises(StageError, match="no claim"):
        make_claims_table([], tmp_path / "empty.csv")
