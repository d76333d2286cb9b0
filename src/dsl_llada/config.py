"""Configuration checks that JSON Schema cannot express, run before any job starts.

The Snakefile validates the config against ``config/schema/config.schema.yaml`` and then calls
:func:`check_config`; every error names the key and the reason.
"""

from __future__ import annotations

from pathlib import Path

from .sampling import SamplerConfigError, check_remasking_settings


class ConfigError(ValueError):
    """A config value that cannot work; the message starts with the dotted key."""


def reference_nfe(config: dict, bench: str) -> int:
    """The reference rows decode one token per forward: steps = gen length."""
    return config["benchmarks"]["gen_length"][bench]


def sampling_grid(config: dict) -> list[tuple[str, str, int]]:
    """(benchmark, method, nfe) for every sampling job of the study."""
    sampling = config["sampling"]
    grid = [(b, m, n) for b in config["benchmarks"]["names"] for m in sampling["methods"] for n in sampling["nfe"]]
    ref = sampling.get("reference_method")
    if ref:
        for bench in config["benchmarks"]["names"]:
            item = (bench, ref, reference_nfe(config, bench))
            if item not in grid:
                grid.append(item)
    return grid


def check_config(config: dict, lock_checker=None) -> None:
    """Cross-field rules. ``lock_checker(model_key, model_cfg)`` may verify hub revisions."""
    names = config["benchmarks"]["names"]
    gen = config["benchmarks"]["gen_length"]
    for bench in names:
        if bench not in gen:
            raise ConfigError(f"benchmarks.gen_length.{bench}: missing (every benchmark needs a generation length)")
    methods = config["sampling"]["methods"]
    ref = config["sampling"].get("reference_method")
    if ref and ref not in methods:
        raise ConfigError(f"sampling.reference_method: {ref!r} is not one of sampling.methods")
    for bench, name, nfe in sampling_grid(config):
        method = methods[name]
        key = f"sampling.methods.{name}"
        if method["model"] not in config["models"]:
            raise ConfigError(f"{key}.model: {method['model']!r} is not defined under models")
        try:
            if method["sampler"] == "sde":
                if nfe % 2 or nfe < 4:
                    raise SamplerConfigError(f"NFE {nfe} must be even and >= 4 (two forwards per Heun step)")
            else:
                check_remasking_settings(gen[bench], nfe, method.get("block_length") or gen[bench])
        except SamplerConfigError as err:
            raise ConfigError(f"{key} on {bench} (gen_length {gen[bench]}, NFE {nfe}): {err}") from None
    check_genquality(config)
    judge = config.get("judge") or {}
    if judge.get("enabled"):
        for key in ("endpoint", "model"):
            if not judge.get(key):
                raise ConfigError(f"judge.{key}: required when judge.enabled is true")
        for name in [judge.get("method", "dsl_sde"), *judge.get("baselines", ["llada_eos_block", "llada"])]:
            if name not in methods:
                raise ConfigError(f"judge: method {name!r} is not one of sampling.methods")
        if judge.get("nfe", 64) not in config["sampling"]["nfe"]:
            raise ConfigError(f"judge.nfe: {judge.get('nfe', 64)} is not one of sampling.nfe")
    for model in config["robustness"]["models"]:
        if model not in config["models"]:
            raise ConfigError(f"robustness.models: {model!r} is not defined under models")
    train = config["cpt"]["train"]
    per_step = train["micro_batch"] * config["cpt"].get("gpus", 1)
    if train["global_batch"] % per_step:
        raise ConfigError(
            f"cpt.train.global_batch: {train['global_batch']} is not divisible by micro_batch x gpus = {per_step}"
        )
    toy = config["models"]["base"]["source"] == "toy"
    if toy:
        for key in ("world", "pretrain_base"):
            if key not in config:
                raise ConfigError(f"{key}: required when models.base.source is 'toy'")
        if "arch" not in config["models"]["base"]:
            raise ConfigError("models.base.arch: required when models.base.source is 'toy'")
    elif config["cpt"]["data"].get("source") == "toy":
        raise ConfigError("cpt.data.source: 'toy' needs models.base.source 'toy' (the toy tokenizer)")
    for key, model in config["models"].items():
        if model["source"] == "hub":
            if not model.get("hub_id"):
                raise ConfigError(f"models.{key}.hub_id: required when source is 'hub'")
            if lock_checker is not None:
                lock_checker(key, model)
        if model["source"] == "local" and not model.get("path"):
            raise ConfigError(f"models.{key}.path: required when source is 'local'")
        if model["source"] == "local" and not Path(model["path"]).is_dir():
            raise ConfigError(f"models.{key}.path: {model['path']} is not a folder")


def check_genquality(config: dict) -> None:
    """genquality.* [protocol §6.2(d), §6.2(e)]: methods exist, the scatter NFE is in the sweep,
    and every method can run every NFE at the generation length."""
    genq = config.get("genquality")
    if not genq:
        return
    methods = config["sampling"]["methods"]
    gen = genq.get("gen_length", 256)
    nfes = genq.get("nfe", [8, 16, 32, 64, 128])
    if genq.get("scatter_nfe", 64) not in nfes:
        raise ConfigError(f"genquality.scatter_nfe: {genq.get('scatter_nfe', 64)} is not one of genquality.nfe {nfes}")
    for name in genq.get("methods", ["dsl_sde", "llada", "llada_eos_block"]):
        if name not in methods:
            raise ConfigError(f"genquality.methods: {name!r} is not one of sampling.methods")
        method = methods[name]
        for nfe in nfes:
            try:
                if method["sampler"] == "sde":
                    if nfe % 2 or nfe < 4:
                        raise SamplerConfigError(f"NFE {nfe} must be even and >= 4 (two forwards per Heun step)")
                else:
                    check_remasking_settings(gen, nfe, method.get("block_length") or gen)
            except SamplerConfigError as err:
                raise ConfigError(f"genquality: method {name} (gen_length {gen}, NFE {nfe}): {err}") from None
    if "genppl" not in config["models"]:
        raise ConfigError("models.genppl: required by genquality (GPT-2-large, or the toy's tiny GPT-2)")


def schema_errors(config: dict, schema_path: str | Path) -> list[str]:
    """Every JSON-schema violation as ``dotted.key: reason`` (clearer than a raw traceback)."""
    import jsonschema
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        key = ".".join(str(p) for p in err.absolute_path) or "<top level>"
        messages.append(f"{key}: {err.message}")
    return messages


def validate_config(config: dict, schema_path: str | Path, lock_checker=None) -> None:
    """Schema first (all violations, each with its key), then the cross-field rules."""
    errors = schema_errors(config, schema_path)
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(errors))
    check_config(config, lock_checker)
