import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule make_correction_table -> dsl_llada.tables.make_correction_table."""
from dsl_llada.tables import make_correction_table

make_correction_table(dict(zip(snakemake.params.models, snakemake.input.results)), snakemake.output.table)
