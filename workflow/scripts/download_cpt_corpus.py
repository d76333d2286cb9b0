import logging
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule download_cpt_corpus -> dsl_llada.corpus.download_corpus_mirror (login node)."""
from dsl_llada.corpus import download_corpus_mirror  # noqa: E402

job = snakemake.params.job
download_corpus_mirror(
    job["hub_id"],
    job["config_name"],
    job["revision"],
    snakemake.output.corpus,
    offline=job["offline"],
    cache_dir=job["cache_dir"],
)
