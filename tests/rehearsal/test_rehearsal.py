"""The rehearsal: `released`, `quick` and `paper` end to end, offline, through the real Snakefile,
on tiny stand-ins of every hub artifact in its real layout (tests/rehearsal/standins.py).

A reviewer's run: a clean folder, the preset unchanged, plus an overlay that touches only sizes,
mirror paths and the lock (tests/rehearsal/overlays/<preset>.yaml). Downloads go through the
pre-populated hub cache or local snapshot folders, benchmarks through save_to_disk mirrors,
FineWeb-Edu through its parquet files; `paper` trains DSL and the MDM control with
`accelerate launch` and the preset's DeepSpeed ZeRO-2 config on 2 CPU processes; then sampling,
scoring, BERTScore, the AR rows, Figure 2 and the GenPPL scatter, reasoning, robustness, tables and
figures, and a second run that has nothing to do.
"""

import json
import math
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from snakemake.utils import update_config

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "workflow"))
sys.path.insert(0, str(HERE))

import standins  # noqa: E402
from wfutil import REPO, job_counts, paper_eval_dir, run_snakemake  # noqa: E402

PRESETS = ("released", "quick", "paper")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The stand-ins, built once per session; each preset gets a hard-linked copy."""
    root = tmp_path_factory.mktemp("standins")
    summary = standins.build_all(root)
    return root, summary


def preset_files(preset: str) -> list[str]:
    """The preset's config files as a user passes them: quick.yaml is an overlay on released.yaml."""
    return (
        ["config/presets/released.yaml", "config/presets/quick.yaml"]
        if preset == "quick"
        else [f"config/presets/{preset}.yaml"]
    )


def merged(preset: str) -> dict:
    """config.yaml <- preset <- overlay, as Snakemake merges --configfile files (dict by dict)."""
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    for path in (*(REPO / p for p in preset_files(preset)), HERE / f"overlays/{preset}.yaml"):
        update_config(cfg, yaml.safe_load(path.read_text()))
    methods = cfg["sampling"]["methods"]
    for name in [n for n, m in methods.items() if m.get("enabled", True) is False]:
        del methods[name]
    return cfg


def used_models(cfg: dict) -> set[str]:
    """Every model a job of the merged config reads: the sampling methods', robustness, reasoning,
    the AR rows, the GenPPL scorer (Figure 2) and the BERTScore model."""
    used = {m["model"] for m in cfg["sampling"]["methods"].values()} | set(cfg["robustness"]["models"])
    used |= set(cfg["reasoning"]["models"]) | set(cfg["ar_references"]["models"])
    if cfg["genquality"].get("enabled", True):
        used.add("genppl")
    if cfg["bertscore"].get("enabled", True):
        used.add("bertscore")
    return used


def expected_jobs(cfg: dict) -> dict[str, int]:
    used = used_models(cfg)
    trained = [m for m in used if cfg["models"][m]["source"] == "train"]
    n_bench, n_methods = len(cfg["benchmarks"]["names"]), len(cfg["sampling"]["methods"])
    shards = cfg["sampling"]["shards"]
    reason, genq = cfg["reasoning"], cfg["genquality"]
    jobs = {
        "download_model": sum(1 for m in used if cfg["models"][m]["source"] == "hub"),
        "build_benchmark": n_bench,
        "sample_shard": n_bench * n_methods * shards,
        "score_samples": n_bench,
        "eval_robustness": len(cfg["robustness"]["models"]),
        "make_rouge_tables": 1,
        "make_robustness_table": 1,
        # the correction suites' files and sde_prompts_200.json of the authors (texts_100 is a
        # stand-in at its default path)
        "fetch_paper_eval": 3,
        "make_buckets_table": 1,
        "make_correction_table": 1,
        "make_context_table": 1,
        "make_claims_table": 1,
        "make_summary": 1,
        "plot_figure": 6,  # rouge_vs_nfe, length_repetition, robustness, context, nfe_efficiency, scatter
        "all": 1,
        # Figure 2 / the GenPPL scatter: one sampling job per method (every NFE), one scoring job
        "prepare_genquality_prompts": 1,
        "sample_genquality": len(genq["methods"]),
        "score_genquality": 1,
        "score_bertscore": 1,
        "sample_ar": len(cfg["ar_references"]["models"]) * shards,
        "build_reasoning_task": len(reason["tasks"]),
        "sample_reasoning": len(reason["tasks"]) * len(reason["models"]) * reason["shards"],
        "score_reasoning": 1,
    }
    if trained:
        jobs.update(prepare_cpt_corpus=1, train_model=len(trained))
    return jobs


def _workdir(tmp_path: Path, built_root: Path) -> Path:
    wd = tmp_path / "run"
    shutil.copytree(REPO / "config", wd / "config")
    # hard links (the cache's relative symlinks kept): nothing is copied, nothing shared is written
    shutil.copytree(built_root, wd, symlinks=True, copy_function=os.link, dirs_exist_ok=True)
    return wd


def _env_for(preset: str, wd: Path) -> dict:
    """The machine's environment, not config: DeepSpeed runs on its CPU accelerator here (the
    training code path is the GPU one's). Its shared-memory all-reduce kernel is JIT-compiled on
    first use (minutes of C++ on 2 cores); it is an optional speed-up, so it is switched off as in
    tests/cluster/test_deepspeed_cpu.py."""
    if preset != "paper":
        return {}
    site = wd / "rehearsal" / "site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(
        "import deepspeed.ops\ndeepspeed.ops.__compatible_ops__['deepspeed_shm_comm'] = False\n"
    )
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {"DS_ACCELERATOR": "cpu", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": path}


def _check_downloads(wd: Path, cfg: dict, lock: dict, preset: str) -> None:
    for name, m in cfg["models"].items():
        if m["source"] != "hub" or name not in used_models(cfg):
            continue
        folder = wd / f"resources/models/{name}"
        meta = json.loads((folder / "dsl_llada_backbone.json").read_text())
        assert meta["revision"] == lock[m["hub_id"]] and meta["hub_id"] == m["hub_id"]
        if m["family"] == "llada":
            assert meta["special_ids"] == {"mask": 126336, "eos": 126081, "eot": 126348, "pad": 126081}
        prov = json.loads((folder / "dsl_llada_download.meta.json").read_text())
        assert prov["source"]["kind"] == ("local mirror" if m.get("path") else "hub"), prov["source"]
        assert (folder / "manifest.sha256.json").exists()
        assert not list(folder.glob("*.py")), "no remote code in a model folder"
    for bench in cfg["benchmarks"]["names"]:
        records = json.loads((wd / f"results/data/benchmarks/{bench}.json").read_text())
        side = json.loads((wd / f"results/data/benchmarks/{bench}.json.meta.json").read_text())
        assert len(records) == cfg["benchmarks"]["n"]
        assert side["dataset_revision"] == lock[cfg["benchmarks"]["specs"][bench]["hub_id"]]
        assert all(r["prompt"].startswith(cfg["benchmarks"]["specs"][bench]["template"] + "\n\n") for r in records)


def _check_samples(wd: Path, cfg: dict) -> None:
    n, shards = cfg["benchmarks"]["n"], cfg["sampling"]["shards"]
    for bench in cfg["benchmarks"]["names"]:
        for method in cfg["sampling"]["methods"]:
            for nfe in cfg["sampling"]["nfe"]:
                rows = []
                for k in range(shards):
                    path = wd / f"results/samples/{bench}/{method}/nfe{nfe}/shard{k}of{shards}.jsonl"
                    rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
                assert len(rows) == n, (bench, method, nfe, len(rows))
        for model in cfg["ar_references"]["models"]:  # greedy AR rows [§3.7]: nfe 0, at most G tokens
            rows = []
            for k in range(shards):
                path = wd / f"results/samples/{bench}/{model}/ar/shard{k}of{shards}.jsonl"
                rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            assert len(rows) == n and all(r["nfe"] == 0 for r in rows), (bench, model, len(rows))
            assert all(len(r["tokens"]) <= cfg["benchmarks"]["gen_length"][bench] for r in rows)


def _check_tables(wd: Path, cfg: dict) -> None:
    rouge = pd.read_csv(wd / "results/tables/rouge.csv")
    grid = {
        (b, m, nfe)
        for b in cfg["benchmarks"]["names"]
        for m in cfg["sampling"]["methods"]
        for nfe in cfg["sampling"]["nfe"]
    }
    grid |= {(b, m, 0) for b in cfg["benchmarks"]["names"] for m in cfg["ar_references"]["models"]}
    assert set(zip(rouge["benchmark"], rouge["method"], rouge["nfe"])) == grid
    assert (rouge["n"] == cfg["benchmarks"]["n"]).all()
    for col in ("rouge1", "rouge2", "rougeL", "premature_pct", "repetition_pct"):
        assert rouge[col].between(0, 100).all() and rouge[col].map(math.isfinite).all(), col
    # BERTScore x 100, rescaled with the package's roberta-large baseline: at most 100, and below
    # -100 for unrelated text (random stand-in weights); NaN only where every output of a row is
    # empty (the authors score non-empty outputs only)
    scored = rouge.dropna(subset=["bertscore_f1"])
    assert len(scored) > 0
    for col in ("bertscore_p", "bertscore_r", "bertscore_f1"):
        assert (scored[col] <= 100).all() and scored[col].map(math.isfinite).all(), col
    genq = cfg["genquality"]
    quality = pd.read_csv(wd / "results/tables/generation_quality.csv")
    assert set(zip(quality["method"], quality["nfe"])) == {(m, n) for m in genq["methods"] for n in genq["nfe"]}
    assert (quality["n"] == genq["n_prompts"]).all()
    valid = quality[quality["n_valid"] > 0]
    assert len(valid) > 0 and (valid["gen_ppl"] > 1).all() and valid["gen_ppl"].map(math.isfinite).all()
    assert quality["distinct2"].between(0, 100).all() and quality["repetition_pct"].between(0, 100).all()
    reasoning = pd.read_csv(wd / "results/tables/reasoning.csv")
    reason = cfg["reasoning"]
    assert set(zip(reasoning["task"], reasoning["model"])) == {
        (t, m) for t in reason["tasks"] for m in reason["models"]
    }
    # the stand-in sets: 3 GSM8K problems; MATH-500 draws min(500, n) = all 7 (one per config)
    assert {t: n for t, n in zip(reasoning["task"], reasoning["n"])} == {"gsm8k": 3, "math500": 7}
    assert reasoning["accuracy_pct"].between(0, 100).all()
    assert (rouge["avg_words"] >= 0).all()
    robust = pd.read_csv(wd / "results/tables/robustness.csv")
    rob = cfg["robustness"]
    cases = {(m, "wte", "random", r) for m in rob["models"] for r in rob["random_rates"]}
    cases |= {(m, "wte", "semantic", r) for m in rob["models"] for r in rob["semantic_rates"]}
    # the DSL checkpoints (the trained one, or the released stand-ins) also get the converter rows
    cases |= {(m, "converter", "random", r) for m in rob["models"] if m.startswith("dsl") for r in rob["random_rates"]}
    got = zip(robust["model"], robust["input"], robust["corruption"], robust["rate"].round(3))
    assert sorted(got) == sorted(cases)
    for col in ("fix_rate", "clean_preserved"):
        assert robust[col].between(0, 100).all() and robust[col].map(math.isfinite).all(), col
    assert (robust["n_corrupted_tokens"] > 0).all()
    for name in ("rouge_vs_nfe", "length_repetition", "robustness", "nfe_efficiency", "genquality_scatter"):
        for ext in ("png", "pdf"):
            assert (wd / f"results/figures/{name}.{ext}").stat().st_size > 1000


def _check_training(wd: Path) -> None:
    from safetensors import safe_open

    for model in ("dsl", "mdm"):
        folder = wd / f"results/models/{model}"
        keys = set()
        for shard in folder.glob("*.safetensors"):
            with safe_open(str(shard), "pt") as fh:
                keys |= set(fh.keys())
        assert "model.transformer.wte.weight" in keys, sorted(keys)[:5]
        assert ("noise_embed.weight" in keys) == (model == "dsl")
        metrics = json.loads((folder / "train_metrics.json").read_text())
        assert metrics["distributed_type"] == "DEEPSPEED" and metrics["gradient_accumulation"] == 2
        assert len(metrics["loss_history"]) == 2 and all(map(math.isfinite, metrics["loss_history"]))


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS)
def test_preset_runs_end_to_end_offline_on_standins(built, tmp_path, preset, monkeypatch):
    root, summary = built
    wd = _workdir(tmp_path, root)
    for key, value in _env_for(preset, wd).items():
        monkeypatch.setenv(key, value)
    shared = paper_eval_dir()
    if shared is None:
        pytest.skip("the authors' eval files (../shared/data/paper_eval) are not here: the correction suites need them")
    mirror = wd / "rehearsal" / "paper_eval_mirror.yaml"  # a mirror path, as an offline reviewer sets it
    mirror.write_text(yaml.safe_dump({"paper_eval": {"mirror": str(shared)}}))
    cfg = merged(preset)
    args = ["--cores", "2", "--configfile", *preset_files(preset), str(HERE / f"overlays/{preset}.yaml"), str(mirror)]
    before, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    proc = run_snakemake(args, cwd=wd, timeout=1200)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"rehearsal {preset}: {time.perf_counter() - t0:.0f} s wall, {cpu:.0f} s CPU (all jobs)")
    counts = job_counts(proc.stdout + proc.stderr)
    counts.pop("total", None)
    assert counts == expected_jobs(cfg)
    _check_downloads(wd, cfg, summary["lock"], preset)
    _check_samples(wd, cfg)
    _check_tables(wd, cfg)
    if preset == "paper":
        _check_training(wd)
    again = run_snakemake(["-n", *args], cwd=wd, timeout=120)
    out = again.stdout + again.stderr
    assert "Nothing to be done" in out, out[:6000]  # the head names each job's reason
