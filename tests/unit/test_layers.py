"""Layering: the modules the workflow imports at parse time (config check, hub, benchmark and
corpus plans) stay torch-free, and small shared pieces have their own modules instead of one
layer reaching into another (generation -> training, pipeline -> tables, data -> sampling)."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PKG = REPO / "src" / "dsl_llada"


def parse_time_modules() -> list[str]:
    """dsl_llada modules named by an import in the Snakefile or a workflow/rules/*.smk file."""
    texts = [(REPO / "Snakefile").read_text()] + [
        p.read_text() for p in sorted((REPO / "workflow/rules").glob("*.smk"))
    ]
    return sorted({m for t in texts for m in re.findall(r"^\s*from (dsl_llada[\w.]*) import", t, re.M)})


def imported_heavy(modules: list[str], watch=("torch", "transformers")) -> list[str]:
    """Which of ``watch`` a fresh interpreter has loaded after importing ``modules``."""
    code = f"import sys\nfor m in {modules!r}: __import__(m)\nprint(sorted(k for k in {tuple(watch)!r} if k in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return ast.literal_eval(out.strip())


def local_imports(module: str) -> set[str]:
    """The dsl_llada modules that ``module`` imports (anywhere in the file)."""
    tree = ast.parse((PKG / f"{module}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names.add(node.module or "")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dsl_llada."):
            names.add(node.module.split(".", 1)[1])
    return names


def test_the_workflow_imports_modules_at_parse_time():
    assert "dsl_llada.config" in parse_time_modules()


def test_parse_time_modules_import_no_torch():
    assert imported_heavy(parse_time_modules()) == []


def test_the_probe_sees_what_is_imported():
    # yaml stands in for torch (same mechanism, without a slow torch import)
    assert imported_heavy(["dsl_llada.hub"], watch=("yaml", "torch")) == ["yaml"]


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("generation", "training"),
        ("pipeline", "tables"),
        ("data", "sampling"),
        ("config", "sampling"),
        ("prompts", "sampling"),
        ("sampler_checks", "sampling"),
    ],
)
def test_no_side_doors(module, forbidden):
    assert forbidden not in local_imports(module)
