"""The accelerate launch configs in config/accelerate/ parse and mean what their comments say.

Checked with accelerate's own code paths (accelerate 1.15): the config loader, the launcher's
argument resolution (_validate_launch_command) and the DeepSpeedPlugin that every worker builds
from the launcher's environment. DeepSpeed itself and GPUs are not needed. The 2-process CPU
config is really launched (about 10 s).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

accelerate = pytest.importorskip("accelerate")
from accelerate.commands.config.config_args import load_config_from_file  # noqa: E402
from accelerate.commands.launch import (  # noqa: E402
    _validate_launch_command,
    launch_command_parser,
)

from helpers import REPO

ACC = REPO / "config" / "accelerate"


def resolve(config: Path):
    """What `accelerate launch --config_file config train.py` resolves (no process started)."""
    args = launch_command_parser().parse_args(["--config_file", str(config), "train.py"])
    return _validate_launch_command(args)


def worker_deepspeed_plugin(config: Path, monkeypatch):
    """Build the DeepSpeedPlugin a worker would build from the launcher's environment
    (mirrors accelerate.commands.launch.launch_command + utils.launch.prepare_deepspeed_cmd_env)."""
    from accelerate.utils import DeepSpeedPlugin

    args, defaults, mp_from_config = resolve(config)
    fields = list(defaults.deepspeed_config.keys())
    if mp_from_config:
        fields.append("mixed_precision")
    for key in list(os.environ):
        if key.startswith("ACCELERATE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(REPO)  # deepspeed_config_file is relative to the launch directory
    monkeypatch.setenv("ACCELERATE_CONFIG_DS_FIELDS", ",".join(fields))
    monkeypatch.setenv("ACCELERATE_DEEPSPEED_CONFIG_FILE", args.deepspeed_config_file)
    return DeepSpeedPlugin()


@pytest.mark.parametrize("name", ["zero2_8gpu.yaml", "multinode_slurm.yaml", "cpu_2proc.yaml"])
def test_config_loads(name):
    cfg = load_config_from_file(str(ACC / name))
    assert cfg.compute_environment.value == "LOCAL_MACHINE"


def test_zero2_8gpu_resolves_to_8_deepspeed_processes():
    args, defaults, mp_from_config = resolve(ACC / "zero2_8gpu.yaml")
    assert args.use_deepspeed and args.num_processes == 8 and args.num_machines == 1
    assert args.deepspeed_config_file == "config/accelerate/ds_zero2.json"
    assert not mp_from_config, "top-level mixed_precision breaks deepspeed_config_file (see yaml)"


@pytest.mark.parametrize("name", ["zero2_8gpu.yaml", "multinode_slurm.yaml"])
def test_deepspeed_plugin_matches_paper_ds_config(name, monkeypatch):
    plugin = worker_deepspeed_plugin(ACC / name, monkeypatch)
    ds = plugin.deepspeed_config
    zero = ds["zero_optimization"]
    assert plugin.zero_stage == 2 and zero["stage"] == 2
    assert zero["overlap_comm"] and zero["reduce_scatter"] and zero["contiguous_gradients"]
    assert zero["allgather_bucket_size"] == 5e8 and zero["reduce_bucket_size"] == 5e8
    assert "offload_optimizer" not in zero and "offload_param" not in zero
    assert ds["bf16"]["enabled"] is True
    # left to the training code (filled by accelerate at prepare time)
    assert ds["gradient_accumulation_steps"] == "auto"
    assert ds["gradient_clipping"] == "auto"
    assert ds["train_micro_batch_size_per_gpu"] == "auto"


def test_top_level_mixed_precision_would_break_workers(tmp_path, monkeypatch):
    """Negative control for the comment in zero2_8gpu.yaml: the trap is real."""
    text = (ACC / "zero2_8gpu.yaml").read_text() + "mixed_precision: bf16\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ValueError, match="mixed_precision"):
        worker_deepspeed_plugin(bad, monkeypatch)


def test_multinode_has_slurm_placeholders():
    args, _, _ = resolve(ACC / "multinode_slurm.yaml")
    assert args.num_machines == 2 and args.num_processes == 16
    assert args.main_process_port == 29500 and args.machine_rank == 0
    text = (ACC / "multinode_slurm.yaml").read_text()
    for var in ("SLURM_NODEID", "SLURM_JOB_NODELIST", "SLURM_JOB_NUM_NODES"):
        assert var in text, f"{var} not documented"


def test_ds_json_is_plain_json():
    json.loads((ACC / "ds_zero2.json").read_text())


def test_cpu_2proc_really_starts_a_2_process_gloo_group(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(
        "import torch\nfrom accelerate import Accelerator\n"
        "a = Accelerator()\n"
        "s = a.reduce(torch.tensor([float(a.process_index + 1)]), reduction='sum')\n"
        "open(f'rank{a.process_index}.txt', 'w').write(\n"
        "    f'RANK {a.process_index} WORLD {a.num_processes} TYPE {a.distributed_type.value} SUM {s.item()}')\n"
        "a.wait_for_everyone()\n"
        "a.end_training()  # destroys the process group: clean exit of both workers\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCELERATE_")}
    env.update(ACCELERATE_USE_CPU="true", OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    launcher = [sys.executable, "-m", "accelerate.commands.launch"]
    out = subprocess.run(
        launcher + ["--config_file", str(ACC / "cpu_2proc.yaml"), str(script)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = sorted((tmp_path / f"rank{i}.txt").read_text() for i in range(2))
    assert lines == [
        "RANK 0 WORLD 2 TYPE MULTI_CPU SUM 3.0",
        "RANK 1 WORLD 2 TYPE MULTI_CPU SUM 3.0",
    ], out.stdout + out.stderr[-2000:]
