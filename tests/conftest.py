"""Shared fixtures. No test touches a hub or a GPU."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

from helpers import REPO  # noqa: E402

TINY_ARCH = dict(hidden_size=32, intermediate_size=64, num_layers=2, num_heads=4, max_positions=256)
WORDS = [f"w{i}" for i in range(60)] + [".", ","]


@pytest.fixture(scope="session")
def tiny_backbone():
    from dsl_llada.backbone import build_toy_backbone

    torch.set_num_threads(1)
    return build_toy_backbone(WORDS, TINY_ARCH, seed=0)


@pytest.fixture(scope="session")
def tiny_dsl(tiny_backbone):
    from dsl_llada.dsl import DSLConfig, DSLModel

    return DSLModel(tiny_backbone, DSLConfig(noise_dim=8, beta_init=1.0)).eval()


@pytest.fixture
def workdir(tmp_path):
    """A working directory holding a copy of the repo's config/ and assets/ (``configfile:`` and
    the toy base artifact resolve against the working directory, the Snakefile is given with -s)."""
    import shutil

    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "assets", tmp_path / "assets")
    return tmp_path
