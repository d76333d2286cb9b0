import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule build_toy_init -> dsl_llada.pipeline.build_toy_init."""
from dsl_llada.pipeline import build_toy_init

build_toy_init(snakemake.input.world, snakemake.params.arch, snakemake.params.seed, snakemake.output.model)
