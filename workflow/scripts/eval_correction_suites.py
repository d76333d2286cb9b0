import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule eval_correction_suites -> dsl_llada.pipeline.eval_correction_suites."""
from pathlib import Path

from dsl_llada.io import write_provenance
from dsl_llada.pipeline import eval_correction_suites

texts = Path(snakemake.input.texts)
if texts.is_dir():  # the toy world folder: its corruption texts
    texts = texts / "corruption_texts.json"
suites = {key: snakemake.input.get(key) for key in ("manual", "benchmark", "homophone")}
cfg = dict(snakemake.params.cfg["correction"], **{k: v for k, v in snakemake.params.cfg.items() if k != "correction"})
eval_correction_suites(snakemake.input.model, texts, suites, cfg, snakemake.output.result, threads=snakemake.threads)
write_provenance(
    snakemake.output.result,
    config=snakemake.params.cfg,
    seed=cfg.get("base_seed"),
    model_revision=str(snakemake.input.model),
)
