import logging
import os
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rules download_model / fetch_artifact -> dsl_llada.model_folder.build_model_folder.

resources/models/{model}: the snapshot at the locked SHA (safetensors only), its backbone meta,
provenance and sha256 manifest; see dsl_llada.model_folder.
"""
from pathlib import Path  # noqa: E402

JOB = dict(snakemake.params.job)
if JOB["offline"]:
    os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub is imported

from dsl_llada.model_folder import build_model_folder  # noqa: E402

build_model_folder(JOB, Path(snakemake.output.model), snakemake.input.get("base_tokenizer") or None)
