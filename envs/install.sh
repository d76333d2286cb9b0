#!/usr/bin/env bash
# Create .venv with the pinned CPU environment and the package (editable). Offline-friendly:
# torch==2.13.0 is the CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -r envs/cpu.txt 2>&1 | grep -v "^WARNING: Location" || true
# DeepSpeed (ZeRO-2 on its CPU accelerator: tests/cluster/test_deepspeed_cpu.py). PyPI has only an
# sdist whose setup.py imports torch: an isolated build would download a CUDA torch, so it is built
# against this venv's CPU torch==2.13.0. No op is precompiled (DS_BUILD_OPS unset: JIT on first use).
.venv/bin/python -m pip install -q --no-build-isolation deepspeed==0.19.8 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q --no-deps -e . 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import dsl_llada, torch, transformers, snakemake; print('installed: dsl_llada', dsl_llada.__version__, '| torch', torch.__version__, '| transformers', transformers.__version__)"
