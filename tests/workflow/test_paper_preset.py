"""The paper, released and quick presets: values against the protocol, dry runs of the full DAG
(no network: hub SHAs from a temporary lock file), and the hub rules run offline on mirrors."""

import copy
import json
import re
import resource
import shutil
import time

import pytest
import yaml
from snakemake.utils import update_config

from dsl_llada.benchmarks import PAPER_BENCHMARKS
from dsl_llada.hub import read_lock

from helpers import fill_schema_defaults
from wfutil import paper_eval_dir
from wfutil import REPO, job_counts, run_snakemake

FAKE_SHA = "0123456789abcdef0123456789abcdef01234567"
PRESETS = ("paper", "released", "quick")
# the --configfile chain of each preset, in merge order: quick.yaml is an overlay on released.yaml
PRESET_CHAIN = {"paper": ("paper",), "released": ("released",), "quick": ("released", "quick")}


def preset_files(preset: str) -> list[str]:
    return [f"config/presets/{name}.yaml" for name in PRESET_CHAIN[preset]]


# rule extract_homophone_pairs writes the authors' 30 pairs here; the paper presets point at it
AUTHORS_HOMOPHONE_PAIRS = "results/data/paper_suites/homophone_pairs.json"
TOY_RULES = ("generate_toy_world", "build_toy_init", "prepare_benchmark", "prepare_training_data")


def merged(preset: str) -> dict:
    """config.yaml with the preset merged over it, as `--configfile` does (dicts key by key),
    then the methods a preset switched off removed (common.smk)."""
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    for path in preset_files(preset):
        update_config(cfg, yaml.safe_load((REPO / path).read_text()))
    methods = cfg["sampling"]["methods"]
    for name in [n for n, m in methods.items() if m.get("enabled", True) is False]:
        del methods[name]
    return cfg


def _lock(path, blank=(), drop=()):
    lock = read_lock(REPO / "config/hub.lock.yaml")
    for hub_id, entry in lock.items():
        entry["revision"] = "" if hub_id in blank else FAKE_SHA
    text = yaml.safe_dump({k: v for k, v in lock.items() if k not in drop}, sort_keys=True)
    path.write_text(text)
    return path


def _texts(workdir):
    dest = workdir / "resources/paper_eval/texts_100.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    src = paper_eval_dir()
    if src is not None and (src / "texts_100.json").exists():
        shutil.copy(src / "texts_100.json", dest)
    else:  # a user's clone without ../shared: any texts_100-shaped file makes the DAG
        dest.write_text(json.dumps([{"id": 0, "text": "a", "tokens": [300], "n_tokens": 1}]))
    prompts = dest.parent / "sde_prompts_200.json"  # genquality.prompts of the paper presets
    if src is not None and (src / "sde_prompts_200.json").exists():
        shutil.copy(src / "sde_prompts_200.json", prompts)
    else:
        prompts.write_text(json.dumps([{"id": 0, "category": "qa", "prompt": "Why is the sky blue?"}]))


def _overlay(workdir, lock, **extra):
    over = {"hub": {"lock_file": str(lock), "offline": True}}
    update_config(over, extra)
    path = workdir / "overlay.yaml"
    path.write_text(yaml.safe_dump(over))
    return path


def _dry_run(workdir, preset, overlay, check=True):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = run_snakemake(
        ["-n", "--quiet", "rules", "--configfile", *preset_files(preset), str(overlay)],
        cwd=workdir,
        timeout=120,
        check=check,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc, time.perf_counter() - t0, cpu


def paper_eval_files(cfg: dict) -> list[str]:
    """The authors' eval files a hub preset fetches (schema defaults: manual and benchmark suites on)."""
    files = ["texts_100.json"] if cfg["robustness"]["texts"] == "resources/paper_eval/texts_100.json" else []
    corr = cfg["robustness"].get("correction", {})
    files += ["semantic_corruption_manual.json"] if corr.get("manual", True) else []
    files += ["correction_benchmark_50.json"] if corr.get("benchmark", True) else []
    if corr.get("homophone_pairs") == AUTHORS_HOMOPHONE_PAIRS:
        files.append("eval_realistic_correction.py")  # the script holding the homophone/OCR pairs [§5.3]
    genq = cfg.get("genquality", {})
    if genq.get("enabled", True) and genq.get("prompts") == "resources/paper_eval/sde_prompts_200.json":
        files.append("sde_prompts_200.json")  # Figure 2's prompts [§6.2(e)]
    return files


def expected_jobs(preset: str) -> dict[str, int]:
    cfg = merged(preset)
    used = {m["model"] for m in cfg["sampling"]["methods"].values()} | set(cfg["robustness"]["models"])
    trained = [m for m in used if cfg["models"][m]["source"] == "train"]
    # the scorers, AR references and reasoning models: GPT-2-large, roberta-large, Qwen, Llama, Beta2 ...
    used |= {"genppl", "bertscore", *cfg["ar_references"]["models"], *cfg["reasoning"]["models"]}
    grid = len(cfg["benchmarks"]["names"]) * len(cfg["sampling"]["methods"])  # every NFE in one job
    jobs = {
        "download_model": sum(1 for m in used if cfg["models"][m]["source"] == "hub"),  # only what a job needs
        "build_benchmark": len(cfg["benchmarks"]["names"]),
        "sample_shard": grid * cfg["sampling"]["shards"],
        "score_samples": len(cfg["benchmarks"]["names"]),  # one scoring job per benchmark
        "eval_robustness": len(cfg["robustness"]["models"]),
        "make_rouge_tables": 1,
        "make_robustness_table": 1,
        "make_buckets_table": 1,
        "make_correction_table": 1,
        "make_context_table": 1,
        "fetch_paper_eval": len(paper_eval_files(cfg)),
        "plot_figure": 6,
        "make_claims_table": 1,
        "make_summary": 1,
        # Figure 2 and the GenPPL/Distinct-2 scatter: one sampling job per method (every NFE)
        "prepare_genquality_prompts": 1,
        "sample_genquality": len(cfg["genquality"]["methods"]),
        "score_genquality": 1,
        # BERTScore columns of rouge.csv: one job for every benchmark [§4.3]
        "score_bertscore": 1,
        "all": 1,
    }
    reasoning = cfg["reasoning"]  # GSM8K / MATH-500 [§6.2(a)]: one job per task x model x shard
    jobs.update(
        build_reasoning_task=len(reasoning["tasks"]),
        score_reasoning=1,
        sample_reasoning=len(reasoning["tasks"]) * len(reasoning["models"]) * reasoning["shards"],
    )
    if cfg["robustness"].get("correction", {}).get("homophone_pairs") == AUTHORS_HOMOPHONE_PAIRS:
        jobs["extract_homophone_pairs"] = 1
    if cfg["ar_references"]["models"]:  # AR reference rows: one job per model x shard, every benchmark [§3.7]
        jobs["sample_ar"] = len(cfg["ar_references"]["models"]) * cfg["sampling"]["shards"]
    if trained:
        # the corpus is fetched on the login node, tokenised in a compute job
        jobs.update(download_cpt_corpus=1, prepare_cpt_corpus=1, train_model=len(trained))
    return jobs


# ------------------------------------------------------------------ dry runs


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_dry_run_lists_every_stage(workdir, preset, monkeypatch):
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")  # python -X importtime: every import to stderr
    # no resources/paper_eval/: rule fetch_paper_eval brings the authors' files
    # no model is trained in released/quick, so FineWeb-Edu need not be pinned there
    drop = () if preset == "paper" else ("HuggingFaceFW/fineweb-edu",)
    overlay = _overlay(workdir, _lock(workdir / "lock.yaml", drop=drop))
    proc, wall, cpu = _dry_run(workdir, preset, overlay)
    counts = job_counts(proc.stdout)
    total = counts.pop("total")
    assert total == sum(counts.values())
    print(f"{preset} dry run: {wall:.1f} s wall, {cpu:.1f} s CPU, {total} jobs: {counts}")
    assert counts == expected_jobs(preset)
    assert not set(TOY_RULES) & set(counts)  # the toy rules are unreachable
    imported = set(re.findall(r"^import time:.*\|\s+(\S+)$", proc.stderr, re.M))
    assert {"snakemake", "dsl_llada.config"} <= imported  # the profile was recorded
    assert not {"torch", "transformers"} & imported  # planning a run never loads torch
    assert cpu <= 10.0, f"dry run used {cpu:.1f} s of CPU"
    assert wall <= 60.0  # 10 s on an idle machine; the 2 shared CI cores are often busy


def test_hub_mode_lint_is_clean(workdir):
    """download.smk is included only in hub mode, so the toy lint (test_workflow_static) never sees it."""
    _texts(workdir)
    overlay = _overlay(workdir, _lock(workdir / "lock.yaml"))
    proc = run_snakemake(["--lint", "--configfile", *preset_files("paper"), str(overlay)], cwd=workdir, timeout=120)
    assert "Congratulations" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_paper_dry_run_counts_match_the_protocol_grid(workdir):
    """5 methods x 4 benchmarks x 8 shards, each job running NFE 8 and 16 [§4.2]; DSL + MDM
    trained [§2.2-§2.3]."""
    assert expected_jobs("paper") == {
        "download_model": 5,
        "build_benchmark": 4,
        "download_cpt_corpus": 1,
        "prepare_cpt_corpus": 1,
        "train_model": 2,
        "sample_shard": 160,
        "score_samples": 4,
        "eval_robustness": 3,
        "make_rouge_tables": 1,
        "make_robustness_table": 1,
        "plot_figure": 6,
        "all": 1,
        "fetch_paper_eval": 5,  # texts, manual pairs, benchmark, SDE prompts, the homophone script
        "extract_homophone_pairs": 1,
        "make_buckets_table": 1,
        "make_correction_table": 1,
        "make_context_table": 1,
        "make_claims_table": 1,
        "make_summary": 1,
        "prepare_genquality_prompts": 1,
        "sample_genquality": 3,
        "score_genquality": 1,
        "score_bertscore": 1,
        "sample_ar": 16,
        "build_reasoning_task": 2,
        "sample_reasoning": 2 * 2 * 8,
        "score_reasoning": 1,
    }  # download_model: LLaDA-8B-Instruct, GPT-2-large, roberta-large, Qwen2.5-7B, Llama-3.1-8B
    # Qwen2.5-7B and Llama-3.1-8B x 8 shards, each job every benchmark [§3.7]
    assert expected_jobs("released")["sample_shard"] == 4 * 4 * 8
    assert "train_model" not in expected_jobs("released")
    assert expected_jobs("quick")["sample_shard"] == 4 * 4


def test_released_dry_run_of_the_new_tables_and_figure(workdir):
    """T-buckets (4 benchmarks x 4 methods x 8 shards sampled), the correction suites and T-context on
    the 4 released models, from the authors' files fetched at the pinned commit; one dry run for all."""
    overlay = _overlay(workdir, _lock(workdir / "lock.yaml", drop=("HuggingFaceFW/fineweb-edu",)))
    targets = [
        "results/tables/buckets.csv",
        "results/tables/correction.csv",
        "results/tables/context_robustness.csv",
        "results/figures/context_robustness.png",
    ]
    proc = run_snakemake(
        ["-n", *targets, "--quiet", "rules", "--configfile", "config/presets/released.yaml", str(overlay)],
        cwd=workdir,
        timeout=120,
    )
    counts = job_counts(proc.stdout)
    counts.pop("total")
    assert counts == {
        "make_buckets_table": 1,
        "score_samples": 4,
        "sample_shard": 4 * 4 * 8,
        "build_benchmark": 4,
        "make_correction_table": 1,
        "make_context_table": 1,
        "plot_figure": 1,
        # LLaDA, Beta1/2, Highpass, and the AR references (their rows are scored with the others)
        "download_model": 6,
        "sample_ar": 2 * 8,
        "eval_robustness": 4,  # one job per model: §5.1-§5.2, the correction suites and T-context
        # texts_100, semantic_corruption_manual, correction_benchmark_50, eval_realistic_correction.py
        "fetch_paper_eval": 4,
        "extract_homophone_pairs": 1,  # the authors' 30 homophone/OCR pairs from their script [§5.3]
    }


@pytest.mark.parametrize("own", [True, False])
def test_a_users_homophone_pairs_or_null_replace_the_authors(workdir, own):
    """robustness.correction.homophone_pairs = the user's file (used as it is) or null (suite off):
    neither the authors' script nor the extraction is in the DAG."""
    pairs = workdir / "my_pairs.json"
    pairs.write_text(json.dumps([{"id": "p0", "original": "a cat", "corrupted": "a cap"}]))
    setting = {"correction": {"homophone_pairs": str(pairs) if own else None}}
    overlay = _overlay(workdir, _lock(workdir / "lock.yaml", drop=("HuggingFaceFW/fineweb-edu",)), robustness=setting)
    proc = run_snakemake(
        [
            "-n",
            "results/tables/correction.csv",
            "--quiet",
            "rules",
            "--configfile",
            *preset_files("quick"),
            str(overlay),
        ],
        cwd=workdir,
        timeout=120,
    )
    counts = job_counts(proc.stdout)
    assert "extract_homophone_pairs" not in counts and counts["fetch_paper_eval"] == 3, counts


def test_fetch_paper_eval_runs_offline_from_a_mirror(workdir):
    """Rule fetch_paper_eval really executed with paper_eval.mirror = ../shared (skipped without it):
    the file arrives byte for byte with its provenance sidecar."""
    mirror = paper_eval_dir()
    if mirror is None:
        pytest.skip("../shared/data/paper_eval not present (a user's clone)")
    overlay = _overlay(workdir, _lock(workdir / "lock.yaml"), paper_eval={"mirror": str(mirror)})
    target = "resources/paper_eval/correction_benchmark_50.json"
    run_snakemake(
        ["--cores", "1", target, "--configfile", "config/presets/paper.yaml", str(overlay)], cwd=workdir, timeout=120
    )
    assert (workdir / target).read_bytes() == (mirror / "correction_benchmark_50.json").read_bytes()
    meta = json.loads((workdir / f"{target}.meta.json").read_text())
    assert meta["commit"] == "33f29254b28eb3466e0cff9d88bee060da31c633" and meta["source"].startswith(str(mirror))


@pytest.mark.parametrize(
    "blank, drop, hub_id",
    [
        (("GSAI-ML/LLaDA-8B-Instruct",), (), "GSAI-ML/LLaDA-8B-Instruct"),  # model entry empty
        ((), ("EdinburghNLP/xsum",), "EdinburghNLP/xsum"),  # dataset entry missing
        (("HuggingFaceFW/fineweb-edu",), (), "HuggingFaceFW/fineweb-edu"),  # corpus entry empty
    ],
)
def test_offline_missing_lock_entry_stops_before_any_job(workdir, blank, drop, hub_id):
    _texts(workdir)
    overlay = _overlay(workdir, _lock(workdir / "lock.yaml", blank=blank, drop=drop))
    proc, _, _ = _dry_run(workdir, "paper", overlay, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert hub_id in out and "lock.yaml" in out, out[-3000:]
    assert "Job stats" not in out


def test_released_genquality_targets_dry_run(workdir):
    """`snakemake -n --configfile config/presets/released.yaml results/figures/nfe_efficiency.png`
    (Figure 2) and the GenPPL/Distinct-2 scatter: the 200 prompts, one sampling job per method
    (NFE 8..128 in one job), LLaDA-8B-Instruct, DSL-LLaDA-Beta1 and GPT-2-large downloaded,
    one scoring job, two plots; nothing trained [§6.2(d), §6.2(e)]."""
    _texts(workdir)
    overlay = _overlay(workdir, _lock(workdir / "lock.yaml", drop=("HuggingFaceFW/fineweb-edu",)))
    targets = ["results/figures/nfe_efficiency.png", "results/figures/genquality_scatter.png"]
    proc = run_snakemake(
        [*targets, "-n", "--quiet", "rules", "--configfile", "config/presets/released.yaml", str(overlay)],
        cwd=workdir,
        timeout=120,
    )
    counts = job_counts(proc.stdout)
    assert counts.pop("total") == sum(counts.values())
    assert counts == {
        "prepare_genquality_prompts": 1,
        "sample_genquality": 3,
        "download_model": 3,
        "score_genquality": 1,
        "plot_figure": 2,
    }


# ------------------------------------------------------------------ values against the protocol


def test_paper_values_match_the_protocol():
    cfg = merged("paper")
    base = cfg["models"]["base"]
    assert (base["source"], base["family"], base["hub_id"], base["dtype"]) == (
        "hub",
        "llada",
        "GSAI-ML/LLaDA-8B-Instruct",
        "bfloat16",
    )  # §2.1
    assert base["special_ids"] == {"mask": 126336, "eos": 126081, "eot": 126348, "pad": 126081}  # §1.6
    assert base["special_tokens"] == {
        "mask": "<|mdm_mask|>",
        "eos": "<|endoftext|>",
        "eot": "<|eot_id|>",
        "pad": "<|endoftext|>",
    }
    assert cfg["models"]["dsl"]["source"] == cfg["models"]["mdm"]["source"] == "train"
    data, train = cfg["cpt"]["data"], cfg["cpt"]["train"]
    assert (data["source"], data["hub_id"], data["config_name"]) == (
        "fineweb",
        "HuggingFaceFW/fineweb-edu",
        "sample-10BT",
    )  # §2.1
    assert data["block_size"] == 4096 and data["shuffle_buffer"] == 10000 and cfg["seed"] == 42
    assert data["instruction_fraction"] == 0.0  # the toy's 0.5 is not inherited
    assert train["steps"] == 1000 and train["lr"] == 2e-5 and train["warmup_steps"] == 100  # §2.2
    assert train["weight_decay"] == 0.1 and train["grad_clip"] == 1.0 and train["mixed_precision"] == "bf16"
    assert train["micro_batch"] == 1 and cfg["cpt"]["gpus"] == 8
    assert train["global_batch"] == 8 * 1 * 64  # GA 64 (⚠ choice, config/README.md)
    assert data["n_blocks"] == train["steps"] * train["global_batch"]  # each block read once
    assert cfg["cpt"]["accelerate_config"] == "config/accelerate/zero2_8gpu.yaml"
    assert (REPO / cfg["cpt"]["accelerate_config"]).exists()
    dsl = cfg["cpt"]["dsl"]
    assert dsl["noise_dim"] == 100 and dsl["beta_init"] == 1.0 and dsl["freeze_output_head"] is True  # §1.1-§1.6
    assert dsl["converter_lr_scale"] == 1.0 and dsl["residual"] == "none"
    assert cfg["cpt"]["snr"] == {
        "roar_prob": 0.1,
        "mu": 1.69,
        "sigma": 0.9,
        "s_max": 100.0,
        "s_max_lognormal": 40.0,
        "roar_high_frac": 0.8,
    }  # §1.5
    assert cfg["cpt"]["mdm_eps"] == 1e-3  # §2.3
    bench = cfg["benchmarks"]
    assert bench["names"] == ["xsum", "cnn_dailymail", "pubmed", "arxiv"]  # §4.1, BillSum excluded
    assert bench["gen_length"] == {"xsum": 128, "cnn_dailymail": 256, "pubmed": 256, "arxiv": 256}
    assert bench["n"] == 1000 and bench["seed"] == 42 and bench["max_source_words"] == 1500
    for name, spec in bench["specs"].items():  # the library's paper specs, templates verbatim
        ref = PAPER_BENCHMARKS[name].to_dict()
        assert {k: ref[k] for k in spec} == spec, name
    samp = cfg["sampling"]
    assert samp["nfe"] == [8, 16] and samp["shards"] == 8 and samp["seed"] == 42 and samp["max_batch"] == 1
    assert samp["reference_method"] is None
    assert samp["methods"] == {
        "dsl_sde": {
            "model": "dsl",
            "sampler": "sde",
            "beta_scale": 2.0,
            "top_k": 512,
            "eta": None,
            "schedule": "sensitive",
            "seed_mode": "shared",
        },  # §3.5
        "llada": {"model": "base", "sampler": "remasking", "block_length": 0, "eos_inf": False},  # §3.1
        "llada_eos_block": {"model": "base", "sampler": "remasking", "block_length": 32, "eos_inf": True},  # §3.2
        "mdm_remask": {"model": "mdm", "sampler": "remasking", "block_length": 0, "eos_inf": False},
        "dsl_remask": {"model": "dsl", "sampler": "remasking", "block_length": 0, "eos_inf": False},  # §3.4
    }
    assert cfg["metrics"]["premature_min_words"] == 15 and cfg["metrics"]["premature_min_ratio"] == 0.4  # §4.3
    assert cfg["metrics"]["repetition_ngram"] == 4 and cfg["metrics"]["repetition_threshold"] == 0.15
    rob = cfg["robustness"]
    assert rob["models"] == ["base", "mdm", "dsl"] and rob["id_range"] == [100, 126000]  # §5.1
    assert rob["random_rates"] == [0.1, 0.3, 0.5] and rob["semantic_rates"] == [0.1, 0.3]  # §5.1-§5.2
    assert rob["base_seed"] == 42 and rob["texts"].endswith("texts_100.json")


def test_presets_pass_check_config():
    from dsl_llada.config import validate_config

    for preset in PRESETS:
        # no lock checker
        validate_config(merged(preset), REPO / "config/schema/config.schema.yaml", fill_defaults=fill_schema_defaults)


def test_quick_states_only_what_differs_from_released():
    """quick.yaml is an overlay: every value it sets differs from released.yaml's."""
    released = yaml.safe_load((REPO / "config/presets/released.yaml").read_text())
    quick = yaml.safe_load((REPO / "config/presets/quick.yaml").read_text())

    def leaves(d, prefix=""):
        for k, v in d.items():
            yield from leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else [(f"{prefix}{k}", v)]

    released_leaves = dict(leaves(released))
    repeated = [k for k, v in leaves(quick) if released_leaves.get(k, object()) == v]
    assert repeated == []
    assert dict(leaves(quick)).keys() <= released_leaves.keys()  # nothing new, only overrides


def test_quick_without_released_is_a_clear_error():
    from dsl_llada.config import ConfigError, check_config

    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    update_config(cfg, yaml.safe_load((REPO / "config/presets/quick.yaml").read_text()))
    with pytest.raises(ConfigError, match="released.yaml config/presets/quick.yaml"):
        check_config(cfg)


def test_released_and_quick_agree_with_paper():
    paper, released, quick = (merged(p) for p in PRESETS)
    for key in ("metrics", "hub", "genquality"):
        assert released[key] == paper[key] == quick[key], key
    for cfg in (paper, released, quick):
        assert cfg["models"]["genppl"]["hub_id"] == "openai-community/gpt2-large"
        assert cfg["models"]["bertscore"]["hub_id"] == "FacebookAI/roberta-large"
        assert [cfg["models"][m]["hub_id"] for m in cfg["ar_references"]["models"]] == [
            "Qwen/Qwen2.5-7B-Instruct",
            "meta-llama/Llama-3.1-8B-Instruct",
        ]  # [§3.7]
        assert cfg["ar_references"]["max_prompt_tokens"] == 8192
        assert cfg["reasoning"]["tasks"] == ["gsm8k", "math500"]  # [§6.2(a)]
        assert (cfg["reasoning"]["gen_length"], cfg["reasoning"]["steps"]) == (256, 64)
        assert cfg["bertscore"] == {
            "enabled": True,
            "num_layers": 17,
            "lang": "en",
            "rescale_with_baseline": True,
            "baseline": "roberta-large",
            "batch_size": 32,
        }  # [§4.3]
    assert released["benchmarks"] == paper["benchmarks"]
    assert quick["benchmarks"] == dict(paper["benchmarks"], n=100)
    methods = {k: v for k, v in paper["sampling"]["methods"].items() if k != "mdm_remask"}
    assert released["sampling"]["methods"] == quick["sampling"]["methods"] == methods
    for cfg, shards in ((released, 8), (quick, 1)):
        assert cfg["sampling"] == dict(paper["sampling"], methods=methods, shards=shards)
    assert released["models"]["base"] == paper["models"]["base"] == quick["models"]["base"]
    assert released["models"]["dsl"]["hub_id"] == "liddlefish/DSL-LLaDA-Beta1" == quick["models"]["dsl"]["hub_id"]
    assert released["models"]["dsl_beta2"]["hub_id"] == "liddlefish/DSL-LLaDA-Beta2"
    assert released["models"]["dsl_highpass"]["hub_id"] == "liddlefish/DSL-LLaDA-Highpass"
    assert released["robustness"] == dict(paper["robustness"], models=["base", "dsl", "dsl_beta2", "dsl_highpass"])
    assert quick["robustness"] == dict(paper["robustness"], models=["base", "dsl"])
    assert released["cpt"] == paper["cpt"]  # unused there, kept equal so `source: train` means §2.2
    lock = read_lock(REPO / "config/hub.lock.yaml")
    for cfg in (paper, released, quick):  # every hub id a preset uses has a lock entry
        ids = [m["hub_id"] for m in cfg["models"].values() if m["source"] == "hub"]
        ids += [s["hub_id"] for s in cfg["benchmarks"]["specs"].values()] + [cfg["cpt"]["data"]["hub_id"]]
        assert set(ids) <= set(lock)


# ------------------------------------------------------------------ hub rules, offline, on mirrors


@pytest.mark.slow
def test_hub_rules_run_offline_on_local_mirrors(workdir):
    """download_model, build_benchmark and prepare_cpt_corpus, really executed, offline: a tiny
    model folder as the base model's mirror, a save_to_disk XSum mirror, a JSONL FineWeb mirror."""
    import datasets
    import numpy as np

    from dsl_llada.backbone import build_toy_backbone
    from dsl_llada.data import TokenDataset
    from dsl_llada.hub import verify_manifest

    words = [f"w{i}" for i in range(40)]
    backbone = build_toy_backbone(
        words, dict(hidden_size=16, intermediate_size=32, num_layers=1, num_heads=2, max_positions=64), seed=0
    )
    backbone.save(workdir / "mirror_model")
    original_meta = (workdir / "mirror_model/dsl_llada_backbone.json").read_text()
    rows = [
        {
            "document": " ".join(words[(i + j) % 40] for j in range(20)),
            "summary": " ".join(words[i : i + 3]),
            "id": str(1000 + i),
        }
        for i in range(8)
    ]
    datasets.Dataset.from_list(rows).save_to_disk(str(workdir / "resources/datasets/xsum/test"))
    with (workdir / "fineweb.jsonl").open("w") as fh:
        for i in range(200):
            fh.write(json.dumps({"text": " ".join(words[(i * 3 + j) % 40] for j in range(10))}) + "\n")
    _texts(workdir)
    sp = backbone.special
    overlay = _overlay(
        workdir,
        _lock(workdir / "lock.yaml"),
        models={
            "base": {
                "path": "mirror_model",
                "special_ids": {"mask": sp.mask, "eos": sp.eos, "eot": sp.eot, "pad": sp.eos},
            }
        },
        benchmarks={"n": 5},
        cpt={
            "data": {"path": "fineweb.jsonl", "block_size": 16, "n_blocks": 8},
            "train": {"steps": 1, "warmup_steps": 0, "global_batch": 8},
        },
    )
    targets = ["resources/models/base", "results/data/benchmarks/xsum.json", "results/data/train/cpt"]
    run_snakemake(
        ["--cores", "2", *targets, "--configfile", "config/presets/paper.yaml", str(overlay)], cwd=workdir, timeout=300
    )
    model = workdir / "resources/models/base"
    # Snakemake adds .snakemake_timestamp to directory outputs after the job; hub.verify_manifest
    # does not skip it (yet), so check the folder as the job left it
    stamp = model / ".snakemake_timestamp"
    stamp.rename(workdir / "stamp")
    verify_manifest(model, model / "manifest.sha256.json")
    (workdir / "stamp").rename(stamp)
    meta = json.loads((model / "dsl_llada_backbone.json").read_text())
    assert meta["family"] == "llada" and meta["revision"] == FAKE_SHA and meta["special_ids"]["mask"] == sp.mask
    assert (workdir / "mirror_model/dsl_llada_backbone.json").read_text() == original_meta  # mirror untouched
    prov = json.loads((model / "dsl_llada_download.meta.json").read_text())
    assert prov["source"]["kind"] == "local mirror" and prov["model_revision"] == FAKE_SHA
    records = json.loads((workdir / "results/data/benchmarks/xsum.json").read_text())
    assert len(records) == 5 and records[0]["prompt"].startswith("Summarize the following text in one sentence:\n\n")
    side = json.loads((workdir / "results/data/benchmarks/xsum.json.meta.json").read_text())
    assert side["build_report"]["kept"] == 5 and side["dataset_revision"] == FAKE_SHA
    data = TokenDataset(workdir / "results/data/train/cpt")
    assert data.input_ids.shape == (8, 16) and data.meta["corpus"]["revision"] == FAKE_SHA
    assert data.meta["tokenization"]["separator_id"] == sp.eos and np.asarray(data.input_ids).max() < len(
        backbone.tokenizer
    )


def test_merged_helper_matches_snakemake_merge():
    """Sanity of the helper above: the toy's `world` and `pretrain_base` survive the merge
    (inert in hub mode), the toy's mdm_remask is removed only where a preset disables it."""
    paper, released = merged("paper"), merged("released")
    toy = yaml.safe_load((REPO / "config/config.yaml").read_text())
    assert paper["world"] == toy["world"] and paper["pretrain_base"] == toy["pretrain_base"]
    assert "mdm_remask" in paper["sampling"]["methods"] and "mdm_remask" not in released["sampling"]["methods"]
    assert copy.deepcopy(paper) == merged("paper")
