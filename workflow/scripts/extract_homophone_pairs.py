import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule extract_homophone_pairs -> dsl_llada.paper_eval.write_homophone_pairs."""
from dsl_llada.paper_eval import write_homophone_pairs

pairs = write_homophone_pairs(snakemake.input.script, snakemake.output.pairs)
logging.info("%d homophone/OCR pairs from %s", len(pairs), snakemake.input.script)
