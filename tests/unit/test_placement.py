"""Device placement [issue 12 item 2]: a loaded model lands on the requested device.

``meta`` is a real torch device that every CPU machine has, so the checks cannot pass by
accident on a CPU-only runner: a loader that ignores ``device`` leaves the weights on the CPU.
"""

import json

import pytest
import torch

from dsl_llada.dsl import DSLConfig, DSLModel
from dsl_llada.errors import SamplerConfigError
from dsl_llada.generation import MethodSpec, load_model, sample_sweep
from dsl_llada.pipeline import eval_robustness
from helpers import robustness_settings
from dsl_llada.placement import DeviceError, resolve_device

META = torch.device("meta")


@pytest.fixture(scope="module")
def dsl_dir(tmp_path_factory, tiny_backbone):
    path = tmp_path_factory.mktemp("dsl")
    DSLModel(tiny_backbone, DSLConfig(noise_dim=8)).save(path)
    return path


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory, tiny_backbone):
    path = tmp_path_factory.mktemp("base")
    tiny_backbone.save(path)
    return path


def _devices(model: torch.nn.Module) -> set[torch.device]:
    return {t.device for t in list(model.parameters()) + list(model.buffers())}


@pytest.mark.parametrize("sampler", ["sde", "remasking"])
def test_loaded_dsl_model_is_on_the_requested_device(dsl_dir, sampler):
    model = load_model(dsl_dir, sampler, device=META)
    assert _devices(model) == {META}
    if sampler == "sde":  # the noise table and converter move too, not just the backbone
        assert model.noise_embed.weight.device == META
        assert model.converter.beta.device == META


def test_loaded_backbone_is_on_the_requested_device(base_dir):
    assert _devices(load_model(base_dir, "remasking", device="meta")) == {META}
    assert _devices(load_model(base_dir, "remasking", device="cpu")) == {torch.device("cpu")}


def test_sde_on_a_plain_backbone_folder_names_the_folder(base_dir, tmp_path):
    # a base model given to the SDE by mistake has *.safetensors but no DSL tensors
    with pytest.raises(SamplerConfigError, match=f"{base_dir} is not a DSL checkpoint"):
        load_model(base_dir, "sde", device="cpu")
    with pytest.raises(SamplerConfigError, match="is not a DSL checkpoint"):
        load_model(tmp_path, "sde", device="cpu")  # an empty folder


def _one_record_sde_sweep(dsl_dir, tmp_path, **device):
    """DSL-SDE at NFE 4 on one record, through the job-level entry point."""
    records = tmp_path / "bench.json"
    records.write_text(json.dumps([{"id": "r0", "source": "s", "reference": "w1 w2", "prompt": "w1 w2 w3"}]))
    method = MethodSpec(name="dsl_sde", model="dsl", sampler="sde", top_k=16)
    sample_sweep(
        dsl_dir,
        records,
        {4: tmp_path / "s.jsonl"},
        method=method,
        gen_length=8,
        shard=0,
        n_shards=1,
        seed=1,
        memory_budget_mb=1024,
        max_batch=64,
        **device,
    )


def test_sampling_and_robustness_run_on_the_configured_device(dsl_dir, base_dir, tmp_path):
    """The job-level entry points hand ``device`` to the loader: on ``meta`` there are no values,
    so generation/scoring fails inside torch; a job that ignored ``device`` would finish on the CPU."""
    with pytest.raises((NotImplementedError, RuntimeError), match="meta"):
        _one_record_sde_sweep(dsl_dir, tmp_path, device="meta")
    assert not (tmp_path / "s.jsonl").exists()
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps([{"id": 0, "text": "w1 w2 w3 w4 w5 w6 w7 w8"}]))
    cfg = robustness_settings(random_rates=[0.5], semantic_rates=[0.5], batch_size=1)
    with pytest.raises((NotImplementedError, RuntimeError), match="meta"):
        eval_robustness(base_dir, texts, cfg, tmp_path / "r.json", device="meta")
    out = eval_robustness(base_dir, texts, cfg, tmp_path / "r.json", device="cpu")
    assert [row["corruption"] for row in out["rows"]] == ["random", "semantic"]


def test_resolve_device():
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(None) == resolve_device("auto")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(DeviceError, match="device: 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no GPU"):
            resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_auto_puts_models_and_samples_on_the_gpu(dsl_dir, tmp_path):
    model = load_model(dsl_dir, "sde", device="auto")
    assert {d.type for d in _devices(model)} == {"cuda"}
    torch.cuda.reset_peak_memory_stats()
    _one_record_sde_sweep(dsl_dir, tmp_path)
    assert torch.cuda.max_memory_allocated() > 0  # the forwards ran on the GPU
    assert (tmp_path / "s.jsonl").exists()
