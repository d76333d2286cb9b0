import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rules sample_shard / sample_reference -> dsl_llada.generation.sample_sweep
(one model load, one file per NFE, each with its provenance sidecar)."""
from dsl_llada.generation import MethodSpec, sample_sweep
from dsl_llada.io import model_identity, write_provenance

job = dict(snakemake.params.job)
method = MethodSpec(**job.pop("method"))
outputs = dict(zip(job.pop("nfes"), list(snakemake.output), strict=True))  # every output is a samples file
stats = sample_sweep(
    snakemake.input.model, snakemake.input.records, outputs, method=method, threads=snakemake.threads, **job
)
model = model_identity(snakemake.input.model)  # locked revision and content hash, not just a path
for nfe, path in outputs.items():
    write_provenance(
        path,
        config={"method": vars(method), "nfe": nfe, **job},
        seed=job["seed"],
        model_revision=model["revision"] or model["content_sha256"],
        extra={**stats[nfe], "model": model},
    )
