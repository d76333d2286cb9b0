"""Lint, format, config validation and dry runs of the workflow (no jobs executed)."""

import subprocess
import sys
import time

import pytest
import yaml

from dsl_llada.config import ConfigError, validate_config

from helpers import fill_schema_defaults
from wfutil import REPO, job_counts, run_snakemake

SCHEMA = REPO / "config/schema/config.schema.yaml"


def _toy():
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


def test_snakemake_lint_is_clean():
    proc = run_snakemake(["--lint"], cwd=REPO, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["ruff-check", "ruff-format"])
def test_ruff_is_clean(command):
    """The Python code passes the configured lint rules and is formatted (pyproject.toml [tool.ruff])."""
    proc = subprocess.run([sys.executable, "-m", "ruff", *command, str(REPO)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_snakefmt_check():
    files = [str(REPO / "Snakefile"), str(REPO / "workflow")]
    proc = subprocess.run([sys.executable, "-m", "snakefmt", "--check", *files], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _set(cfg, dotted, value):
    node = cfg
    *path, last = dotted.split(".")
    for key in path:
        node = node[key]
    node[last] = value
    return cfg


BAD_CONFIGS = [
    # (change, key the error must name, reason fragment)
    (lambda c: _set(c, "sampling.typo_key", 1), "sampling", "typo_key"),
    (lambda c: _set(c, "sampling.nfe", [4, "eight"]), "sampling.nfe.1", "not of type 'integer'"),
    (lambda c: _set(c, "cpt.train.lr", -1.0), "cpt.train.lr", "less than or equal to the minimum"),
    (lambda c: _set(c, "robustness.random_rates", [1.5]), "robustness.random_rates.0", "greater than the maximum"),
    (
        lambda c: _set(c, "sampling.methods.llada_eos_block.block_length", 24),
        "sampling.methods.llada_eos_block",
        "not divisible by block_length 24",
    ),
    (
        lambda c: _set(c, "sampling.nfe", [4, 6]),
        "sampling.methods.llada_eos_block",
        "not divisible by the number of blocks",
    ),
    (lambda c: _set(c, "sampling.nfe", [4, 7, 16]), "sampling.methods.dsl_sde", "must be even"),
    (
        lambda c: _set(c, "models.dsl", {"source": "hub", "hub_id": "liddlefish/DSL-LLaDA-Beta1", "family": "llada"}),
        "liddlefish/DSL-LLaDA-Beta1",
        "no locked revision",
    ),
    (lambda c: _set(c, "benchmarks.gen_length", {"xsum": 32}), "benchmarks.gen_length.cnn_dailymail", "missing"),
    (lambda c: _set(c, "cpt.train.global_batch", 18), "cpt.train.global_batch", "not divisible"),
    (lambda c: _set(c, "sampling.methods.llada.model", "nope"), "sampling.methods.llada.model", "is not one of"),
]


@pytest.mark.parametrize("change, key, reason", BAD_CONFIGS)
def test_bad_config_rejected_with_key_and_reason(change, key, reason):
    from dsl_llada.hub import resolve_revision

    def lock_checker(name, model):
        resolve_revision(REPO / "config/hub.lock.yaml", model["hub_id"], "model", offline=True, update=False)

    with pytest.raises((ConfigError, ValueError)) as err:
        validate_config(change(_toy()), SCHEMA, lock_checker, fill_defaults=fill_schema_defaults)
    assert key in str(err.value) and reason in str(err.value), str(err.value)


def test_bad_config_stops_snakemake_before_any_job(workdir):
    bad = workdir / "bad.yaml"
    bad.write_text("sampling:\n  nfe: [4, 7]\n")
    proc = run_snakemake(["-n", "--configfile", str(bad)], cwd=workdir, timeout=120, check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "sampling.methods.dsl_sde" in out and "must be even" in out
    assert "Job stats" not in out


def test_toy_dry_run_lists_every_stage(workdir):
    t0 = time.perf_counter()
    proc = run_snakemake(["-n", "--quiet", "rules"], cwd=workdir, timeout=120)
    counts = job_counts(proc.stdout)
    cfg = _toy()
    benches, shards = len(cfg["benchmarks"]["names"]), cfg["sampling"]["shards"]
    print(f"toy dry run {time.perf_counter() - t0:.1f}s: {counts}")
    # one job per method x benchmark x shard runs every NFE; one reference (steps = G) per benchmark
    assert counts["sample_shard"] == benches * len(cfg["sampling"]["methods"]) * shards
    assert counts["sample_reference"] == benches * shards
    assert counts["score_samples"] == len(cfg["benchmarks"]["names"])
    assert counts["train_model"] == 2  # DSL, MDM control: the toy base is the pinned artifact
    assert counts["fetch_artifact"] == 1 and "build_toy_init" not in counts
    assert counts["make_claims_table"] == 1 and counts["make_summary"] == 1
    assert counts["eval_robustness"] == len(cfg["robustness"]["models"])
    assert counts["plot_figure"] == 6  # + context_robustness, nfe_efficiency, genquality_scatter
    # the paper items on the toy's stand-ins: Figure 2 / scatter, BERTScore, AR rows, reasoning
    assert counts["sample_genquality"] == len(cfg["genquality"]["methods"])
    assert counts["build_toy_genppl_scorer"] == counts["score_genquality"] == 1
    assert counts["build_toy_bertscore_model"] == counts["score_bertscore"] == 1
    assert counts["build_toy_ar_model"] == 1 and counts["sample_ar"] == shards
    assert counts["sample_reasoning"] == len(cfg["reasoning"]["models"]) and counts["score_reasoning"] == 1
    # the correction suites (toy stand-ins of the authors' files, no download) and T-context run in
    # eval_robustness; T-buckets
    assert counts["build_toy_suites"] == 1 and "fetch_paper_eval" not in counts
    assert counts["make_buckets_table"] == counts["make_correction_table"] == counts["make_context_table"] == 1


def test_rouge_table_target_builds_only_what_it_needs(workdir):
    proc = run_snakemake(["-n", "results/tables/rouge.csv", "--quiet", "rules"], cwd=workdir, timeout=120)
    counts = job_counts(proc.stdout)
    assert counts["make_rouge_tables"] == 1
    for unneeded in ("eval_robustness", "make_robustness_table", "plot_figure"):
        assert unneeded not in counts


def test_docs_put_targets_before_configfile():
    """Snakemake 9's --configfile takes every following word up to the next option: a target
    written after it is read as a second config file [issue 12]."""
    import re

    # --configfile takes several files (released.yaml quick.yaml): a word after them that is not
    # another YAML file is a target in the wrong place
    pattern = re.compile(r"--configfile(?:\s+\S+\.ya?ml)+\s+(?!-|\||`|#|\\|$)(?!\S+\.ya?ml)(\S+)", re.M)
    docs = [REPO / "README.md", *REPO.glob("*/README.md"), *REPO.glob("config/presets/*.yaml"), *REPO.glob("docs/*.md")]
    bad = [f"{p.relative_to(REPO)}: {m.group(0)}" for p in docs for m in pattern.finditer(p.read_text())]
    assert not bad, "targets must come before --configfile:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("overlay", "dsl_cpu", "base_cpu"),
    [
        ("cpt:\n  accelerate_config: config/accelerate/cpu_2proc.yaml\n", True, False),
        ("device: cpu\n", True, True),
        ("", False, False),
    ],
)
def test_train_jobs_get_accelerate_use_cpu_when_the_config_asks_for_cpu(workdir, overlay, dsl_cpu, base_cpu):
    """accelerate's multi-process launcher does not pass use_cpu on to its workers; without
    ACCELERATE_USE_CPU=true each worker of cpu_2proc.yaml would train alone [issue 12]."""
    extra = workdir / "extra.yaml"
    extra.write_text(overlay or "seed: 42\n")
    # the toy_base preset pre-trains the base here (the default fetches the pinned artifact)
    proc = run_snakemake(
        ["-n", "-p", "results/models/dsl", "--configfile", "config/presets/toy_base.yaml", str(extra)],
        cwd=workdir,
        timeout=120,
    )
    commands = [line for line in proc.stdout.splitlines() if "accelerate launch" in line]
    dsl = [c for c in commands if "results/models/dsl" in c.split("--out", 1)[-1]]
    base = [c for c in commands if "results/models/base" in c.split("--out", 1)[-1]]
    assert dsl and base, proc.stdout[-3000:]
    assert ("ACCELERATE_USE_CPU=true" in dsl[0]) is dsl_cpu
    assert ("ACCELERATE_USE_CPU=true" in base[0]) is base_cpu
