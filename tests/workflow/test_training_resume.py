"""Training state through the real workflow: a run killed mid-way resumes bitwise on a rerun
with the same config; a rerun with a changed config (cpt.train.lr) never resumes the old state
and trains afresh (issue: a changed config used to resume the old run and publish its weights)."""

import json
import os
import signal
import subprocess
import time

import pytest
import torch
from safetensors.torch import load_file

from wfutil import REPO, SNAKEMAKE, run_snakemake

pytestmark = pytest.mark.slow

# smoke sizes, with a base model of 2 steps and a DSL run long enough to be killed mid-way
FAST = """pretrain_base: {train: {steps: 2, global_batch: 8, micro_batch: 8, lr: 0.002, warmup_steps: 1, save_every: 0,
                        decay_steps: 0}}
cpt: {train: {steps: 10, global_batch: 8, micro_batch: 4, lr: 0.001, warmup_steps: 2, save_every: 2, log_every: 4}}
"""
TARGET = "results/models/dsl"


def _weights(folder):
    return load_file(str(next(folder.glob("*.safetensors"))))


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _metrics(workdir):
    return json.loads((workdir / TARGET / "train_metrics.json").read_text())


def _start_and_kill_after_first_state(workdir, configfiles):
    """Run the workflow and SIGKILL it (and its jobs) as soon as the DSL run saved state."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    cmd = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--cores", "2", TARGET, "--configfile", *configfiles]
    proc = subprocess.Popen(
        cmd, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    marker = workdir / "results/state/dsl/latest.json"
    deadline = time.time() + 600
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    ended = proc.poll()
    if ended is None:
        os.killpg(proc.pid, signal.SIGKILL)  # snakemake, accelerate and the training process
        proc.wait(timeout=60)
    assert marker.exists(), f"the DSL run saved no state before the workflow ended (exit {ended})"
    return json.loads(marker.read_text())["step"]


def test_same_config_resumes_bitwise_and_a_changed_config_trains_afresh(workdir):
    (workdir / "fast.yaml").write_text(FAST)
    (workdir / "lr.yaml").write_text("cpt: {train: {lr: 0.004}}\n")
    same = ["config/presets/smoke.yaml", "fast.yaml"]
    changed = [*same, "lr.yaml"]

    # 1. killed after the DSL run's first save; nothing is published
    killed_at = _start_and_kill_after_first_state(workdir, same)
    assert 0 < killed_at < 10 and not (workdir / TARGET).exists()

    # 2. the same config again: resumes from the saved step, bitwise equal to an uninterrupted run
    run_snakemake(["--unlock", "--configfile", *same], cwd=workdir, timeout=120)
    run_snakemake(["--cores", "2", TARGET, "--rerun-incomplete", "--configfile", *same], cwd=workdir, timeout=600)
    resumed = _metrics(workdir)
    assert resumed["resumed_from_step"] >= killed_at and resumed["fresh_start_reason"] is None
    resumed_weights = _weights(workdir / TARGET)

    # 3. cpt.train.lr changed: Snakemake reruns the job (params changed); it must not resume
    run_snakemake(["--cores", "2", TARGET, "--configfile", *changed], cwd=workdir, timeout=600)
    fresh = _metrics(workdir)
    assert fresh["resumed_from_step"] == 0 and "another run" in fresh["fresh_start_reason"], fresh
    assert fresh["config"]["lr"] == 0.004
    log = (workdir / "logs/train_model/dsl.log").read_text()
    assert "not resuming" in log and "resumed from" not in log
    assert not _same(_weights(workdir / TARGET), resumed_weights)
    assert list(workdir.glob("results/state/dsl.stale-*"))  # the old state set aside, not reused

    # 4. back to the first config: its state was set aside, so this is an uninterrupted run
    run_snakemake(["--cores", "2", TARGET, "--configfile", *same], cwd=workdir, timeout=600)
    uninterrupted = _metrics(workdir)
    assert uninterrupted["resumed_from_step"] == 0
    assert uninterrupted["run_fingerprint"] == resumed["run_fingerprint"]
    assert _same(_weights(workdir / TARGET), resumed_weights)
    assert uninterrupted["loss_history"] == resumed["loss_history"]
