import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule prepare_benchmark -> copies the toy world's records (validated)."""
from dsl_llada.pipeline import copy_toy_benchmark

copy_toy_benchmark(snakemake.input.world, snakemake.wildcards.bench, snakemake.output.records, snakemake.params.n)
