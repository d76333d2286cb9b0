"""The schema is the only source of config defaults: Snakemake's validate (set_default=True) writes
them into the config before any rule reads it, and the rules read config[...][key] plainly."""

import re

import yaml
from helpers import REPO
from wfutil import run_snakemake

SCHEMA = REPO / "config/schema/config.schema.yaml"


def _defaulted_keys(node, found=None) -> set[str]:
    """Every property name that has a `default` somewhere in the schema."""
    found = set() if found is None else found
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict) and "default" in sub:
                found.add(name)
        for value in node.values():
            _defaulted_keys(value, found)
    elif isinstance(node, list):
        for value in node:
            _defaulted_keys(value, found)
    return found


def test_rules_do_not_repeat_schema_defaults():
    """No `.get("key", <default>)` in workflow/rules for a key the schema defaults: the value is
    always there (a second default could only disagree with the schema's)."""
    defaulted = _defaulted_keys(yaml.safe_load(SCHEMA.read_text()))
    assert {"n_seeds", "memory_budget_mb", "max_batch", "mdm_eps", "init_seed"} <= defaulted
    offenders = []
    for path in sorted((REPO / "workflow/rules").glob("*.smk")):
        text = path.read_text()
        for match in re.finditer(r"\.get\(\s*[\"'](\w+)[\"']\s*,", text):
            if match.group(1) in defaulted:
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.name}:{line}: .get({match.group(1)!r}, ...)")
    assert not offenders, "schema defaults repeated in rules:\n" + "\n".join(offenders)


def test_a_schema_default_reaches_a_job(workdir):
    """Keys left out of the config are filled from the schema, and the rule that reads them
    plainly hands the schema's value to the job (cpt.mdm_eps and cpt.dsl.converter_lr_scale in the
    training command)."""
    path = workdir / "config/config.yaml"
    cfg = yaml.safe_load(path.read_text())
    del cfg["cpt"]["mdm_eps"], cfg["cpt"]["dsl"]["converter_lr_scale"], cfg["cpt"]["gpus"]
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = run_snakemake(["-n", "-p", "results/models/dsl"], cwd=workdir, timeout=120).stdout
    assert '"mdm_eps": 0.001' in out and '"converter_lr_scale": 1.0' in out, out[-3000:]
    assert "--num_processes 1 " in out  # cpt.gpus: 1
