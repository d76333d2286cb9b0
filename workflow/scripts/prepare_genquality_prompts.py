import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule prepare_genquality_prompts -> dsl_llada.genquality.write_prompts."""
from dsl_llada.genquality import write_prompts

n = write_prompts(snakemake.input.prompts, snakemake.output.prompts, snakemake.params.n)
logging.info("%d prompts from %s", n, snakemake.input.prompts)
