"""Training stops itself before the SLURM time limit it was actually given, and a rerun resumes
to the weights of an uninterrupted run (real SLURM from ci/slurm_up.sh, stub apptainer).

The rule's runtime is set the way a site does it (`--set-resources train_model:runtime=...`, as a
profile's `set-resources` would); the job reads it as `{resources.runtime}` and stops
`train.stop_margin_minutes` before it: state saved, exit 75, so a rerun (SLURM requeue or
Snakemake retry) resumes it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest
import torch
from safetensors.torch import load_file

from clusterutil import copy_repo, sinfo_answers, snakemake_cmd

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(not sinfo_answers(), reason="no SLURM cluster (start it with ci/slurm_up.sh)"),
]

FAST = ["--slurm-init-seconds-before-status-checks", "2", "--latency-wait", "5"]
# Smoke sizes with a 2-step base model. The margin is set from the measured speed (below); it is
# not part of the run's fingerprint, so the reference and the SLURM jobs are the same run.
OVERLAY = """pretrain_base: {{train: {{steps: 2, global_batch: 8, micro_batch: 8, lr: 0.002, warmup_steps: 1, save_every: 0,
                          decay_steps: 0}}}}
cpt: {{train: {{steps: {steps}, global_batch: 8, micro_batch: 4, lr: 0.001, warmup_steps: 2, save_every: 0,
               log_every: 10, stop_margin_minutes: {margin}}}}}
containers: {{gpu: {sif}, cpu: {sif}}}
sampling: {{shards: 1}}
"""
STEPS = 40
TARGET = "results/models/dsl"
# one CPU per job as on CI's node; rerun-triggers mtime: outputs made locally are not redone
# under the profile (the margin, a param, changes between the runs)
ONE_CPU = ["--set-threads", "train_model=1", "--rerun-triggers", "mtime"]


def _weights(folder):
    return load_file(str(next(folder.glob("*.safetensors"))))


def _sacct(job_id: str) -> str:
    for _ in range(30):  # accounting lags the job's end by seconds
        out = subprocess.run(
            ["sacct", "-X", "-n", "-P", "-j", job_id, "-o", "State,ExitCode"], capture_output=True, text=True
        ).stdout.strip()
        if out and not out.startswith(("PENDING", "RUNNING")):
            return out
        time.sleep(1)
    return out


def test_training_stops_before_its_slurm_time_limit_and_resumes_bitwise(tmp_path, stub_env):
    root = copy_repo(tmp_path / "repo")
    sif = tmp_path / "gpu-0.0.0-test.sif"
    sif.write_text("fake image for the apptainer stub\n")
    overlay = tmp_path / "ci.yaml"
    overlay.write_text(OVERLAY.format(steps=STEPS, margin=15, sif=sif))
    config = ["--configfile", "config/presets/smoke.yaml", str(overlay)]

    def snakemake(*args, timeout_s=300):
        cmd = snakemake_cmd(*args, *config, *ONE_CPU, timeout_s=timeout_s)
        return subprocess.run(cmd, cwd=root, env=stub_env, capture_output=True, text=True)

    # 0. the uninterrupted run, locally (every DAG level under SLURM costs status polling)
    ref = snakemake("--cores", "2", TARGET, "--sdm", "apptainer")
    assert ref.returncode == 0, (ref.stdout + ref.stderr)[-4000:]
    uninterrupted = json.loads((root / TARGET / "train_metrics.json").read_text())
    assert uninterrupted["resumed_from_step"] == 0
    shutil.move(root / TARGET, tmp_path / "uninterrupted")
    shutil.rmtree(root / "results/state/dsl")
    # the first SLURM job must stop mid-way: its clock starts when training is imported, after the
    # launcher's start-up, so the window is a quarter of the measured training loop. The job checks
    # the clock after every step, so a short window still stops after step 1 at the earliest; a long
    # one let a job that ran faster than the reference reach its last step in time (half the loop,
    # or a 5 s floor on an idle machine, each failed once). 0.5 s keeps the margin's rounding > 0.
    window_s = max(STEPS * 8 * 256 / uninterrupted["tokens_per_second"] / 4, 0.5)
    runtime = int(window_s // 60) + 2  # >= 60 s of SLURM's limit left for the job's own start-up
    overlay.write_text(OVERLAY.format(steps=STEPS, margin=round(runtime - window_s / 60, 3), sif=sif))

    # 1. the job stops itself before SLURM's limit: state saved, exit 75
    slurm = ["--profile", "slurm", "--cores", "all", TARGET, "--retries", "0", *FAST]
    first = snakemake(*slurm, "--set-resources", f"train_model:runtime={runtime}", "train_model:cpus_per_gpu=1")
    text = first.stdout + first.stderr
    assert first.returncode != 0, text[-4000:]
    log = (root / "logs/train_model/dsl.log").read_text()
    assert "time limit reached" in log and "rerun to resume" in log, log[-3000:]
    stopped_at = json.loads((root / "results/state/dsl/latest.json").read_text())["step"]
    assert 0 < stopped_at < STEPS, "the job did not stop itself mid-way"
    assert not (root / TARGET).exists()
    job_id = text.split("has been submitted with SLURM jobid ")[1].split()[0]
    # FAILED, not TIMEOUT: it stopped by itself. The command exits 75 (stopped_for_rerun.json),
    # but the job's own code is the in-job snakemake's (1 for any failed rule)
    assert _sacct(job_id).split("|")[0] == "FAILED"
    assert (root / "results/state/dsl/stopped_for_rerun.json").exists()

    # 2. the rerun (as after a requeue) resumes and finishes: the weights of the uninterrupted run
    second = snakemake(*slurm, "--set-resources", "train_model:runtime=10", "train_model:cpus_per_gpu=1")
    assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
    resumed = json.loads((root / TARGET / "train_metrics.json").read_text())
    assert resumed["resumed_from_step"] == stopped_at
    assert resumed["loss_history"] == uninterrupted["loss_history"]
    a, b = _weights(tmp_path / "uninterrupted"), _weights(root / TARGET)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
