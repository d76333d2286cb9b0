"""Dry runs: bad overlays stop `snakemake -n` before any job, naming the key; a YAML syntax error
in an overlay is named with its file and line by `dsl-llada check-config` (Snakemake itself parses
--configfile before the workflow runs and names neither); training is told the runtime the job
really gets."""

import subprocess
import sys

import pytest

from wfutil import run_snakemake

# the other semantic checks run through validate_config in tests/unit/test_input_checks.py
OVERLAYS = [
    # (overlay, text the error must contain)
    ("sampling:\n  # nfe: [4, 8]\n  # shards: 1\n", "sampling: is empty (every key commented out?)"),
    ("pretrain_base: {train: {micro_batch: 3}}\n", "pretrain_base.train.global_batch: 16 is not divisible"),
]


@pytest.mark.parametrize("overlay, message", OVERLAYS)
def test_bad_overlay_is_named_before_any_job(workdir, overlay, message):
    (workdir / "bad.yaml").write_text(overlay)
    proc = run_snakemake(["-n", "--configfile", "bad.yaml"], cwd=workdir, timeout=120, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and message in out, out[-3000:]
    assert "Job stats" not in out and "AttributeError" not in out


def test_yaml_syntax_error_is_named_with_file_and_line(workdir):
    bad = workdir / "bad.yaml"
    bad.write_text("sampling:\n  nfe: [4, 8\n  shards: 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "dsl_llada.cli", "check-config", "config/config.yaml", str(bad)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert f"{bad}, line 3, column 9: not valid YAML" in proc.stderr, proc.stderr
    assert "config/config.yaml" not in proc.stderr  # the good file passes


def test_training_is_given_the_runtime_a_profile_sets(workdir):
    """A site's `runtime: "23h"` (profile set-resources) reaches the training CLI in minutes; the
    stop time is derived from it there (train.stop_margin_minutes before it)."""
    args = ["-n", "-p", "results/models/dsl", "--configfile", "config/presets/smoke.yaml"]
    default = run_snakemake(args, cwd=workdir, timeout=120).stdout
    # the rule's toy defaults: 180 min for pre-training the base (smoke trains it), 60 for DSL
    assert default.count("--runtime-minutes 180 ") == 1 and default.count("--runtime-minutes 60 ") == 1
    site = run_snakemake([*args, "--set-resources", "train_model:runtime=23h"], cwd=workdir, timeout=120).stdout
    assert site.count("--runtime-minutes 1380 ") == 2 and "--runtime-minutes 60 " not in site
