import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule export_toy_base -> dsl_llada.pipeline.export_model_artifact."""
from dsl_llada.pipeline import export_model_artifact

export_model_artifact(
    snakemake.input.model, snakemake.output.artifact, snakemake.output.lock_entry, dict(snakemake.params.provenance)
)
