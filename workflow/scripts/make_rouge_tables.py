import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule make_rouge_tables -> dsl_llada.pipeline.make_rouge_tables."""
from dsl_llada.tables import make_rouge_tables

make_rouge_tables(
    list(snakemake.input.scores),
    snakemake.output.rouge,
    snakemake.output.failures,
    list(snakemake.input.get("bertscore", [])),
)
