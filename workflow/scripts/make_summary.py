import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule make_summary -> dsl_llada.tables.markdown_summary."""
from dsl_llada.tables import markdown_summary

markdown_summary(snakemake.input.rouge, snakemake.input.robustness, snakemake.input.claims, snakemake.output.summary)
