"""The cluster path for real: the project's SLURM profile submitting through sbatch to the
single-node SLURM that CI starts with ci/slurm_up.sh (2 fake GPUs, partition/account as in the
profile), with the stub `apptainer` standing in for the container runtime.

    sudo bash ci/slurm_up.sh && pytest -m slurm tests/cluster; bash ci/slurm_down.sh

Skipped unless `sinfo` answers. Every snakemake call runs under `timeout -s INT`.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from clusterutil import REPO, copy_repo, includes_cluster_rules, load_profile, sinfo_answers, snakemake_cmd

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(not sinfo_answers(), reason="no SLURM cluster (start it with ci/slurm_up.sh)"),
]

# fast status polling for tests; everything else comes from the profile unchanged
FAST = ["--slurm-init-seconds-before-status-checks", "2", "--latency-wait", "5"]

MINI_SNAKEFILE = """
rule all:
    input:
        "results/summary.txt",


rule gpu_style:
    output:
        "results/gpu_style.txt",
    container:
        config["gpu_image"]
    resources:
        gpu=1,
        mem_mb=500,
        runtime=5,
    shell:
        "echo job=${{SLURM_JOB_ID:-none}} cuda=${{CUDA_VISIBLE_DEVICES:-none}} hf_home=${{HF_HOME:-unset}} > {output}"


rule gres_style:
    output:
        "results/gres_style.txt",
    container:
        config["gpu_image"]
    resources:
        gres="gpu:1",
        mem_mb=500,
        runtime=5,
    shell:
        "echo job=${{SLURM_JOB_ID:-none}} cuda=${{CUDA_VISIBLE_DEVICES:-none}} hf_home=${{HF_HOME:-unset}} > {output}"


rule aggregate:
    input:
        "results/gpu_style.txt",
        "results/gres_style.txt",
    output:
        "results/summary.txt",
    container:
        config["cpu_image"]
    threads: 2
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "(cat {input}; echo threads={threads} nproc=$(nproc) job=${{SLURM_JOB_ID:-none}}) > {output}"
"""


def run_id(text: str) -> str:
    m = re.search(r"SLURM run ID: ([0-9a-f-]{36})", text)
    assert m, "no 'SLURM run ID' in snakemake output:\n" + text[-3000:]
    return m.group(1)


def sacct_jobs(name: str, expect: int, timeout_s: float = 30) -> list[dict]:
    """`sacct -X -n -P --name <run id>`, retried: accounting lags job completion by seconds."""
    fields = ["JobIDRaw", "State", "AllocTRES", "Comment"]
    rows: list[dict] = []
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        out = subprocess.run(
            ["sacct", "-X", "-n", "-P", "--name", name, "-o", ",".join(fields)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        rows = [dict(zip(fields, line.split("|"))) for line in out.stdout.splitlines() if line.strip()]
        if len(rows) >= expect and all(r["State"] not in ("PENDING", "RUNNING") for r in rows):
            return rows
        time.sleep(1)
    return rows


def scontrol_job(jobid: str) -> str:
    return subprocess.run(["scontrol", "show", "job", jobid], capture_output=True, text=True, timeout=30).stdout


def shim_exec_lines(env: dict) -> list[str]:
    log = Path(env["APPTAINER_SHIM_LOG"])
    return [line for line in log.read_text().splitlines() if line.startswith("apptainer exec")] if log.exists() else []


def tres(row: dict) -> dict:
    return dict(item.split("=", 1) for item in row["AllocTRES"].split(",") if "=" in item)


@pytest.fixture(scope="module", autouse=True)
def cluster_matches_profile():
    """The test cluster must be named like the real profile (ci/slurm_up.sh PARTITION/ACCOUNT)."""
    dr = load_profile()["default-resources"]
    parts = subprocess.run(["sinfo", "-h", "-o", "%R"], capture_output=True, text=True).stdout.split()
    assert dr["slurm_partition"] in parts, (
        f"partition {dr['slurm_partition']!r} not on this cluster ({parts}); "
        f"start it with PARTITION={dr['slurm_partition']} ACCOUNT={dr['slurm_account']} ci/slurm_up.sh"
    )
    gres = subprocess.run(["sinfo", "-h", "-o", "%G"], capture_output=True, text=True).stdout
    assert re.search(r"gpu:(\d+)", gres) and int(re.search(r"gpu:(\d+)", gres).group(1)) >= 2, (
        f"need >= 2 (fake) GPUs on the node (GPUS=2 ci/slurm_up.sh), sinfo says {gres!r}"
    )


@pytest.fixture
def mini_workflow(tmp_path):
    wf = tmp_path / "wf"
    (wf / "results").mkdir(parents=True)
    (wf / "Snakefile").write_text(MINI_SNAKEFILE)
    images = {}
    for name in ("gpu", "cpu"):
        sif = tmp_path / "img" / f"{name}-0.0.0-test.sif"
        sif.parent.mkdir(exist_ok=True)
        sif.write_text("fake image for the apptainer stub\n")
        images[name] = sif
    return wf, images


def run_mini(wf, images, env, *extra, timeout_s=420):
    cmd = snakemake_cmd(
        "--profile",
        str(REPO / "profiles" / "slurm"),
        "--cores",
        "all",
        "--sdm",
        "apptainer",
        "--config",
        f"gpu_image={images['gpu']}",
        f"cpu_image={images['cpu']}",
        *FAST,
        *extra,
        timeout_s=timeout_s,
    )
    return subprocess.run(cmd, cwd=wf, env=env, capture_output=True, text=True)


def test_profile_runs_jobs_through_sbatch_with_gpus_and_containers(mini_workflow, stub_env):
    wf, images = mini_workflow
    out = run_mini(wf, images, stub_env)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-5000:]
    rid = run_id(text)

    # --- SLURM accounting: every job ran and COMPLETED with what the rule asked for ---
    rows = {r["Comment"]: r for r in sacct_jobs(rid, expect=3)}
    assert set(rows) == {"rule_gpu_style", "rule_gres_style", "rule_aggregate"}, rows
    assert all(r["State"] == "COMPLETED" for r in rows.values()), rows
    assert tres(rows["rule_gpu_style"]).get("gres/gpu") == "1"
    assert tres(rows["rule_gres_style"]).get("gres/gpu") == "1"
    assert tres(rows["rule_aggregate"]).get("cpu") == "2" and "gres/gpu" not in tres(rows["rule_aggregate"])
    # profile reached sbatch: partition/account, time limit from the rule, --requeue (the CI
    # cluster runs JobRequeue=0, so Requeue=1 can only come from the profile's slurm-requeue)
    prof = load_profile()["default-resources"]
    for comment, row in rows.items():
        info = scontrol_job(row["JobIDRaw"])
        if info:  # slurmctld keeps finished jobs for MinJobAge=300 s
            assert f"Partition={prof['slurm_partition']}" in info and f"Account={prof['slurm_account']}" in info
            assert "Requeue=1" in info, f"{comment}: sbatch --requeue missing"
            assert "TimeLimit=00:05:00" in info
    # GPU request style: `gpu` -> --gpus (per job), `gres` -> --gres (per node)
    assert "TresPerJob=gres:gpu:1" in scontrol_job(rows["rule_gpu_style"]["JobIDRaw"])
    assert "TresPerNode=gres:gpu:1" in scontrol_job(rows["rule_gres_style"]["JobIDRaw"])

    # --- what the jobs saw ---
    for name in ("gpu_style", "gres_style"):
        line = (wf / "results" / f"{name}.txt").read_text()
        assert re.search(r"cuda=[01]\b", line), line  # SLURM set CUDA_VISIBLE_DEVICES
        assert f"hf_home={stub_env['HF_HOME']}" in line
        assert f"job={rows['rule_' + name]['JobIDRaw']}" in line
    assert "threads=2 nproc=2" in (wf / "results" / "summary.txt").read_text()

    # --- container wiring (stub log): local .sif used as is, --nv and the binds from the profile ---
    execs = shim_exec_lines(stub_env)
    assert len(execs) == 3, execs
    log = Path(stub_env["APPTAINER_SHIM_LOG"]).read_text()
    assert " pull " not in log, "local .sif images must not be pulled"
    for line in execs:
        assert " --nv " in line
        assert f"--bind {stub_env['HF_HOME']} " in line and f"--env HF_HOME={stub_env['HF_HOME']} " in line
        assert f"--bind {wf}/results " in line
        assert re.search(r"job=\d+$", line), "apptainer must run inside the SLURM job"
    assert sum(str(images["gpu"]) in line for line in execs) == 2
    assert sum(str(images["cpu"]) in line for line in execs) == 1

    # --- SLURM logs kept for successful jobs (slurm-keep-successful-logs) ---
    assert len(list((wf / ".snakemake" / "slurm_logs").rglob("*.log"))) == 3


def test_missing_hf_home_fails_loudly(mini_workflow, stub_env):
    """The profile requires HF_HOME: `${HF_HOME:?...}` makes the job's shell stop with a message."""
    wf, images = mini_workflow
    env = {k: v for k, v in stub_env.items() if k != "HF_HOME"}
    out = run_mini(wf, images, env, "--retries", "0", "results/gpu_style.txt", timeout_s=300)
    text = out.stdout + out.stderr
    assert out.returncode != 0, text[-3000:]
    logs = "\n".join(p.read_text() for p in (wf / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert "HF_HOME: export_HF_HOME_to_a_shared_cache_dir_see_profiles/README.md" in logs, logs[-3000:]
    assert not shim_exec_lines(env), "apptainer must not have started"


# --- the real workflow's gpu_probe rule ---------------------------------------------------------


def probe_script() -> Path:
    return REPO / "workflow" / "scripts" / "gpu_probe.py"


def test_probe_script_under_srun_fails_loudly_with_too_few_gpus(tmp_path):
    """Standalone: `srun --gpus=1` but the probe expects 2 -> non-zero exit, clear message."""
    import sys

    base = ["srun", "-t", "2", "--mem", "500"]
    script = [sys.executable, str(probe_script()), "--expected-gpus", "2", "--allow-fake-gpus", "true"]
    bad = subprocess.run(
        base + ["--gpus=1"] + script + ["--out", str(tmp_path / "bad.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0
    assert "GPU PROBE FAILED" in bad.stderr and "SLURM allocated 1 GPU(s)" in bad.stderr, bad.stderr[-2000:]
    assert not (tmp_path / "bad.json").exists()
    good = subprocess.run(
        base + ["--gpus=2"] + script + ["--out", str(tmp_path / "ok.json")], capture_output=True, text=True, timeout=120
    )
    assert good.returncode == 0, good.stderr[-2000:]
    assert "WARNING: allow_fake_gpus=true: CUDA was NOT checked" in good.stderr
    report = json.loads((tmp_path / "ok.json").read_text())
    assert report["slurm_allocated_gpus"] == 2 and report["mode"] == "fake"


@pytest.fixture
def repo_copy(tmp_path):
    if not includes_cluster_rules(REPO / "Snakefile"):
        pytest.skip('root Snakefile missing or not including "workflow/rules/cluster.smk" yet')
    root = copy_repo(tmp_path / "repo")
    sif = tmp_path / "img" / "gpu-0.0.0-test.sif"
    sif.parent.mkdir()
    sif.write_text("fake image for the apptainer stub\n")
    return root, sif


def run_probe(root, sif, env, probe_gpus: int, allow_fake: bool, *extra, timeout_s=420):
    """Exactly the user's command line (from the repository root, `--profile slurm`), plus a typed
    config overlay. Not `--config cluster='{probe_gpus: 2}'`: Snakemake parses nested --config
    values with YAML's BaseLoader, i.e. as strings ('2', 'true'), which the schema rejects."""
    overlay = root.parent / "ci_cluster.yaml"
    overlay.write_text(
        f"cluster:\n  probe_gpus: {probe_gpus}\n  allow_fake_gpus: {str(allow_fake).lower()}\n"
        f"containers:\n  gpu: {sif}\n  cpu: {sif}\n"
    )
    cmd = snakemake_cmd(
        "--profile",
        "slurm",
        "--cores",
        "all",
        "results/cluster/gpu_probe.json",
        "--configfile",
        str(overlay),
        *FAST,
        *extra,
        timeout_s=timeout_s,
    )
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)


def test_gpu_probe_rule_sees_two_fake_gpus(repo_copy, stub_env):
    root, sif = repo_copy
    out = run_probe(root, sif, stub_env, 2, True)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-5000:]
    assert "Using profile slurm for setting default command line arguments." in text
    report = json.loads((root / "results" / "cluster" / "gpu_probe.json").read_text())
    assert report["expected_gpus"] == 2 and report["slurm_allocated_gpus"] == 2
    assert report["mode"] == "fake" and report["cuda_checked"] is False
    assert report["cuda_visible_devices"] == "0,1"
    job = report["slurm"]["SLURM_JOB_ID"]
    rows = sacct_jobs(run_id(text), expect=1)
    assert [r["JobIDRaw"] for r in rows] == [job], rows
    assert rows[0]["State"] == "COMPLETED" and rows[0]["Comment"] == "rule_gpu_probe"
    assert tres(rows[0]).get("gres/gpu") == "2"
    probe_log = (root / "logs" / "gpu_probe" / "gpu_probe.log").read_text()
    assert "WARNING: allow_fake_gpus=true" in probe_log and "GPU PROBE OK" in probe_log
    execs = shim_exec_lines(stub_env)
    assert len(execs) == 1 and " --nv " in execs[0] and str(sif) in execs[0]


def test_gpu_probe_rule_fails_loudly_in_strict_mode_without_cuda(repo_copy, stub_env):
    """On the fake cluster torch sees 0 CUDA devices: strict mode (the default) must fail the job."""
    root, sif = repo_copy
    out = run_probe(root, sif, stub_env, 2, False, "--retries", "0")
    text = out.stdout + out.stderr
    assert out.returncode != 0, text[-3000:]
    assert "GPU PROBE FAILED" in text, "show-failed-logs should print the probe's log:\n" + text[-3000:]
    assert "torch sees 0 CUDA device(s) but 2 were requested" in text
    assert not (root / "results" / "cluster" / "gpu_probe.json").exists()


@pytest.mark.slow
def test_smoke_preset_runs_every_job_under_slurm(repo_copy, stub_env):
    """The whole smoke study through `snakemake --profile slurm` (stub apptainer, fake GPUs):
    sacct shows every job COMPLETED with the GPUs and CPUs its rule asked for."""
    root, sif = repo_copy
    overlay = root.parent / "ci_smoke.yaml"
    # one shard per sampling job here (sharding is covered by tests/workflow/test_smoke_e2e.py):
    # every DAG level costs a round of SLURM status polling
    overlay.write_text(f"containers:\n  gpu: {sif}\n  cpu: {sif}\nsampling:\n  shards: 1\n")
    # CI's node has 2 CPUs: ask 1 CPU per GPU and one thread for training instead of the site's 8.
    # one --configfile with both files: a second --configfile flag would replace the first
    cmd = snakemake_cmd(
        "--profile",
        "slurm",
        "--cores",
        "all",
        "--configfile",
        "config/presets/smoke.yaml",
        str(overlay),
        "--set-resources",
        "train_model:cpus_per_gpu=1",
        "--set-threads",
        "train_model=1",
        "--jobs",
        "4",
        *FAST,
        timeout_s=1800,
    )
    out = subprocess.run(cmd, cwd=root, env=stub_env, capture_output=True, text=True)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-6000:]
    for table in ("rouge.csv", "failure_modes.csv", "robustness.csv"):
        assert (root / "results" / "tables" / table).stat().st_size > 100
    submitted = len(re.findall(r"Job \d+ has been submitted with SLURM jobid", text))
    rows = sacct_jobs(run_id(text), expect=submitted, timeout_s=60)
    assert len(rows) == submitted > 20, (submitted, rows[:3])
    assert all(r["State"] == "COMPLETED" for r in rows), [r for r in rows if r["State"] != "COMPLETED"]
    by_rule: dict[str, list] = {}
    for r in rows:
        by_rule.setdefault(r["Comment"].split("_wildcards")[0], []).append(tres(r))
    for rule in ("rule_train_model", "rule_sample_shard", "rule_eval_robustness"):
        assert by_rule.get(rule) and all(t.get("gres/gpu") == "1" for t in by_rule[rule]), (rule, by_rule.get(rule))
    for rule in ("rule_score_samples", "rule_make_rouge_tables", "rule_plot_figure"):
        assert by_rule.get(rule) and all("gres/gpu" not in t for t in by_rule[rule]), (rule, by_rule.get(rule))
    assert all(t.get("cpu") == "1" for t in by_rule["rule_sample_shard"])
    execs = shim_exec_lines(stub_env)
    assert len(execs) == submitted and all(str(sif) in e and " --nv " in e for e in execs)
