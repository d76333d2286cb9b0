"""The SLURM profile (profiles/slurm/config.v8+.yaml) parses, has the keys the project relies on,
and `snakemake --profile slurm` resolves it from the repository root exactly as users type it.

Runs without a SLURM cluster. The real submission path is tests/cluster/test_slurm_cluster.py.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from clusterutil import PROFILE_DIR, PROFILE_FILE, REPO, copy_repo, load_profile, snakemake_cmd

REQUIRED = [
    "executor",
    "jobs",
    "latency-wait",
    "retries",
    "software-deployment-method",
    "apptainer-args",
    "default-resources",
    "slurm-init-seconds-before-status-checks",
    "slurm-keep-successful-logs",
    "slurm-requeue",
]


def all_slurm_extra(profile: dict) -> list[str]:
    extras = [profile.get("default-resources", {}).get("slurm_extra")]
    for res in (profile.get("set-resources") or {}).values():
        extras.append(res.get("slurm_extra"))
    return [e for e in extras if e]


def test_profile_yaml_has_required_keys():
    p = load_profile()
    for key in REQUIRED:
        assert key in p, f"profile lacks {key}"
    assert p["executor"] == "slurm"
    assert p["software-deployment-method"] == "apptainer"
    assert isinstance(p["jobs"], int) and p["jobs"] > 0
    assert isinstance(p["retries"], int) and p["retries"] >= 1
    assert p["slurm-keep-successful-logs"] is True and p["slurm-requeue"] is True
    dr = p["default-resources"]
    for key in ("slurm_partition", "slurm_account", "runtime", "mem_mb"):
        assert dr.get(key), f"default-resources.{key} must be set"
    assert "cpus_per_task" not in dr, "cpus_per_task in default-resources overrides every rule's threads"


def test_apptainer_args():
    args = load_profile()["apptainer-args"]
    assert re.search(r"(^|\s)--nv(\s|$)", args), "GPUs are invisible in Apptainer without --nv"
    assert re.search(r"--bind \$\{HF_HOME:\?[^}\s]+\}", args), "HF cache must be bound (and required)"
    assert re.search(r"--env HF_HOME=\$\{HF_HOME:\?[^}\s]+\}", args)
    assert "--bind $(readlink -f results)" in args  # evaluated by the job's shell in its workdir


def test_no_gres_or_gpus_in_slurm_extra():
    """The plugin rejects executor-managed flags in slurm_extra (validation.py); use resources."""
    from snakemake_executor_plugin_slurm.validation import get_forbidden_slurm_options

    for extra in all_slurm_extra(load_profile()):
        assert "--gres" not in extra and "--gpus" not in extra
        for pattern, what in get_forbidden_slurm_options().items():
            assert not re.search(pattern, extra), f"slurm_extra sets the {what}: {extra}"


def test_every_key_is_commented_with_a_reason():
    """Each top-level key has a comment block right above it (the template's profile rule)."""
    lines = PROFILE_FILE.read_text().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^([a-z][a-z0-9-]*):", line)
        if m:
            assert i > 0 and lines[i - 1].startswith("#"), f"key {m.group(1)} has no comment above it"
    assert PROFILE_FILE.read_text().count("https://") >= 5, "docs links expected"


def test_snakemake_parser_accepts_every_key(monkeypatch):
    """Parse the profile with Snakemake's own CLI parser: unknown keys fail ('unrecognized arguments')."""
    from snakemake.cli import get_argument_parser

    monkeypatch.chdir(REPO)
    args = get_argument_parser(profiles=[str(PROFILE_FILE)]).parse_args([])
    assert args.executor == "slurm"
    assert "--nv" in args.apptainer_args
    assert "--bind $(readlink -f results)" in args.apptainer_args  # NOT expanded at parse time
    assert "${HF_HOME:?" in args.apptainer_args  # left for the job's shell (loud if unset)
    assert args.slurm_requeue is True and args.slurm_keep_successful_logs is True
    assert set(args.default_resources.keys()) >= {"slurm_partition", "slurm_account", "runtime", "mem_mb"}


def test_profile_name_resolves_from_repo_root(monkeypatch):
    """`--profile slurm` searches ./slurm, then the user/site config dirs (snakemake cli.py
    get_profile_dir) -- not ./profiles/ -- so the repository root has a `slurm` symlink."""
    from snakemake.cli import get_profile_dir

    link = REPO / "slurm"
    assert link.is_symlink() and os.readlink(link) == "profiles/slurm"
    monkeypatch.chdir(REPO)
    profile_dir, config_file = get_profile_dir("slurm")
    assert Path(profile_dir).resolve() == PROFILE_DIR.resolve()
    assert config_file.name == "config.v8+.yaml"


def test_dry_run_from_repo_root_uses_the_profile(stub_env, tmp_path):
    """The real command line, dry-run: `snakemake --profile slurm --cores all -n` from the repository root
    (a clean copy of it, so local results/ and .snakemake/ state do not matter). The stub
    apptainer is on PATH because software-deployment-method: apptainer needs the binary even for -n."""
    if not (REPO / "Snakefile").exists():
        pytest.skip("root Snakefile not written yet")
    root = copy_repo(tmp_path / "repo")
    out = subprocess.run(
        snakemake_cmd("--profile", "slurm", "--cores", "all", "-n", timeout_s=300),
        cwd=root,
        env=stub_env,
        capture_output=True,
        text=True,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    assert "Using profile slurm for setting default command line arguments." in text
