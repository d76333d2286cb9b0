import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule fetch_paper_eval -> dsl_llada.paper_eval.fetch_paper_eval_file."""
from dsl_llada.paper_eval import fetch_paper_eval_file

meta = fetch_paper_eval_file(snakemake.wildcards.file, snakemake.output.file, mirror=snakemake.params.mirror)
logging.info("fetched %s", meta)
