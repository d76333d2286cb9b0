import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule eval_robustness -> dsl_llada.pipeline: §5.1-§5.2, the correction suites (§5.2-§5.3)
and T-context (§5.4), all from one load of the model."""
from pathlib import Path

from dsl_llada.io import model_identity, write_provenance
from dsl_llada.settings import RobustnessSettings
from dsl_llada.pipeline import (
    checked_texts,
    eval_context_robustness,
    eval_correction_suites,
    eval_robustness,
    load_eval_model,
)

cfg = snakemake.params.cfg  # the robustness section but its model list (the wildcard)
settings = RobustnessSettings.from_config(cfg)
texts = Path(snakemake.input.texts)
if texts.is_dir():  # the toy world folder: its corruption texts
    texts = texts / "corruption_texts.json"
checked_texts(texts)  # a bad texts file fails before the model is loaded
model = load_eval_model(snakemake.input.model, threads=snakemake.threads, device=snakemake.params.device)
eval_robustness(snakemake.input.model, texts, settings, snakemake.output.result, model=model)
suites = {key: snakemake.input.get(key) for key in ("manual", "benchmark", "homophone")}
eval_correction_suites(snakemake.input.model, texts, suites, settings, snakemake.output.correction, model=model)
eval_context_robustness(snakemake.input.model, texts, settings, snakemake.output.context, model=model)
identity = model_identity(snakemake.input.model)  # locked revision and content hash, not just a path
for out in snakemake.output:
    write_provenance(
        out,
        config=cfg,
        seed=settings.base_seed,
        model_revision=identity["revision"] or identity["content_sha256"],
        extra={"model": identity},
    )
