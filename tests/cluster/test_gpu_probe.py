"""workflow/scripts/gpu_probe.py without a cluster: its verdicts for the situations it must catch."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from clusterutil import REPO

SCRIPT = REPO / "workflow" / "scripts" / "gpu_probe.py"
spec = importlib.util.spec_from_file_location("gpu_probe", SCRIPT)
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)


def torch_info(count=0, cuda="12.6", error=None):
    return {
        "torch_version": "2.13.0",
        "torch_cuda_version": cuda,
        "cuda_available": count > 0,
        "device_count": count,
        "devices": [],
        "torch_error": error,
    }


SLURM_2 = {"SLURM_JOB_ID": "7", "CUDA_VISIBLE_DEVICES": "0,1", "SLURM_GPUS_ON_NODE": "2"}


def test_strict_passes_with_enough_cuda_devices():
    v = probe.evaluate(2, False, SLURM_2, torch_info(2))
    assert v["mode"] == "strict" and v["cuda_checked"] and v["torch_device_count"] == 2


def test_strict_fails_when_torch_sees_fewer():
    with pytest.raises(probe.ProbeError, match=r"torch sees 1 CUDA device\(s\) but 2 were requested"):
        probe.evaluate(2, False, SLURM_2, torch_info(1))


def test_strict_hints_missing_nv_when_slurm_allocated_but_cuda_invisible():
    with pytest.raises(probe.ProbeError, match="--nv"):
        probe.evaluate(2, False, SLURM_2, torch_info(0))


def test_strict_hints_cpu_only_torch():
    with pytest.raises(probe.ProbeError, match="CPU-only build"):
        probe.evaluate(1, False, {}, torch_info(0, cuda=None))


def test_strict_hints_too_small_allocation():
    env = {"SLURM_JOB_ID": "7", "CUDA_VISIBLE_DEVICES": "0"}
    with pytest.raises(probe.ProbeError, match="SLURM allocated only 1"):
        probe.evaluate(2, False, env, torch_info(1))


def test_strict_warns_when_torch_sees_more_than_allocated():
    env = {"SLURM_JOB_ID": "7", "CUDA_VISIBLE_DEVICES": "0"}
    assert "isolation" in probe.evaluate(1, False, env, torch_info(4))["warning"]


def test_fake_mode_checks_only_the_allocation():
    v = probe.evaluate(2, True, SLURM_2, torch_info(0, cuda=None))
    assert v["mode"] == "fake" and v["cuda_checked"] is False and v["slurm_allocated_gpus"] == 2


def test_fake_mode_fails_on_small_allocation():
    env = {"SLURM_JOB_ID": "7", "CUDA_VISIBLE_DEVICES": "0"}
    with pytest.raises(probe.ProbeError, match="SLURM allocated 1 GPU"):
        probe.evaluate(2, True, env, torch_info(0))


def test_fake_mode_fails_outside_a_gpu_allocation():
    with pytest.raises(probe.ProbeError, match="neither CUDA_VISIBLE_DEVICES nor SLURM_GPUS_ON_NODE"):
        probe.evaluate(1, True, {}, torch_info(0))


def test_fake_mode_falls_back_to_slurm_gpus_on_node():
    v = probe.evaluate(2, True, {"SLURM_GPUS_ON_NODE": "2"}, torch_info(0))
    assert v["slurm_allocation_source"] == "SLURM_GPUS_ON_NODE"


def test_empty_or_nodevfiles_visible_devices_count_as_zero():
    assert probe.visible_device_list({"CUDA_VISIBLE_DEVICES": "NoDevFiles"}) == []
    assert probe.visible_device_list({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert probe.visible_device_list({}) is None


@pytest.mark.parametrize("text,value", [("true", True), ("False", False), ("1", True), ("no", False)])
def test_bool_parsing(text, value):
    assert probe.parse_bool(text) is value


def test_bool_parsing_rejects_junk():
    with pytest.raises(Exception):
        probe.parse_bool("maybe")


def run(args, env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_") and k != "CUDA_VISIBLE_DEVICES"}
    env.update(env_extra)
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300)


def test_cli_fake_mode_writes_report_and_warns(tmp_path):
    out = tmp_path / "p.json"
    r = run(["--expected-gpus", "2", "--allow-fake-gpus", "True", "--out", str(out)], SLURM_2)
    assert r.returncode == 0, r.stderr
    assert "WARNING: allow_fake_gpus=true: CUDA was NOT checked" in r.stderr
    report = json.loads(out.read_text())
    assert report["slurm"]["SLURM_JOB_ID"] == "7" and report["cuda_visible_devices"] == "0,1"
    assert report["mode"] == "fake" and report["expected_gpus"] == 2


def test_cli_fails_loudly_and_writes_nothing(tmp_path):
    out = tmp_path / "p.json"
    r = run(
        ["--expected-gpus", "2", "--allow-fake-gpus", "false", "--out", str(out)],
        {"CUDA_VISIBLE_DEVICES": "0", "SLURM_JOB_ID": "8"},
    )
    if "torch sees 2" in r.stderr:  # pragma: no cover - a machine with 2 real GPUs
        pytest.skip("real GPUs present")
    assert r.returncode == 1 and "GPU PROBE FAILED (job 8" in r.stderr
    assert not out.exists()
