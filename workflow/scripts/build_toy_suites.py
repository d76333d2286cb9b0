import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule build_toy_suites -> dsl_llada.pipeline.build_toy_suites."""
from pathlib import Path

from dsl_llada.pipeline import build_toy_suites

build_toy_suites(
    snakemake.input.world,
    snakemake.input.tokenizer,
    snakemake.params.sizes,
    snakemake.params.seed,
    Path(snakemake.output.manual).parent,
)
