"""Shared helpers for tests/cluster: the stub apptainer on PATH, the profile, SLURM detection."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO

PROFILE_DIR = REPO / "profiles" / "slurm"
PROFILE_FILE = PROFILE_DIR / "config.v8+.yaml"
STUB = Path(__file__).resolve().parent / "apptainer"
VENV_BIN = Path(sys.executable).parent  # snakemake, python3 with torch (CPU) for jobs


def load_profile() -> dict:
    import yaml

    return yaml.safe_load(PROFILE_FILE.read_text())


@pytest.fixture
def stub_env(tmp_path):
    """Environment with the fake `apptainer` first on PATH, then the venv's bin directory.

    SLURM jobs inherit it (the plugin submits with --export=ALL), so jobs also use the stub and
    the venv's python3. HF_HOME points at an existing directory (the profile binds it)."""
    bindir = tmp_path / "stubbin"
    bindir.mkdir()
    (bindir / "apptainer").symlink_to(STUB)
    hf_home = tmp_path / "hf_home"
    hf_home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    env.update(
        PATH=f"{bindir}{os.pathsep}{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        APPTAINER_SHIM_LOG=str(tmp_path / "apptainer-shim.log"),
        HF_HOME=str(hf_home),
        HF_HUB_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    return env


def snakemake_cmd(*args: str, timeout_s: int = 600) -> list[str]:
    """snakemake from this venv, always under `timeout -s INT` (SIGTERM may not stop it, and a
    broken status command makes it wait forever; /work/shared/notes/slurm_ci.md)."""
    return ["timeout", "-s", "INT", str(timeout_s), str(VENV_BIN / "snakemake"), *args]


def sinfo_answers() -> bool:
    if shutil.which("sinfo") is None:
        return False
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%P %a"], capture_output=True, text=True, timeout=10)
    except (subprocess.TimeoutExpired, OSError):
        return False
    return out.returncode == 0 and bool(out.stdout.strip())


# top-level entries never copied into a scratch copy of the repository (state, outputs, envs)
_NOT_COPIED = {
    ".git",
    ".venv",
    ".snakemake",
    "results",
    "logs",
    "build",
    "resources",
    "benchmarks",
    ".pytest_cache",
    ".whl",
    ".gl",
    "report.html",
    "report.zip",
}


def copy_repo(dst: Path) -> Path:
    """A clean working copy of the repository (sources, config, profiles, the `slurm` link) in dst,
    so workflow runs do not depend on, or touch, the developer's results/ and .snakemake/ state."""
    import shutil

    def ignore(directory, names):
        top = Path(directory).resolve() == REPO.resolve()
        return {
            n
            for n in names
            if (top and (n in _NOT_COPIED or n.startswith("slurm-"))) or n == "__pycache__" or n.endswith(".sif")
        }

    shutil.copytree(REPO, dst, symlinks=True, ignore=ignore)
    (dst / "results").mkdir(exist_ok=True)  # the profile binds $PWD/results; a clone has results/README.md
    return dst


def includes_cluster_rules(snakefile: Path) -> bool:
    import re

    return snakefile.exists() and bool(
        re.search(r'(?m)^include:\s*["\'](\./)?workflow/rules/cluster\.smk["\']', snakefile.read_text())
    )
