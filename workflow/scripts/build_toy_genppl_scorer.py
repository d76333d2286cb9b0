import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule build_toy_genppl_scorer -> dsl_llada.genquality.build_toy_scorer."""
from pathlib import Path

from dsl_llada.genquality import build_toy_scorer
from dsl_llada.settings import ToyScorerSettings, as_dict

stats = build_toy_scorer(
    Path(snakemake.input.world) / "corpus.jsonl",
    snakemake.input.tokenizer,
    snakemake.output.model,
    arch=snakemake.params.arch,
    seed=snakemake.params.seed,
    **as_dict(ToyScorerSettings.from_config(snakemake.params.train)),
)
logging.info("toy GenPPL scorer: %s", stats)
