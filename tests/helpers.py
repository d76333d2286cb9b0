"""Helpers shared by every test folder (tests/ is on pytest's path: pyproject ``pythonpath``).

One module name for the whole tree: the per-folder helpers are named after their folder
(``wfutil``, ``clusterutil``) so that no two test modules share a name."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def paper_eval_dir(required: str | None = None) -> Path | None:
    """The authors' eval files when present: $DSL_LLADA_PAPER_EVAL, <repo>/shared/data/paper_eval
    or ../shared/data/paper_eval (a user's clone has none; tests then skip). With ``required``,
    only a folder holding that file counts."""
    for cand in (
        os.environ.get("DSL_LLADA_PAPER_EVAL"),
        REPO / "shared/data/paper_eval",
        REPO.parent / "shared/data/paper_eval",
    ):
        if cand and Path(cand).is_dir() and (required is None or (Path(cand) / required).is_file()):
            return Path(cand)
    return None


def schema_defaults(section: str) -> dict:
    """The schema's defaults of one top-level config section: what Snakemake's
    validate(set_default=True) fills in when the section gives none of its keys."""
    import copy

    import yaml

    schema = yaml.safe_load((REPO / "config/schema/config.schema.yaml").read_text())
    props = schema["properties"][section]["properties"]
    return {k: copy.deepcopy(v["default"]) for k, v in props.items() if "default" in v}


def fill_schema_defaults(cfg: dict) -> dict:
    """``cfg`` with the schema's defaults written in, as the workflow does (common.smk: Snakemake's
    validate with set_default=True); the ``fill_defaults`` of dsl_llada.config.validate_config."""
    from snakemake.utils import validate

    validate(cfg, str(REPO / "config/schema/config.schema.yaml"), set_default=True)
    return cfg


def robustness_settings(**given):
    """A RobustnessSettings of the schema's defaults and the ``given`` keys."""
    from dsl_llada.settings import RobustnessSettings

    return RobustnessSettings.from_config({**schema_defaults("robustness"), **given})


def train_cli_args(cfg: dict, init, data, out, state, *extra) -> list[str]:
    """The arguments after ``python`` (or a launcher) of one ``dsl_llada.cli train`` run."""
    import json

    return ["-m", "dsl_llada.cli", "train", "--config", json.dumps(cfg), "--init", str(init),
            "--data", str(data), "--out", str(out), "--state-dir", str(state), *extra]  # fmt: skip


def prompt_batch(backbone, texts):
    """Chat-templated, left-padded prompt ids and attention mask of ``texts``, as the samplers get them."""
    from dsl_llada.prompts import chat_prompt_ids
    from dsl_llada.sampling import left_pad

    return left_pad([chat_prompt_ids(backbone.tokenizer, t)[0] for t in texts], backbone.special.pad)
