"""Configuration checks that JSON Schema cannot express, run before any job starts.

The Snakefile validates the config against ``config/schema/config.schema.yaml`` and then calls
:func:`check_config`; every error names the key and the reason.
"""

from __future__ import annotations

from pathlib import Path

from .errors import SamplerConfigError
from .sampler_checks import check_remasking_settings


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
    """Cross-field rules on a config that has the schema's defaults filled in (validate_config).
    ``lock_checker(model_key, model_cfg)`` may verify hub revisions."""
    if config.get("preset") == "quick" and config["models"]["base"]["source"] != "hub":
        raise ConfigError(
            "preset: quick.yaml is an overlay on released.yaml; run with "
            "--configfile config/presets/released.yaml config/presets/quick.yaml"
        )
    if config["models"]["base"]["source"] == "toy":
        _check_toy_benchmarks(config["benchmarks"]["names"])
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
    judge = config["judge"]
    if judge["enabled"]:
        for key in ("endpoint", "model"):
            if not judge[key]:
                raise ConfigError(f"judge.{key}: required when judge.enabled is true")
        for name in [judge["method"], *judge["baselines"]]:
            if name not in methods:
                raise ConfigError(f"judge: method {name!r} is not one of sampling.methods")
        if judge["nfe"] not in config["sampling"]["nfe"]:
            raise ConfigError(f"judge.nfe: {judge['nfe']} is not one of sampling.nfe")
    for model in config["robustness"]["models"]:
        if model not in config["models"]:
            raise ConfigError(f"robustness.models: {model!r} is not defined under models")
    _check_id_range(config["robustness"].get("id_range"))
    claims = config.get("claims")
    if claims:
        for name in [claims["sampling"]["method"], *claims["sampling"]["baselines"]]:
            if name not in methods:
                raise ConfigError(f"claims.sampling: {name!r} is not one of sampling.methods")
        rob = claims["robustness"]
        if rob["model"] not in config["robustness"]["models"]:
            raise ConfigError(f"claims.robustness.model: {rob['model']!r} is not one of robustness.models")
        rates = config["robustness"].get(f"{rob['corruption']}_rates") or []
        if not any(abs(rob["rate"] - r) < 1e-9 for r in rates):
            raise ConfigError(
                f"claims.robustness.rate: {rob['rate']} is not one of robustness.{rob['corruption']}_rates {rates}"
            )
    train = config["cpt"]["train"]
    per_step = train["micro_batch"] * config["cpt"]["gpus"]
    if train["global_batch"] % per_step:
        raise ConfigError(
            f"cpt.train.global_batch: {train['global_batch']} is not divisible by micro_batch x gpus = {per_step}"
        )
    toy = config["models"]["base"]["source"] == "toy"
    # every training section: the base model (toy only, one process) and continued pre-training
    sections = [("cpt", config["cpt"]["gpus"])] + ([("pretrain_base", 1)] if toy else [])
    for name, gpus in sections:
        _check_train_section(name, config.get(name), gpus)
    if toy:
        for key in ("world", "pretrain_base"):
            if key not in config:
                raise ConfigError(f"{key}: required when models.base.source is 'toy'")
        if "arch" not in config["models"]["base"]:
            raise ConfigError("models.base.arch: required when models.base.source is 'toy'")
        _check_toy(config)
    elif config["cpt"]["data"].get("source") == "toy":
        raise ConfigError("cpt.data.source: 'toy' needs models.base.source 'toy' (the toy tokenizer)")
    data, train = config["cpt"]["data"], config["cpt"]["train"]
    if data.get("source") == "fineweb" and data["n_blocks"] < train["steps"] * train["global_batch"]:
        # the paper's streaming run reads every block once; fewer blocks would silently repeat data
        raise ConfigError(
            f"cpt.data.n_blocks: {data['n_blocks']} blocks are fewer than cpt.train.steps x global_batch = "
            f"{train['steps'] * train['global_batch']} (the paper reads every block once)"
        )
    for key, model in config["models"].items():
        if model.get("artifact") and key != "base":  # inert for a base that is not the toy's (paper presets)
            raise ConfigError(f"models.{key}.artifact: only the toy base (models.base) is a committed artifact")
        if model["source"] == "hub":
            if not model.get("hub_id"):
                raise ConfigError(f"models.{key}.hub_id: required when source is 'hub'")
            if lock_checker is not None:
                lock_checker(key, model)
        if model["source"] == "local" and not model.get("path"):
            raise ConfigError(f"models.{key}.path: required when source is 'local'")
        if model["source"] == "local" and not Path(model["path"]).is_dir():
            raise ConfigError(f"models.{key}.path: {model['path']} is not a folder")


def _check_train_section(name: str, section, gpus: int) -> None:
    """Batch sizes of one training section divide: global = micro x GPUs x accumulation."""
    train = (section or {}).get("train")
    if not isinstance(train, dict):
        raise ConfigError(f"{name}.train: required (steps, global_batch, micro_batch, lr, warmup_steps)")
    warmup = train["warmup_steps"]
    if not 0 <= warmup <= train["steps"]:
        raise ConfigError(f"{name}.train.warmup_steps: {warmup} must be in 0..steps = {train['steps']}")
    decay, room = train["decay_steps"], train["steps"] - warmup
    if not 0 <= decay <= room:
        raise ConfigError(f"{name}.train.decay_steps: {decay} must be in 0..steps - warmup_steps = {room}")
    per_step = train["micro_batch"] * gpus
    if train["global_batch"] % per_step:
        raise ConfigError(
            f"{name}.train.global_batch: {train['global_batch']} is not divisible by micro_batch x gpus = "
            f"{train['micro_batch']} x {gpus}"
        )


def _check_id_range(id_range) -> None:
    """robustness.id_range is [low, high): replacement ids; at least two, so one always differs."""
    if id_range is None:
        return
    low, high = id_range
    if low < 0 or high - low < 2:
        raise ConfigError(
            f"robustness.id_range: [{low}, {high}) must have 0 <= low and high >= low + 2 "
            "(replacement ids are drawn from [low, high); reversed bounds?)"
        )


TOY_ARCH_KEYS = ("hidden_size", "intermediate_size", "num_layers", "num_heads", "max_positions")


def _check_toy_benchmarks(names: list[str]) -> None:
    from .toyworld import TASKS

    for i, bench in enumerate(names):
        if bench not in TASKS:
            raise ConfigError(
                f"benchmarks.names.{i}: {bench!r} is not a benchmark of the toy world (it makes {', '.join(TASKS)})"
            )


def _check_toy(config: dict) -> None:
    """The toy backbone's sizes: heads divide the width, every sequence fits its positions."""
    arch = config["models"]["base"]["arch"]
    for key in TOY_ARCH_KEYS:
        if key not in arch:
            raise ConfigError(f"models.base.arch.{key}: required when models.base.source is 'toy'")
    head_dim, rest = divmod(arch["hidden_size"], arch["num_heads"])
    if rest or head_dim % 2:
        raise ConfigError(
            f"models.base.arch.hidden_size: {arch['hidden_size']} must be num_heads ({arch['num_heads']}) x an even "
            "head size (rotary embeddings rotate pairs of dimensions)"
        )
    positions = arch["max_positions"]
    lengths = {
        "pretrain_base.seq_len": config["pretrain_base"].get("seq_len"),
        "cpt.data.block_size": config["cpt"]["data"].get("block_size"),
    }
    lengths.update(
        {f"benchmarks.gen_length.{b}": config["benchmarks"]["gen_length"][b] for b in config["benchmarks"]["names"]}
    )
    for key, length in lengths.items():
        if length is not None and length > positions:
            raise ConfigError(f"{key}: {length} tokens exceed models.base.arch.max_positions = {positions}")


def load_config_file(path: str | Path) -> dict:
    """A YAML config file as a dict; a syntax error names the file, line and column.

    Snakemake parses ``--configfile`` before the workflow runs and reports a syntax error
    without the file or line (``dsl-llada check-config FILE`` runs this instead)."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ConfigError(f"{path}, {where}: not valid YAML ({err.problem or err.context})") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot be read as YAML ({err})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected keys at the top level, got {type(data).__name__}")
    return data


def check_genquality(config: dict) -> None:
    """genquality.* [protocol §6.2(d), §6.2(e)]: methods exist, the scatter NFE is in the sweep,
    and every method can run every NFE at the generation length."""
    genq = config.get("genquality")
    if not genq:
        return
    methods = config["sampling"]["methods"]
    gen = genq["gen_length"]
    nfes = genq["nfe"]
    if genq["scatter_nfe"] not in nfes:
        raise ConfigError(f"genquality.scatter_nfe: {genq['scatter_nfe']} is not one of genquality.nfe {nfes}")
    for name in genq["methods"]:
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
        if err.instance is None and err.validator == "type":  # `key:` with nothing (all commented out)
            messages.append(f"{key}: is empty (every key commented out?); give it its keys or remove it")
        else:
            messages.append(f"{key}: {err.message}")
    return messages


def validate_config(config: dict, schema_path: str | Path, lock_checker=None, *, fill_defaults) -> None:
    """Schema first (all violations, each with its key), then the schema's defaults written into
    ``config`` by ``fill_defaults(config)`` (Snakemake's ``validate(config, schema,
    set_default=True)``; this package never imports Snakemake, so the caller passes it): the
    schema is the only place defaults live. Then the cross-field rules, which read keys plainly."""
    errors = schema_errors(config, schema_path)
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(errors))
    fill_defaults(config)
    check_config(config, lock_checker)
