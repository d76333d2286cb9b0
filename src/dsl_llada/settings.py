"""Typed, frozen views of the config sections that jobs consume (torch-free: the workflow imports
this module at parse time, and ``snakemake -n`` must not import torch).

Each class is built by ``from_config(section)`` from a section that the workflow has already
validated against ``config/schema/config.schema.yaml`` with the schema's defaults filled in
(``common.smk``). The classes have **no defaults of their own**: the schema is the only source of
defaults, and a missing or unknown key is a :class:`ConfigError` that names it. Rules pass a
section as a plain dict in ``params:``; scripts build the object; library functions take it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .config import ConfigError


def _fields(section: Any, cls: type, where: str) -> dict[str, Any]:
    """The keys of ``section`` as ``cls``'s fields: every field present, no other key."""
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where}: expected a mapping of settings, got {type(section).__name__}")
    names = [f.name for f in dataclasses.fields(cls)]
    missing = [n for n in names if n not in section]
    if missing:
        raise ConfigError(f"{where}.{missing[0]}: missing (the schema default should have filled it)")
    unknown = sorted(set(section) - set(names))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key")
    return {n: section[n] for n in names}


class _Section:
    """Base of the typed sections: ``from_config`` takes every field from the section
    (:func:`_fields`) and converts it by its annotation: a list to a tuple (``tuple[...]``), a
    mapping to a dict (``Mapping[...]``), a nested section's dict to that section. ``SECTION`` is
    the config path that errors name by default."""

    SECTION: ClassVar[str]

    @classmethod
    def from_config(cls, section: Mapping, where: str | None = None):
        where = where or cls.SECTION
        hints = typing.get_type_hints(cls)
        values = _fields(section, cls, where)
        return cls(**{name: _convert(hints[name], value, f"{where}.{name}") for name, value in values.items()})


def _convert(hint: Any, value: Any, where: str) -> Any:
    """``value`` as its field's annotation ``hint`` wants it (``X | None`` keeps None)."""
    if value is None:
        return None
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if isinstance(hint, type) and issubclass(hint, _Section):
        return hint.from_config(value, where)
    origin = typing.get_origin(hint)
    if origin is tuple:
        return tuple(value)
    if origin is Mapping:
        return dict(value)
    return value


def as_dict(settings: Any) -> dict[str, Any]:
    """The settings as the plain dict they were built from (tuples as lists), e.g. for provenance."""

    def plain(value):
        if dataclasses.is_dataclass(value):
            return as_dict(value)
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {f.name: plain(getattr(settings, f.name)) for f in dataclasses.fields(settings)}


# ------------------------------------------------------------------ sampling


@dataclass(frozen=True)
class SamplingSettings(_Section):
    """The ``sampling`` section [protocol §3, §4.2]: the NFE sweep, shards, seeds, batch sizing
    and the methods (each a ``generation.MethodSpec`` field dict)."""

    SECTION = "sampling"

    nfe: tuple[int, ...]
    shards: int
    seed: int
    n_seeds: int
    memory_budget_mb: float
    max_batch: int
    reference_method: str | None
    methods: Mapping[str, Mapping[str, Any]]

    def batching(self) -> dict[str, Any]:
        """The batch-sizing settings every sampling job gets."""
        return {"memory_budget_mb": self.memory_budget_mb, "max_batch": self.max_batch}


# ------------------------------------------------------------------ training


@dataclass(frozen=True)
class TrainSettings(_Section):
    """One ``train`` section (``cpt.train``, ``pretrain_base.train``; schema ``$defs/train``)."""

    SECTION = "train"

    steps: int
    global_batch: int
    micro_batch: int
    lr: float
    warmup_steps: int
    group_by_length: int
    weight_decay: float
    grad_clip: float
    save_every: int
    stop_margin_minutes: float
    mixed_precision: str
    log_every: int
    decay_steps: int
    adam_betas: tuple[float, float]
    mdm_weighting: str


@dataclass(frozen=True)
class CptSettings:
    """What continued pre-training reads besides its ``cpt.train`` section [§1.3-§1.6, §2.3]:
    the DSL model settings (``dsl.DSLConfig`` fields), the SNR sampling (``sample_mixed_snr``
    arguments), the MDM mask floor and the two optimiser switches that ``cpt.dsl`` also holds."""

    dsl: Mapping[str, Any]
    snr: Mapping[str, Any]
    mdm_eps: float
    converter_lr_scale: float
    freeze_output_head: bool

    @classmethod
    def from_config(cls, cpt: Mapping, where: str = "cpt") -> CptSettings:
        for key in ("dsl", "snr", "mdm_eps"):
            if key not in cpt:
                raise ConfigError(f"{where}.{key}: missing")
        dsl = cpt["dsl"]
        for key in ("converter_lr_scale", "freeze_output_head"):
            if key not in dsl:
                raise ConfigError(f"{where}.dsl.{key}: missing (the schema default should have filled it)")
        return cls(
            dsl={k: v for k, v in dsl.items() if k not in ("converter_lr_scale", "freeze_output_head")},
            snr=dict(cpt["snr"]),
            mdm_eps=cpt["mdm_eps"],
            converter_lr_scale=dsl["converter_lr_scale"],
            freeze_output_head=dsl["freeze_output_head"],
        )


def train_job(train: TrainSettings, *, method: str, seed: int, cpt: CptSettings | None) -> dict[str, Any]:
    """The settings of one training job (``dsl_llada.cli train --config``, i.e. ``TrainConfig``
    fields): the train section, the method and seed, and for continued pre-training (``cpt``
    given) the DSL, SNR and MDM settings. The toy base model's pre-training has no ``cpt``."""
    job = dict(as_dict(train), method=method, seed=seed)
    if cpt is not None:
        job.update(
            dsl=dict(cpt.dsl),
            snr=dict(cpt.snr),
            mdm_eps=cpt.mdm_eps,
            converter_lr_scale=cpt.converter_lr_scale,
            freeze_output_head=cpt.freeze_output_head,
        )
    return job


# ------------------------------------------------------------------ robustness


@dataclass(frozen=True)
class CorrectionSettings(_Section):
    """``robustness.correction``: the realistic correction suites [§5.2 Manual, §5.3]."""

    SECTION = "robustness.correction"

    manual: bool
    benchmark: bool
    noisy_edit_rate: float
    homophone_pairs: str | None
    toy_sizes: Mapping[str, int]
    toy_seed: int


@dataclass(frozen=True)
class ContextSettings(_Section):
    """``robustness.context``: T-context [§5.4]."""

    SECTION = "robustness.context"

    mask_rates: tuple[float, ...]
    corrupt_pcts: tuple[int, ...]
    min_length: int


@dataclass(frozen=True)
class RobustnessSettings(_Section):
    """The ``robustness`` section as one job gets it: everything but ``models`` (the model is the
    job's wildcard) [protocol §5]."""

    SECTION = "robustness"

    random_rates: tuple[float, ...]
    semantic_rates: tuple[float, ...]
    base_seed: int
    neighbours: int
    batch_size: int
    max_length: int
    id_range: tuple[int, int] | None
    texts: str | None
    correction: CorrectionSettings
    context: ContextSettings


# ------------------------------------------------------------------ generation quality


@dataclass(frozen=True)
class ToyScorerSettings(_Section):
    """``genquality.toy_scorer``: training of the toy's tiny GPT-2 stand-in for GPT-2-large."""

    SECTION = "genquality.toy_scorer"

    steps: int
    seq_len: int
    batch: int
    lr: float


@dataclass(frozen=True)
class GenQualitySettings(_Section):
    """The ``genquality`` section: Figure 2 and the GenPPL / Distinct-2 scatter [§6.2(d), §6.2(e)]."""

    SECTION = "genquality"

    enabled: bool
    prompts: str
    n_prompts: int | None
    gen_length: int
    nfe: tuple[int, ...]
    methods: tuple[str, ...]
    scatter_nfe: int
    ppl_max_words: int
    unreliable_repetition: float
    toy_scorer: ToyScorerSettings

    def score_params(self) -> dict[str, Any]:
        """What the scoring job of Figure 2 and the scatter needs."""
        return {
            "scatter_nfe": self.scatter_nfe,
            "max_words": self.ppl_max_words,
            "unreliable_repetition": self.unreliable_repetition,
        }
