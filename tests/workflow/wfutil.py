"""Helpers to run the real workflow (snakemake CLI) on copies of the repo's config."""

import os
import subprocess
import sys
from pathlib import Path

from helpers import REPO, paper_eval_dir  # noqa: F401  (re-exported for the workflow tests)

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def run_snakemake(args, cwd, timeout=900, check=True):
    """``snakemake -s <repo>/Snakefile`` in ``cwd``; SIGINT on timeout (SIGTERM may not stop it).

    The environment's bin folder is taken off PATH, as for a user who runs ``.venv/bin/snakemake``
    without activating it: the workflow itself must find ``accelerate`` and the other scripts."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(d for d in env.get("PATH", "").split(os.pathsep) if d and d != venv_bin)
    proc = subprocess.run(
        ["timeout", "-s", "INT", str(timeout), *SNAKEMAKE, "-s", str(REPO / "Snakefile"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def job_counts(output: str) -> dict[str, int]:
    """Parse Snakemake's 'Job stats' table."""
    counts, in_table = {}, False
    for line in output.splitlines():
        if line.startswith("job ") and "count" in line:
            in_table, counts = True, {}
            continue
        if in_table:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                counts[parts[0]] = int(parts[1])
            elif line.strip() and not set(line.strip()) <= {"-", " "}:
                in_table = False
    return counts
