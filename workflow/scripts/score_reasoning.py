import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule score_reasoning -> dsl_llada.reasoning.score_reasoning."""
from dsl_llada.reasoning import score_reasoning

score_reasoning(snakemake.params.runs, snakemake.output.table, snakemake.output.per_sample)
