import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule build_toy_ar_model -> dsl_llada.autoregressive.build_toy_causal_lm."""
from dsl_llada.autoregressive import build_toy_causal_lm

stats = build_toy_causal_lm(
    snakemake.input.data,
    snakemake.input.tokenizer,
    snakemake.output.model,
    arch=snakemake.params.arch,
    seed=snakemake.params.seed,
    **snakemake.params.train,
)
logging.info("toy AR reference model: %s", stats)
