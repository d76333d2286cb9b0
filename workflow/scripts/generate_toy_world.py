import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule generate_toy_world -> dsl_llada.pipeline.generate_toy_world."""
from dsl_llada.pipeline import generate_toy_world

generate_toy_world(snakemake.params.world, snakemake.output.world)
