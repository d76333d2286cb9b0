"""Static checks of the Apptainer definitions, the GPU pins and containers/build.sh.

No Apptainer runtime exists in CI (none installable from PyPI or Debian), so:
* the .def files are parsed with spython (`--parser singularity`), plus our own checks, because
  spython silently drops misspelled sections (`%postt`) and never looks inside them;
* build.sh is run for real with the stub `apptainer` (tests/cluster/apptainer), which writes a
  fake image, to check naming, the sha256 file and the refusal to overwrite;
* containers/image_check.py (the images' %test) is run against this venv.
Building and running the real images is a check for a machine with Apptainer (containers/README.md).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clusterutil import REPO, STUB, VENV_BIN

CONTAINERS = REPO / "containers"
DEFS = {"gpu": CONTAINERS / "gpu.def", "cpu": CONTAINERS / "cpu.def"}
SECTIONS = {
    "%setup",
    "%files",
    "%environment",
    "%post",
    "%runscript",
    "%startscript",
    "%test",
    "%labels",
    "%help",
    "%arguments",
}


def project_version() -> str:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def sections(text: str) -> dict[str, str]:
    """Our own split of a .def file into {section: body} (header under '')."""
    out, name, buf = {}, "", []
    for line in text.splitlines():
        m = re.match(r"^(%[A-Za-z_]+)\b", line)
        if m:
            out[name] = "\n".join(buf)
            name, buf = m.group(1), []
        else:
            buf.append(line)
    out[name] = "\n".join(buf)
    return out


def header_value(text: str, key: str) -> str | None:
    m = re.search(rf"^{key}:\s*(\S+)\s*$", sections(text)[""], re.M)
    return m.group(1) if m else None


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==(\S+)", line.strip())
        if m:
            out[m.group(1).lower()] = m.group(3)
    return out


@pytest.fixture(scope="module")
def spython_recipes():
    parser_mod = pytest.importorskip("spython.main.parse.parsers")
    return {name: parser_mod.SingularityParser(str(path)).recipe["spython-base"] for name, path in DEFS.items()}


@pytest.mark.parametrize("name", ["gpu", "cpu"])
def test_spython_cli_parses(name):
    spython = VENV_BIN / "spython"
    if not spython.exists():
        pytest.skip("spython not installed")
    out = subprocess.run(
        [str(spython), "recipe", "--parser", "singularity", "--writer", "docker", str(DEFS[name])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("FROM "), out.stdout[:200]


@pytest.mark.parametrize("name", ["gpu", "cpu"])
def test_only_known_sections(name):
    """spython drops unknown sections silently; Apptainer would too (or fail late)."""
    for line in DEFS[name].read_text().splitlines():
        if line.startswith("%"):
            sec = line.split()[0]
            assert sec in SECTIONS or sec.startswith("%app"), f"{name}.def: unknown section {sec!r}"
    present = set(sections(DEFS[name].read_text())) - {""}
    assert {"%files", "%post", "%environment", "%test", "%labels"} <= present


@pytest.mark.parametrize("name", ["gpu", "cpu"])
def test_base_image_is_pinned(name, spython_recipes):
    text = DEFS[name].read_text()
    assert header_value(text, "Bootstrap") == "docker"
    frm = header_value(text, "From")
    assert frm and spython_recipes[name].fromHeader == frm
    # an explicit version tag (containing a digit, not `latest`) or a digest; a bare name means latest
    pinned = "@sha256:" in frm or re.search(r":[^:/@]*\d[^:/@]*$", frm)
    assert pinned and not frm.endswith(":latest"), f"From not pinned to a version: {frm}"


def test_gpu_base_is_cuda_pytorch_matching_cpu_torch_pin():
    frm = header_value(DEFS["gpu"].read_text(), "From")
    m = re.fullmatch(r"pytorch/pytorch:(\d+\.\d+\.\d+)-cuda(\d+\.\d+)-cudnn\d+-runtime", frm)
    assert m, f"GPU base should be a pinned CUDA runtime pytorch image, got {frm}"
    assert m.group(1) == pins(REPO / "envs" / "cpu.txt")["torch"], "GPU torch != CPU torch pin"


@pytest.mark.parametrize("name", ["gpu", "cpu"])
def test_files_post_environment_labels(name, spython_recipes):
    rec = spython_recipes[name]
    files = dict(entry.split(None, 1) for entry in rec.files)
    for src in ("pyproject.toml", "src", f"envs/{name}.txt", "containers/image_check.py"):
        assert src in files and files[src].startswith("/opt/dsl_llada"), f"%files lacks {src}"
        assert (REPO / src).exists(), f"%files source {src} missing from the repository"
    post = re.sub(r"\\\s*\n\s*", " ", "\n".join(rec.install))  # join continuation lines
    assert f"envs/{name}.txt" in post or "requirements-image.txt" in post
    install_lines = [line for line in post.splitlines() if "pip install" in line]
    assert any("/opt/dsl_llada" in line for line in install_lines), "package not installed in %post"
    assert not any(re.search(r"\s(-e|--editable)\s", line) for line in install_lines), "package must be non-editable"
    assert "HF_HUB_DISABLE_TELEMETRY=1" in "\n".join(rec.environ)
    assert f"Version {project_version()}" in rec.labels, (
        "the .def `Version` label must equal pyproject.toml's version (bump them together)"
    )


def test_gpu_test_section_checks_cuda_torch():
    body = sections(DEFS["gpu"].read_text())["%test"]
    assert "image_check.py --flavour gpu" in body
    check = (CONTAINERS / "image_check.py").read_text()
    assert "torch.version.cuda" in check and "import dsl_llada" in check


def test_gpu_pins():
    gpu = pins(REPO / "envs" / "gpu.txt")
    want = {
        "transformers": "5.23.0",
        "accelerate": "1.15.0",
        "datasets": "5.2.0",
        "huggingface-hub": "2.4.0",
        "deepspeed": "0.19.8",
        "rouge-score": "0.1.2",
        "pandas": "3.1.1",
        "jsonschema": "4.26.0",
    }
    for name, version in want.items():
        assert gpu.get(name) == version, f"envs/gpu.txt: {name}=={version} expected"
    text = (REPO / "envs" / "gpu.txt").read_text()
    assert not re.search(r"^torch\b", text, re.M), "torch must come from the base image"
    for name in ("pyyaml", "tqdm", "safetensors", "tokenizers"):
        assert re.search(rf"^{name}\b", text, re.M), f"{name} missing"
    cpu = pins(REPO / "envs" / "cpu.txt")
    for name in set(gpu) & set(cpu):
        assert gpu[name] == cpu[name], f"{name}: gpu.txt {gpu[name]} != cpu.txt {cpu[name]}"


def test_image_check_against_this_venv():
    pytest.importorskip("torch")
    check = [sys.executable, str(CONTAINERS / "image_check.py")]
    ok = subprocess.run(
        check + ["--flavour", "cpu", "--requirements", str(REPO / "envs" / "cpu.txt")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run(check + ["--flavour", "gpu"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "CPU-only torch" in bad.stderr


# --- build.sh, run for real with the stub apptainer ------------------------------------------


@pytest.fixture
def build_tree(tmp_path):
    """A minimal copy of the repository (build.sh builds from its own repository root)."""
    root = tmp_path / "repo"
    (root / "containers").mkdir(parents=True)
    for f in ("build.sh", "gpu.def", "cpu.def", "image_check.py"):
        shutil.copy2(CONTAINERS / f, root / "containers" / f)
    shutil.copy2(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "envs", root / "envs")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "apptainer").symlink_to(STUB)
    env = {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "APPTAINER_SHIM_LOG": str(tmp_path / "shim.log"),
        "BUILD_DIR": str(tmp_path / "build"),
        "HOME": str(tmp_path),
    }
    return root, env, tmp_path / "build"


def run_build(root, env, *args):
    return subprocess.run(
        ["bash", str(root / "containers" / "build.sh"), *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_build_names_image_by_version_and_writes_sha256(build_tree):
    root, env, build = build_tree
    version = project_version()
    out = run_build(root, env, "all")
    assert out.returncode == 0, out.stdout + out.stderr
    for name in ("gpu", "cpu"):
        sif = build / f"{name}-{version}.sif"
        assert sif.is_file()
        digest, fname = (build / f"{name}-{version}.sif.sha256").read_text().split()
        assert fname == sif.name and digest == hashlib.sha256(sif.read_bytes()).hexdigest()
    log = (Path(env["APPTAINER_SHIM_LOG"])).read_text()
    assert "apptainer build" in log and "containers/gpu.def" in log


def test_build_refuses_to_overwrite_a_versioned_image(build_tree):
    root, env, build = build_tree
    assert run_build(root, env, "gpu").returncode == 0
    again = run_build(root, env, "gpu")
    assert again.returncode != 0 and "already exists" in again.stderr
    forced = run_build(root, env, "--force", "gpu")
    assert forced.returncode == 0, forced.stderr


def test_build_refuses_label_version_mismatch(build_tree):
    root, env, _ = build_tree
    gpu_def = root / "containers" / "gpu.def"
    gpu_def.write_text(re.sub(r"(?m)^(\s*Version\s+)\S+", r"\g<1>9.9.9", gpu_def.read_text()))
    out = run_build(root, env, "gpu")
    assert out.returncode != 0 and "bump them together" in out.stderr
