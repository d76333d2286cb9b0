import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule score_genquality -> dsl_llada.genquality.score_generation; the scatter table is
the rows at genquality.scatter_nfe [protocol §6.2(d)]."""
from dsl_llada.genquality import score_generation
from dsl_llada.io import atomic_write_text

frame = score_generation(
    snakemake.params.runs,
    snakemake.input.scorer,
    snakemake.output.table,
    snakemake.output.per_sample,
    max_words=snakemake.params.cfg["max_words"],
    unreliable_repetition=snakemake.params.cfg["unreliable_repetition"],
)
scatter = frame[frame["nfe"] == snakemake.params.cfg["scatter_nfe"]]
atomic_write_text(snakemake.output.scatter, scatter.to_csv(index=False))
