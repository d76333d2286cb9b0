"""Which device a job's models run on: the config's ``device`` key, resolved once per job.

``auto`` means the GPU the job was given when there is one (CUDA_VISIBLE_DEVICES is set by
SLURM/Snakemake), else the CPU; any other value is a torch device string (``cpu``, ``cuda``,
``cuda:1``, ``meta`` for tests).
"""

from __future__ import annotations

import torch


class DeviceError(ValueError):
    """The configured device cannot be used; the message names the key."""


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """``auto``/None -> ``cuda`` when available, else ``cpu``; anything else as torch parses it."""
    if isinstance(spec, torch.device):
        return spec
    if spec in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError) as err:
        raise DeviceError(f"device: {spec!r} is not a torch device ({err})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device: {spec!r} asks for CUDA but this job sees no GPU (use 'auto' or 'cpu')")
    return device


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's first parameter (where its inputs must go)."""
    return next(model.parameters()).device
