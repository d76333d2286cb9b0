import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule build_toy_bertscore_model -> dsl_llada.bertscore.build_toy_bertscore_model."""
from dsl_llada.bertscore import build_toy_bertscore_model

build_toy_bertscore_model(
    snakemake.input.tokenizer, snakemake.output.model, arch=snakemake.params.arch, seed=snakemake.params.seed
)
