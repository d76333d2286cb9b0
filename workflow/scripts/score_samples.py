import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule score_samples -> dsl_llada.pipeline.score_samples."""
from dsl_llada.tables import score_samples

score_samples(list(snakemake.input.shards), snakemake.input.records, snakemake.params.thresholds,
              snakemake.output.summary, snakemake.output.per_sample, snakemake.params.meta)
