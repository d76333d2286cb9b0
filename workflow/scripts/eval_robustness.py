import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule eval_robustness -> dsl_llada.pipeline.eval_robustness."""
from pathlib import Path

from dsl_llada.io import model_identity, write_provenance
from dsl_llada.pipeline import eval_robustness

texts = Path(snakemake.input.texts)
if texts.is_dir():  # the toy world folder: its corruption texts
    texts = texts / "corruption_texts.json"
eval_robustness(snakemake.input.model, texts, snakemake.params.cfg, snakemake.output.result, threads=snakemake.threads,
                device=snakemake.params.device)
model = model_identity(snakemake.input.model)  # locked revision and content hash, not just a path
write_provenance(snakemake.output.result, config=snakemake.params.cfg, seed=snakemake.params.cfg.get("base_seed"),
                 model_revision=model["revision"] or model["content_sha256"], extra={"model": model})
