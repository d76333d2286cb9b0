"""Training state belongs to one run: the fingerprint gates resuming; the stop time comes from
the job's runtime [protocol §2]."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from dsl_llada.data import write_token_dataset
from dsl_llada.training import (
    TrainConfig,
    TrainConfigError,
    latest_state,
    run_fingerprint,
    stale_state_reason,
    stop_after_seconds,
)

from helpers import train_cli_args


def _setup(tmp_path, tiny_backbone):
    init = tmp_path / "init"
    tiny_backbone.save(init)
    ids = np.random.default_rng(0).integers(8, 60, size=(24, 16))
    write_token_dataset(tmp_path / "data", ids, np.ones_like(ids, dtype=bool), {"kind": "test"})
    return init, tmp_path / "data"


def _cfg(**kw):
    base = dict(
        method="mdm",
        steps=4,
        global_batch=4,
        micro_batch=2,
        lr=1e-3,
        warmup_steps=1,
        save_every=2,
        seed=7,
        log_every=1,
        threads=1,
    )
    return dict(base, **kw)


def _train(cfg, init, data, out, state, *extra):
    cmd = [sys.executable, *train_cli_args(cfg, init, data, out, state, *extra)]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def _weights(folder):
    return load_file(str(next(folder.glob("*.safetensors"))))


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_stop_time_is_the_runtime_minus_the_margin():
    assert stop_after_seconds(23 * 60, 15) == (23 * 60 - 15) * 60  # a profile's `runtime: 23h`
    assert stop_after_seconds(72 * 60, 15) == 258_300.0  # 71 h 45 min
    assert stop_after_seconds(3, 1.5) == 90.0
    assert stop_after_seconds(0, 15) == 0.0  # no runtime given: no self-stop
    for margin in (15, 20, -1):
        with pytest.raises(TrainConfigError, match="stop_margin_minutes"):
            stop_after_seconds(15, margin)


def test_fingerprint_follows_settings_init_and_data_not_bookkeeping(tmp_path, tiny_backbone):
    init, data = _setup(tmp_path, tiny_backbone)
    base = run_fingerprint(TrainConfig(**_cfg()), init, data)
    assert base == run_fingerprint(TrainConfig(**_cfg()), init, data)
    # bookkeeping that does not change the weights keeps the fingerprint (resume still allowed)
    same = TrainConfig(**_cfg(save_every=1, log_every=5, threads=2, stop_after_seconds=9.0, stop_margin_minutes=3))
    assert run_fingerprint(same, init, data) == base
    for change in ({"lr": 2e-3}, {"seed": 8}, {"method": "dsl"}, {"global_batch": 8}, {"mdm_weighting": "flat"}):
        assert run_fingerprint(TrainConfig(**_cfg(**change)), init, data) != base, change
    (data / "input_ids.npy").write_bytes((data / "input_ids.npy").read_bytes()[:-1] + b"\x01")
    assert run_fingerprint(TrainConfig(**_cfg()), init, data) != base  # other data
    _, data2 = _setup(tmp_path, tiny_backbone)
    weights = next(init.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x02")
    assert run_fingerprint(TrainConfig(**_cfg()), init, data2) != base  # other init weights


def test_changed_config_moves_stale_state_aside_and_trains_fresh(tmp_path, tiny_backbone):
    init, data = _setup(tmp_path, tiny_backbone)
    state = tmp_path / "state"
    first = _train(_cfg(), init, data, tmp_path / "a", state)
    assert first.returncode == 0, first.stderr
    assert latest_state(state) is not None  # a finished run leaves its last periodic state

    changed = _cfg(lr=4e-3)
    rerun = _train(changed, init, data, tmp_path / "b", state)
    assert rerun.returncode == 0, rerun.stderr
    assert "not resuming" in rerun.stdout + rerun.stderr and "resumed from" not in rerun.stdout
    metrics = json.loads((tmp_path / "b" / "train_metrics.json").read_text())
    assert metrics["resumed_from_step"] == 0 and "another run" in metrics["fresh_start_reason"]
    stale = list(tmp_path.glob("state.stale-*"))
    assert len(stale) == 1 and (stale[0] / "latest.json").exists()  # kept aside, not mixed in

    # equal to a fresh run: tests/workflow/test_training_resume.py (step 4)
    assert not _same(_weights(tmp_path / "a"), _weights(tmp_path / "b"))


def test_state_without_fingerprint_or_with_a_broken_marker_is_not_resumed(tmp_path, tiny_backbone):
    init, data = _setup(tmp_path, tiny_backbone)
    fp = run_fingerprint(TrainConfig(**_cfg()), init, data)
    state = tmp_path / "state"
    (state / "step_0000002").mkdir(parents=True)
    assert "without a latest.json" in stale_state_reason(state, fp)
    (state / "latest.json").write_text(json.dumps({"step": 2, "dir": "step_0000002"}))  # older version
    assert "without a run fingerprint" in stale_state_reason(state, fp)
    assert latest_state(state, fp) is None
    (state / "latest.json").write_text(json.dumps({"step": 2, "dir": "step_0000002", "fingerprint": fp}))
    assert stale_state_reason(state, fp) is None and latest_state(state, fp)[0] == 2
    (state / "latest.json").write_text("{torn")
    assert "not valid JSON" in stale_state_reason(state, fp)


def test_runtime_minutes_sets_the_stop_time_and_a_too_large_margin_is_named(tmp_path, tiny_backbone):
    init, data = _setup(tmp_path, tiny_backbone)
    # runtime 0.2 min - margin 0.19 min = 0.6 s after process start: stops after its first step
    run = _train(
        _cfg(steps=100000, save_every=0, stop_margin_minutes=0.19),
        init,
        data,
        tmp_path / "o",
        tmp_path / "s",
        "--runtime-minutes",
        "0.2",
    )
    assert run.returncode == 75, run.stderr
    assert "time limit reached" in run.stdout
    # what the job script maps back to exit 75 (`accelerate launch` would report 1)
    assert json.loads((tmp_path / "s" / "stopped_for_rerun.json").read_text())["reason"] == "time limit reached"
    assert 0 < json.loads((tmp_path / "s" / "latest.json").read_text())["step"] < 100000


def test_cli_names_a_too_large_margin_and_bad_json(capsys):
    from dsl_llada.cli import main

    paths = ["--init", "i", "--data", "d", "--out", "o", "--state-dir", "s"]
    assert main(["train", "--config", json.dumps(_cfg(stop_margin_minutes=30)), *paths, "--runtime-minutes", "20"]) == 2
    assert (
        "train.stop_margin_minutes 30 must be >= 0 and smaller than the job's runtime (20.0 min)"
        in capsys.readouterr().err
    )
    assert main(["train", "--config", "{lr: 1}", *paths]) == 2
    assert "--config is not valid JSON" in capsys.readouterr().err
    assert main(["train", "--config", "[1]", *paths]) == 2
    assert "--config must be a JSON object" in capsys.readouterr().err
