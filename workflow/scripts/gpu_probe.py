"""GPU visibility probe for SLURM + Apptainer jobs (rule ``gpu_probe``, workflow/rules/cluster.smk).

Records what a job really sees -- ``CUDA_VISIBLE_DEVICES``, SLURM's GPU variables,
``torch.cuda.device_count()``, device names, ``SLURM_JOB_ID`` -- and exits non-zero with a
``GPU PROBE FAILED`` message when the job sees fewer GPUs than requested. This catches, before an
expensive training run: a missing ``--nv`` in the profile's ``apptainer-args``, a CPU-only torch
in the image, a wrong GPU request style (``gpu`` vs ``gres``) for the site, and multi-GPU jobs
that were split into one task per GPU (snakemake-executor-plugin-slurm issue #459).

Modes
-----
strict (``--allow-fake-gpus false``, the default): torch must see at least ``--expected-gpus``
    CUDA devices.
fake (``--allow-fake-gpus true``): for the CI cluster started by ``ci/slurm_up.sh``, whose GPUs
    are fake gres devices: SLURM allocates them and sets ``CUDA_VISIBLE_DEVICES`` but torch sees
    0 devices. Only SLURM's allocation is checked (the ``CUDA_VISIBLE_DEVICES`` list, else
    ``SLURM_GPUS_ON_NODE``), never silently: a WARNING goes to stderr and the JSON records
    ``"mode": "fake"`` and ``"cuda_checked": false``. Outside a SLURM GPU allocation it fails.

Usage (standalone, e.g. ``srun --gpus=2 python3 workflow/scripts/gpu_probe.py ...``)::

    python3 gpu_probe.py --expected-gpus 2 --allow-fake-gpus false --out probe.json

Only the standard library is needed to run; torch is imported if present.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from pathlib import Path

SLURM_VARS = (
    "SLURM_JOB_ID",
    "SLURM_JOB_NAME",
    "SLURM_STEP_ID",
    "SLURM_JOB_PARTITION",
    "SLURM_JOB_ACCOUNT",
    "SLURM_JOB_NODELIST",
    "SLURM_GPUS",
    "SLURM_GPUS_ON_NODE",
    "SLURM_JOB_GPUS",
    "SLURM_STEP_GPUS",
    "SLURM_CPUS_ON_NODE",
    "SLURM_RESTART_COUNT",
)


class ProbeError(RuntimeError):
    """The job sees fewer GPUs than requested (or cannot tell)."""


def parse_bool(text: str) -> bool:
    """Strict boolean for the command line: true/false (any case), 1/0, yes/no."""
    value = str(text).strip().lower()
    if value in {"true", "1", "yes"}:
        return True
    if value in {"false", "0", "no"}:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def visible_device_list(env: dict) -> list[str] | None:
    """Entries of CUDA_VISIBLE_DEVICES; None when unset. SLURM writes 'NoDevFiles' when the
    allocation has GPUs without device files; an empty string means 'no GPUs'."""
    raw = env.get("CUDA_VISIBLE_DEVICES")
    if raw is None:
        return None
    raw = raw.strip()
    if raw in {"", "NoDevFiles", "-1"}:
        return []
    return [d for d in raw.split(",") if d.strip()]


def slurm_allocated_gpus(env: dict) -> tuple[int | None, str]:
    """GPUs SLURM gave this job step, and where that number came from."""
    devices = visible_device_list(env)
    if devices is not None and (devices or "SLURM_JOB_ID" in env):
        return len(devices), "CUDA_VISIBLE_DEVICES"
    on_node = env.get("SLURM_GPUS_ON_NODE")
    if on_node not in (None, ""):
        try:
            return int(on_node), "SLURM_GPUS_ON_NODE"
        except ValueError:
            pass
    return None, "none"


def torch_view() -> dict:
    """What torch sees. Never raises: an import failure is recorded and judged by the caller."""
    info: dict = {
        "torch_version": None,
        "torch_cuda_version": None,
        "cuda_available": False,
        "device_count": 0,
        "devices": [],
        "torch_error": None,
    }
    try:
        import torch  # noqa: PLC0415 (optional dependency, imported late on purpose)
    except Exception as exc:  # pragma: no cover - depends on the environment
        info["torch_error"] = f"{type(exc).__name__}: {exc}"
        return info
    info["torch_version"] = torch.__version__
    info["torch_cuda_version"] = torch.version.cuda
    try:
        info["cuda_available"] = bool(torch.cuda.is_available())
        info["device_count"] = int(torch.cuda.device_count())
        for i in range(info["device_count"]):
            props = torch.cuda.get_device_properties(i)
            info["devices"].append(
                {"index": i, "name": props.name, "total_memory_gib": round(props.total_memory / 2**30, 2)}
            )
    except Exception as exc:  # pragma: no cover - driver problems
        info["torch_error"] = f"{type(exc).__name__}: {exc}"
    return info


def nvidia_smi() -> list[str] | None:
    """`nvidia-smi -L` lines, or None when the tool is absent (e.g. without --nv)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=60)
    except Exception as exc:  # pragma: no cover
        return [f"error: {exc}"]
    return (out.stdout or out.stderr).strip().splitlines()


def evaluate(expected: int, allow_fake: bool, env: dict, torch_info: dict) -> dict:
    """Judge the probe. Returns the verdict dict or raises ProbeError with a clear message."""
    if expected < 0:
        raise ProbeError(f"expected_gpus must be >= 0, got {expected}")
    allocated, source = slurm_allocated_gpus(env)
    seen = torch_info["device_count"]
    verdict = {
        "expected_gpus": expected,
        "allow_fake_gpus": allow_fake,
        "slurm_allocated_gpus": allocated,
        "slurm_allocation_source": source,
        "torch_device_count": seen,
    }
    if allow_fake:
        verdict.update(mode="fake", cuda_checked=False)
        if allocated is None:
            raise ProbeError(
                "allow_fake_gpus=true checks SLURM's GPU allocation, but this process has none: "
                "neither CUDA_VISIBLE_DEVICES nor SLURM_GPUS_ON_NODE is set. Run it inside a SLURM "
                "job that requested GPUs, or set allow_fake_gpus=false on a real GPU node."
            )
        if allocated < expected:
            raise ProbeError(
                f"SLURM allocated {allocated} GPU(s) (from {source}={env.get(source)!r}) but "
                f"{expected} were requested (allow_fake_gpus=true: only the allocation is checked)."
            )
        return verdict
    verdict.update(mode="strict", cuda_checked=True)
    if seen < expected:
        hints = []
        if torch_info["torch_error"]:
            hints.append(f"torch problem: {torch_info['torch_error']}")
        elif torch_info["torch_cuda_version"] is None:
            hints.append(
                f"torch {torch_info['torch_version']} is a CPU-only build "
                "(torch.version.cuda is None): wrong image or wrong python?"
            )
        if allocated is not None and allocated >= expected:
            hints.append(
                f"SLURM did allocate {allocated} GPU(s) ({source}); if the CUDA devices "
                "are invisible inside the container, is --nv in apptainer-args?"
            )
        elif allocated is not None:
            hints.append(
                f"SLURM allocated only {allocated} GPU(s) ({source}): check the rule's "
                "resources (gpu/gres) and the profile's GPU request style."
            )
        if allocated is not None and allocated > 0 and seen == 0 and not hints:
            hints.append("if this is the fake-GPU CI cluster, set cluster.allow_fake_gpus: true")
        raise ProbeError(f"torch sees {seen} CUDA device(s) but {expected} were requested. " + " ".join(hints))
    if allocated is not None and seen > allocated:
        verdict["warning"] = (
            f"torch sees {seen} devices but SLURM allocated {allocated}: "
            "GPU isolation (ConstrainDevices / CUDA_VISIBLE_DEVICES) may be off"
        )
    return verdict


def collect(env: dict) -> dict:
    return {
        "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cuda_visible_devices": env.get("CUDA_VISIBLE_DEVICES"),
        "slurm": {k: env.get(k) for k in SLURM_VARS if k in env},
        "container": env.get("APPTAINER_CONTAINER") or env.get("SINGULARITY_CONTAINER"),
        "hf_home": env.get("HF_HOME"),
        "nvidia_smi": nvidia_smi(),
        **torch_view(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--expected-gpus", type=int, required=True, help="GPUs the job requested (the rule's resources.gpu)"
    )
    parser.add_argument(
        "--allow-fake-gpus",
        type=parse_bool,
        default=False,
        metavar="{true,false}",
        help="check only SLURM's allocation, not CUDA (fake-GPU CI cluster)",
    )
    parser.add_argument("--out", type=Path, help="JSON report, written only when the probe passes")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    report = collect(env)
    print(json.dumps(report, indent=2), file=sys.stderr)
    try:
        verdict = evaluate(args.expected_gpus, args.allow_fake_gpus, env, report)
    except ProbeError as exc:
        print(
            f"GPU PROBE FAILED (job {env.get('SLURM_JOB_ID', 'outside SLURM')} on {report['hostname']}): {exc}",
            file=sys.stderr,
        )
        return 1
    report.update(verdict)
    if args.allow_fake_gpus:
        print(
            f"WARNING: allow_fake_gpus=true: CUDA was NOT checked; only SLURM's allocation "
            f"({verdict['slurm_allocated_gpus']} GPU(s) via {verdict['slurm_allocation_source']}) "
            f">= {args.expected_gpus}. torch sees {report['device_count']} device(s).",
            file=sys.stderr,
        )
    if "warning" in verdict:
        print(f"WARNING: {verdict['warning']}", file=sys.stderr)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(
        f"GPU PROBE OK: mode={verdict['mode']} expected={args.expected_gpus} "
        f"torch_devices={report['device_count']} slurm_allocated={verdict['slurm_allocated_gpus']}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
