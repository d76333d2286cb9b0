import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule prepare_training_data -> dsl_llada.pipeline.prepare_toy_training_data."""
from dsl_llada.pipeline import prepare_toy_training_data

p = snakemake.params
prepare_toy_training_data(
    snakemake.input.world,
    snakemake.input.tokenizer,
    p.seq_len,
    p.instruction_fraction,
    p.seed,
    snakemake.output.data,
    windows=p.windows,
    n_examples=p.n_examples,
)
