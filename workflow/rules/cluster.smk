# Cluster checks: cheap jobs that verify what SLURM + Apptainer really give a job, before the
# expensive GPU rules run. Target: `snakemake --profile slurm results/cluster/gpu_probe.json`.
#
# Config keys (provided by config/config.yaml and its schema):
#   containers.gpu          absolute path (or oras:// URI) of the versioned GPU image
#   cluster.probe_gpus      GPUs the probe job requests and must see (default 1)
#   cluster.allow_fake_gpus true ONLY on the fake-GPU CI cluster (ci/slurm_up.sh): then only
#                           SLURM's allocation is checked, with a warning (default false)

import os

# The probe is a standalone script run by absolute path (the repository is the working directory,
# which Snakemake binds into the container as --home), not via `script:`: it can also be run by
# hand under `srun`, and needs no Snakemake module inside the image.
GPU_PROBE_SCRIPT = os.path.normpath(
    os.path.join(str(workflow.current_basedir), "..", "scripts", "gpu_probe.py")
)


rule gpu_probe:
    output:
        json="results/cluster/gpu_probe.json",
    log:
        "logs/gpu_probe/gpu_probe.log",
    container:
        config["containers"]["gpu"]
    threads: 1
    resources:
        # same number as params.expected_gpus: the probe checks what this request produced
        gpu=lookup(dpath="cluster/probe_gpus", within=config, default=1),
        runtime=10,
        mem_mb=4000,
    params:
        script=GPU_PROBE_SCRIPT,
        expected_gpus=lookup(dpath="cluster/probe_gpus", within=config, default=1),
        allow_fake_gpus=lookup(
            dpath="cluster/allow_fake_gpus", within=config, default=False
        ),
    message:
        "Probe GPU visibility: expect {params.expected_gpus} GPU(s), allow_fake_gpus={params.allow_fake_gpus}"
    shell:
        "python3 {params.script:q} --expected-gpus {params.expected_gpus}"
        " --allow-fake-gpus {params.allow_fake_gpus} --out {output.json:q} > {log:q} 2>&1"
