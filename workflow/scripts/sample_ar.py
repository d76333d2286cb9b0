import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule sample_ar -> dsl_llada.autoregressive.ar_sample_benchmarks (one model load for
every benchmark), each output with its provenance sidecar."""
from dsl_llada.autoregressive import ar_sample_benchmarks
from dsl_llada.io import write_provenance

params = snakemake.params.job
stats = ar_sample_benchmarks(
    snakemake.input.model,
    params["jobs"],
    method=snakemake.wildcards.model,
    shard=params["shard"],
    n_shards=params["n_shards"],
    max_prompt_tokens=params["max_prompt_tokens"],
    dtype=params["dtype"],
)
for job in params["jobs"]:
    write_provenance(
        job["out"],
        config={
            "method": snakemake.wildcards.model,
            "sampler": "ar",
            "greedy": True,
            **job,
            "max_prompt_tokens": params["max_prompt_tokens"],
        },
        model_revision=str(snakemake.input.model),
        extra=stats[job["out"]],
    )
