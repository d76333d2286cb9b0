import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule make_buckets_table -> dsl_llada.tables.make_buckets_table."""
from dsl_llada.tables import make_buckets_table

make_buckets_table(
    list(snakemake.input.scores), snakemake.params.method, snakemake.params.baseline, snakemake.output.table
)
