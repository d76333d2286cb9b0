import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule score_bertscore -> dsl_llada.bertscore.score_bertscore_benchmarks."""
from dsl_llada.bertscore import score_bertscore_benchmarks

score_bertscore_benchmarks(
    dict(snakemake.params.benches),
    snakemake.input.model,
    dict(snakemake.params.settings),
    snakemake.output.scores,
    snakemake.output.per_sample,
)
