"""dsl_llada.settings: typed, frozen config sections with no defaults of their own."""

import dataclasses
import subprocess
import sys

import pytest
import yaml
from helpers import REPO, robustness_settings, schema_defaults
from snakemake.utils import validate

from dsl_llada.config import ConfigError
from dsl_llada.settings import (
    CptSettings,
    GenQualitySettings,
    RobustnessSettings,
    SamplingSettings,
    TrainSettings,
    as_dict,
    train_job,
)

SCHEMA = REPO / "config/schema/config.schema.yaml"


def _filled(preset: str | None = None) -> dict:
    """config.yaml (and a preset over it) with the schema's defaults, as the workflow sees it."""
    from snakemake.utils import update_config

    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    if preset:
        update_config(cfg, yaml.safe_load((REPO / f"config/presets/{preset}.yaml").read_text()))
    validate(cfg, str(SCHEMA), set_default=True)
    return cfg


@pytest.mark.parametrize("preset", [None, "smoke", "paper", "released"])
def test_every_section_builds_from_the_validated_config(preset):
    cfg = _filled(preset)
    sampling = SamplingSettings.from_config(cfg["sampling"])
    assert sampling.n_seeds == cfg["sampling"]["n_seeds"] and sampling.nfe == tuple(cfg["sampling"]["nfe"])
    for name in ("cpt", "pretrain_base"):
        assert as_dict(TrainSettings.from_config(cfg[name]["train"])) == cfg[name]["train"]
    job = {k: v for k, v in cfg["robustness"].items() if k != "models"}
    assert as_dict(RobustnessSettings.from_config(job)) == job
    genq = GenQualitySettings.from_config(cfg["genquality"])
    assert as_dict(genq) == cfg["genquality"]


@pytest.mark.parametrize(
    "cls, section, key",
    [
        (SamplingSettings, "sampling", "max_batch"),
        (TrainSettings, "cpt.train", "grad_clip"),
        (GenQualitySettings, "genquality", "scatter_nfe"),
    ],
)
def test_a_missing_key_is_named(cls, section, key):
    """No defaults in code: a key the schema did not fill is an error naming it."""
    cfg = _filled()
    part = cfg
    for name in section.split("."):
        part = part[name]
    part = dict(part)
    del part[key]
    with pytest.raises(ConfigError, match=rf"^{section}\.{key}: missing"):
        cls.from_config(part, section)


def test_missing_and_unknown_nested_keys_are_named():
    job = {**schema_defaults("robustness"), "random_rates": [0.1]}
    job["context"] = {k: v for k, v in job["context"].items() if k != "min_length"}
    with pytest.raises(ConfigError, match=r"^robustness\.context\.min_length: missing"):
        RobustnessSettings.from_config(job)
    with pytest.raises(ConfigError, match=r"^robustness\.models: unknown key"):
        RobustnessSettings.from_config({**schema_defaults("robustness"), "random_rates": [0.1], "models": ["dsl"]})
    with pytest.raises(ConfigError, match=r"^robustness\.random_rates: missing"):
        RobustnessSettings.from_config(schema_defaults("robustness"))


def test_settings_are_frozen():
    settings = robustness_settings(random_rates=[0.1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.base_seed = 1  # type: ignore[misc]
    assert settings.semantic_rates == () and settings.context.min_length == 20  # the schema's defaults


def test_settings_do_not_import_torch():
    code = "import sys, dsl_llada.settings; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_train_job_is_the_train_section_plus_the_cpt_settings():
    """What `dsl_llada.cli train --config` gets: TrainConfig fields, nothing defaulted in code."""
    from dsl_llada.training import TrainConfig

    cfg = _filled()
    base = train_job(TrainSettings.from_config(cfg["pretrain_base"]["train"]), method="mdm", seed=7, cpt=None)
    assert base == dict(cfg["pretrain_base"]["train"], method="mdm", seed=7)
    dsl = train_job(
        TrainSettings.from_config(cfg["cpt"]["train"]), method="dsl", seed=7, cpt=CptSettings.from_config(cfg["cpt"])
    )
    assert dsl["dsl"] == {
        k: v for k, v in cfg["cpt"]["dsl"].items() if k not in ("converter_lr_scale", "freeze_output_head")
    }
    assert (dsl["mdm_eps"], dsl["converter_lr_scale"], dsl["freeze_output_head"]) == (0.001, 1.0, True)
    assert dsl["snr"] == cfg["cpt"]["snr"]
    for job in (base, dsl):
        TrainConfig(**job)  # every key is a TrainConfig field
    del cfg["cpt"]["dsl"]["freeze_output_head"]
    with pytest.raises(ConfigError, match=r"^cpt\.dsl\.freeze_output_head: missing"):
        CptSettings.from_config(cfg["cpt"])
