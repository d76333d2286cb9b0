import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule judge_summaries -> dsl_llada.judge.run_judge."""
from dsl_llada.judge import run_judge

run_judge(snakemake.params.jobs, dict(snakemake.params.settings), snakemake.output.table, snakemake.output.per_sample)
