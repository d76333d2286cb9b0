import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule score_samples -> dsl_llada.tables.score_samples, once per (method, NFE)."""
from pathlib import Path

from dsl_llada.tables import score_samples

out = Path(snakemake.output.scores)
for run in snakemake.params.runs:
    score_samples(
        run["shards"],
        snakemake.input.records,
        snakemake.params.thresholds,
        out / f"{run['name']}.json",
        out / f"{run['name']}.csv",
        run["meta"],
        snakemake.params.bootstrap,
    )
