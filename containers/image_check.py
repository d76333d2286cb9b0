"""Self-check run by the images' %test sections (containers/gpu.def, containers/cpu.def).

    python3 /opt/dsl_llada/image_check.py --flavour gpu --requirements /opt/dsl_llada/envs/gpu.txt

Checks: dsl_llada imports (installed, non-editable); torch is a CUDA build in the GPU image
(torch.version.cuda is not None) and a CPU build in the CPU image; every `name==version` pin of
the requirements file is what is installed (PEP 440: a local label such as +cpu/+cu126 is ignored);
the core libraries import. Exits non-zero with the list of problems. Standard library only.
Also usable on a host venv: tests/cluster/test_containers.py runs it against envs/cpu.txt.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata as md
import re
import sys

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;#]+)")
CORE = ("transformers", "accelerate", "datasets", "safetensors", "tokenizers", "yaml", "jsonschema")


def pins(path: str) -> dict[str, str]:
    out = {}
    for line in open(path, encoding="utf-8"):
        m = PIN.match(line.strip())
        if m:
            out[m.group(1)] = m.group(3)
    return out


def check(flavour: str, requirements: str | None) -> list[str]:
    problems = []
    import torch

    cuda = torch.version.cuda
    print(f"torch {torch.__version__} cuda {cuda}")
    if flavour == "gpu" and cuda is None:
        problems.append(f"GPU image has a CPU-only torch {torch.__version__} (torch.version.cuda is None)")
    if flavour == "cpu" and cuda is not None:
        problems.append(f"CPU image has a CUDA torch {torch.__version__} (multi-GB, wrong wheel)")
    try:
        import dsl_llada

        print(f"dsl_llada {md.version('dsl_llada')} from {dsl_llada.__file__}")
    except Exception as exc:
        problems.append(f"dsl_llada does not import: {exc!r}")
    if requirements:
        for name, want in pins(requirements).items():
            try:
                have = md.version(name)
            except md.PackageNotFoundError:
                problems.append(f"{name}=={want} pinned but not installed")
                continue
            if have.split("+")[0] != want:
                problems.append(f"{name}: installed {have}, pinned {want}")
    for mod in CORE:
        try:
            importlib.import_module(mod)
        except Exception as exc:
            problems.append(f"{mod} does not import: {exc!r}")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flavour", choices=["gpu", "cpu"], required=True)
    ap.add_argument("--requirements", help="pip requirements file whose == pins must be installed")
    args = ap.parse_args(argv)
    problems = check(args.flavour, args.requirements)
    if problems:
        print(f"IMAGE CHECK FAILED ({args.flavour}):\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"{args.flavour} image OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
