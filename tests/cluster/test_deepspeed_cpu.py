"""ZeRO-2 training starts [issue 12 item 3]: `accelerate launch` with the paper's DeepSpeed config
(config/accelerate/zero2_8gpu.yaml -> ds_zero2.json) runs a few steps of DSL and of MDM on
DeepSpeed's CPU accelerator, one process. This goes through accelerator.prepare (the "auto"
micro-batch, filled from the training config) and DeepSpeed's start-up parameter broadcast
(which refuses 0-dim parameters such as a scalar beta).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import REPO, train_cli_args
from safetensors.torch import load_file

os.environ.setdefault("DS_ACCELERATOR", "cpu")  # before deepspeed is imported: no CUDA probing
deepspeed = pytest.importorskip("deepspeed", reason="deepspeed is not installed (envs/install.sh installs it)")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from dsl_llada.backbone import build_toy_backbone
    from dsl_llada.data import write_token_dataset

    root = tmp_path_factory.mktemp("ds")
    words = [f"w{i}" for i in range(60)] + [".", ","]
    arch = dict(hidden_size=32, intermediate_size=64, num_layers=2, num_heads=4, max_positions=256)
    build_toy_backbone(words, arch, seed=0).save(root / "init")
    ids = np.random.default_rng(0).integers(8, 60, size=(16, 16))
    write_token_dataset(root / "data", ids, np.ones_like(ids, dtype=bool), {"kind": "test"})
    return root


@pytest.mark.parametrize("method", ["dsl", "mdm"])
def test_zero2_paper_config_trains_on_deepspeed_cpu(setup, method):
    cfg = dict(
        method=method,
        steps=3,
        global_batch=4,
        micro_batch=2,
        lr=1e-3,
        warmup_steps=1,
        save_every=0,
        seed=7,
        log_every=1,
        threads=1,
        dsl={"noise_dim": 8},
    )
    out = setup / f"out_{method}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCELERATE_")}
    # DeepSpeed's CPU accelerator JIT-compiles a shared-memory all-reduce kernel (minutes of C++ on
    # CI's 2 cores); it is an optional speed-up (torch.distributed is used without it), so the
    # workers are told it is unavailable. GPU runs never build it.
    site = setup / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(
        "import deepspeed.ops\ndeepspeed.ops.__compatible_ops__['deepspeed_shm_comm'] = False\n"
    )
    env.update(
        DS_ACCELERATOR="cpu",
        CUDA_VISIBLE_DEVICES="",
        OMP_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join([str(site), env.get("PYTHONPATH", "")]),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        "config/accelerate/zero2_8gpu.yaml",
        "--num_processes",
        "1",
        *train_cli_args(cfg, setup / "init", setup / "data", out, setup / f"state_{method}"),
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    metrics = json.loads((out / "train_metrics.json").read_text())
    assert metrics["distributed_type"] == "DEEPSPEED"
    assert metrics["gradient_accumulation"] == 2 and len(metrics["loss_history"]) == 3
    assert all(math.isfinite(x) for x in metrics["loss_history"])
    # the weights moved by more than bf16 rounding (ZeRO-2 keeps fp32 masters, saves bf16)
    init, trained = load_file(str(setup / "init" / "model.safetensors")), load_file(str(out / "model.safetensors"))
    moved = max((trained[k].float() - init[k].float()).abs().max().item() for k in init if ".blocks." in k)
    assert moved > 5e-4, moved
    if method == "dsl":
        from dsl_llada.dsl import load_dsl_model

        model = load_dsl_model(out)
        assert model.converter.beta.shape == (1,)
        assert torch.isfinite(model.converter.backbone_embedding.weight).all()
