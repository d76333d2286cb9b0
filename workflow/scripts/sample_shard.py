import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule sample_shard -> dsl_llada.generation.sample_shard (+ provenance sidecar)."""
from dsl_llada.generation import MethodSpec, sample_shard
from dsl_llada.io import write_provenance

job = dict(snakemake.params.job)
method = MethodSpec(**job.pop("method"))
stats = sample_shard(snakemake.input.model, snakemake.input.records, snakemake.output.samples, method=method,
                     threads=snakemake.threads, **job)
write_provenance(snakemake.output.samples, config={"method": vars(method), **job}, seed=job["seed"],
                 model_revision=str(snakemake.input.model), extra=stats)
