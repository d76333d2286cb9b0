"""The smoke preset end to end: every stage of the study runs and writes sane tables,
figures and a report (CPU, offline, minutes)."""

import json
import time

import pandas as pd
import pytest
import yaml

from wfutil import REPO, run_snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    import shutil

    workdir = tmp_path_factory.mktemp("smoke")
    shutil.copytree(REPO / "config", workdir / "config")
    t0 = time.perf_counter()
    run_snakemake(["--cores", "2", "--configfile", "config/presets/smoke.yaml"], cwd=workdir, timeout=1200)
    elapsed = time.perf_counter() - t0
    run_snakemake(["--configfile", "config/presets/smoke.yaml", "--report", "report.html"], cwd=workdir, timeout=300)
    print(f"smoke workflow: {elapsed:.0f} s")
    cfg = _merge(
        yaml.safe_load((REPO / "config/config.yaml").read_text()),
        yaml.safe_load((REPO / "config/presets/smoke.yaml").read_text()),
    )
    return workdir, cfg


def _merge(base: dict, over: dict) -> dict:
    """Key-by-key merge, as Snakemake merges a --configfile over config.yaml."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


def test_rouge_table_rows_and_ranges(smoke_run):
    workdir, cfg = smoke_run
    table = pd.read_csv(workdir / "results/tables/rouge.csv")
    methods = ["dsl_sde", "llada", "llada_eos_block", "llada_block", "mdm_remask", "dsl_remask"]
    expected = {(m, n) for m in methods for n in cfg["sampling"]["nfe"]} | {("llada_block", 32), ("ar_toy", 0)}
    assert set(zip(table["method"], table["nfe"])) == expected
    assert len(table) == len(expected) and (table["benchmark"] == "xsum").all()
    assert (table["n"] == cfg["world"]["n_eval_per_task"]).all()
    for col in ("rouge1", "rouge2", "rougeL", "premature_pct", "repetition_pct", "degenerate_pct", "empty_pct"):
        assert table[col].between(0, 100).all(), col
    assert (table["rouge2"] <= table["rouge1"] + 1e-9).all()
    assert (table["avg_words"] >= 0).all()
    sde = table[table["sampler"] == "sde"]
    assert (sde["forward_passes"] == sde["nfe"] + 1).all()  # NFE + the final decode
    remask = table[table["sampler"] == "remasking"]
    assert (remask["forward_passes"] == remask["nfe"]).all()
    assert table.loc[table["reference"], "method"].tolist() == ["ar_toy", "llada_block"]  # AR row [§3.7]
    ar = table[table["sampler"] == "ar"]
    assert (ar["forward_passes"] <= cfg["benchmarks"]["gen_length"]["xsum"]).all()  # <= G new tokens
    # BERTScore columns [§4.3]: toy RoBERTa without rescaling, so within [0, 100]
    # (a cell whose outputs are all empty has no BERTScore: only non-empty outputs are scored)
    scored = table["bertscore_f1"].notna()
    assert scored.any() and table.loc[scored, "bertscore_f1"].between(0, 100).all()
    # every cell: mean over the SDE's seeds (remasking is deterministic: one run) with its CI
    assert (sde["n_seeds"] == cfg["sampling"]["n_seeds"]).all() and (remask["n_seeds"] == 1).all()
    assert (table["rouge1_ci_low"] <= table["rouge1"] + 1e-9).all()
    assert (table["rouge1"] <= table["rouge1_ci_high"] + 1e-9).all()
    failures = pd.read_csv(workdir / "results/tables/failure_modes.csv")
    assert set(failures["failure"]) == {"premature", "repetition", "degenerate", "empty"}
    assert len(failures) == 4 * len(table)


def test_generation_quality_tables_and_figures(smoke_run):
    """Figure 2 and the GenPPL/Distinct-2 scatter [§6.2(d), §6.2(e)] through the toy's rules."""
    workdir, cfg = smoke_run
    genq = cfg["genquality"]
    table = pd.read_csv(workdir / "results/tables/generation_quality.csv")
    assert set(zip(table["method"], table["nfe"])) == {(m, n) for m in genq["methods"] for n in genq["nfe"]}
    assert (table["n"] == genq["n_prompts"]).all() and table["repetition_pct"].between(0, 100).all()
    assert (table["avg_words"] <= genq["gen_length"]).all()
    scored = table[table["n_valid"] > 0]
    assert (scored["gen_ppl"] > 1).all()  # exp(mean NLL) of a real scorer
    assert (table["ppl_unreliable"] == (table["repetition_pct"] > genq["unreliable_repetition"])).all()
    scatter = pd.read_csv(workdir / "results/tables/generation_quality_scatter.csv")
    assert set(scatter["nfe"]) == {genq["scatter_nfe"]} and len(scatter) == len(genq["methods"])
    for name in ("nfe_efficiency", "genquality_scatter"):
        assert (workdir / f"results/figures/{name}.png").stat().st_size > 5000
    samples = (workdir / "results/genquality/samples/dsl_sde/nfe4.jsonl").read_text().splitlines()
    assert len(samples) == genq["n_prompts"] and json.loads(samples[0])["forward_passes"] == 5  # NFE + decode


def test_robustness_table(smoke_run):
    workdir, cfg = smoke_run
    table = pd.read_csv(workdir / "results/tables/robustness.csv")
    rob = cfg["robustness"]
    settings = len(rob["random_rates"]) + len(rob["semantic_rates"])
    wte = table[table["input"] == "wte"]
    assert set(wte["model"]) == set(rob["models"]) and len(wte) == len(rob["models"]) * settings
    # the DSL model's random rates once more, read through its converter (a diagnostic)
    converter = table[table["input"] == "converter"]
    assert set(converter["model"]) == {"dsl"} and sorted(converter["rate"]) == sorted(rob["random_rates"])
    assert table["fix_rate"].between(0, 100).all() and table["clean_preserved"].between(0, 100).all()
    assert (table["n"] == cfg["world"]["n_corruption_texts"]).all()


def test_samples_have_provenance_and_per_sample_fields(smoke_run):
    workdir, _ = smoke_run
    shards = sorted((workdir / "results/samples").rglob("shard*of2.jsonl"))
    assert shards and not list((workdir / "results/samples").rglob("*.progress.jsonl"))
    row = json.loads(shards[0].read_text().splitlines()[0])
    assert {"id", "text", "forward_passes", "seed", "nfe"} <= set(row)
    meta = json.loads((shards[0].parent / (shards[0].name + ".meta.json")).read_text())
    assert {"git_commit", "packages", "torch", "device", "seed", "config_hash", "model_revision"} <= set(meta)


def test_figures_and_report_exist(smoke_run):
    workdir, _ = smoke_run
    for name in ("rouge_vs_nfe", "length_repetition", "robustness", "nfe_efficiency", "genquality_scatter"):
        for ext in ("png", "pdf"):
            assert (workdir / f"results/figures/{name}.{ext}").stat().st_size > 1000
    report = (workdir / "report.html").read_text(errors="ignore")
    assert "rouge_vs_nfe.png" in report and len(report) > 100_000
    for item in ("nfe_efficiency.png", "genquality_scatter.png", "generation_quality.csv"):
        assert item in report, item


def test_buckets_correction_and_context_tables(smoke_run):
    """T-buckets, the correction suites (toy suites) and T-context come out of the same run, and the
    report shows them."""
    workdir, cfg = smoke_run
    buckets = pd.read_csv(workdir / "results/tables/buckets.csv")
    assert set(buckets["nfe"]) == set(cfg["sampling"]["nfe"]) and set(buckets["benchmark"]) == set(
        cfg["benchmarks"]["names"]
    )
    pct = buckets[["big_win_pct", "win_pct", "tie_pct", "loss_pct", "big_loss_pct"]].sum(axis=1)
    assert (pct.round(1) == 100.0).all() and (buckets["n"] == cfg["world"]["n_eval_per_task"]).all()
    corr = pd.read_csv(workdir / "results/tables/correction.csv")
    overall = corr[corr["group_by"] == "all"]
    assert set(overall["suite"]) == {"manual_semantic", "correction_benchmark", "noisy_edit", "homophone_ocr"}
    assert set(corr["model"]) == set(cfg["robustness"]["models"]) and corr["fix_rate"].between(0, 100).all()
    ctx = pd.read_csv(workdir / "results/tables/context_robustness.csv")
    assert len(ctx) == len(cfg["robustness"]["models"]) * 3 * 5 and ctx["accuracy"].between(0, 100).all()
    assert (workdir / "results/figures/context_robustness.png").stat().st_size > 1000
    report = (workdir / "report.html").read_text(errors="ignore")
    assert "context_robustness.png" in report and "buckets.csv" in report


def test_claims_table_and_markdown_summary(smoke_run):
    workdir, cfg = smoke_run
    claims = pd.read_csv(workdir / "results/tables/claims.csv", keep_default_na=False)
    sampling = claims[claims["claim"] == "sampling"]
    expected = {(f"nfe{n}", b) for n in cfg["sampling"]["nfe"] for b in cfg["claims"]["sampling"]["baselines"]}
    assert set(zip(sampling["setting"], sampling["b"])) == expected and (sampling["a"] == "dsl_sde").all()
    assert ((sampling["ci_low"] <= sampling["difference"]) & (sampling["difference"] <= sampling["ci_high"])).all()
    robust = claims[claims["claim"] == "robustness"]
    assert set(zip(robust["metric"], robust["b"])) == {
        (m, b) for m in ("fix_rate", "clean_preserved") for b in ("mdm", "base")
    }
    summary = (workdir / "results/tables/summary.md").read_text()
    assert "| xsum | dsl_sde |" in summary and "| robustness |" in summary
