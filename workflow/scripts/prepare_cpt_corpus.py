import logging
import os
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule prepare_cpt_corpus -> dsl_llada.corpus.prepare_corpus [protocol §2.1].

FineWeb-Edu sample-10BT, streamed at the locked SHA (or read from a local mirror), 5 %
validation carve-out by index, tokenised with the base model's tokenizer, packed into
cpt.data.block_size blocks joined by EOS, shuffled (buffer 10,000, seed 42) and written as
results/data/train/cpt/{input_ids.npy, meta.json} (meta.json last).
"""
import json  # noqa: E402
from pathlib import Path  # noqa: E402

job = dict(snakemake.params.job)
job["offline"] = True  # a compute job: it reads the local copy (snakemake.input.corpus) only
if job["offline"]:  # before datasets / huggingface_hub are imported
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("RAYON_NUM_THREADS", str(snakemake.threads))  # the fast tokenizer's threads

from dsl_llada.backbone import BACKBONE_META, load_tokenizer  # noqa: E402
from dsl_llada.corpus import CorpusError, prepare_corpus  # noqa: E402
from dsl_llada.io import git_commit, package_versions  # noqa: E402

log = logging.getLogger("prepare_cpt_corpus")
tok_dir = Path(snakemake.input.tokenizer)
backbone = json.loads((tok_dir / BACKBONE_META).read_text()) if (tok_dir / BACKBONE_META).exists() else {}

tokenizer = load_tokenizer(tok_dir)  # tokenizer.json as a fast tokenizer: no remote code runs

# Documents are joined by EOS (<|endoftext|>, 126081 for LLaDA) [§1.6], not the tokenizer's
# eos_token (a chat tokenizer may name <|eot_id|> there).
expected = (job.get("special_ids") or {}).get("eos")
separator = expected if expected is not None else tokenizer.eos_token_id
if separator is None:
    raise CorpusError(f"{tok_dir}: no EOS id (set models.base.special_ids.eos)")

prepare_corpus(
    snakemake.output.data,
    tokenizer,
    block_size=job["block_size"],
    n_blocks=job["n_blocks"],
    hub_id=job["hub_id"],
    config_name=job["config_name"],
    split=job["split"],
    revision=job["revision"],
    source=snakemake.input.corpus,
    offline=job["offline"],
    shuffle_buffer=job["shuffle_buffer"],
    seed=job["seed"],
    separator=int(separator),
    cache_dir=job["cache_dir"],
    extra_meta={
        "tokenizer": {"dir": str(tok_dir), "hub_id": backbone.get("hub_id"), "revision": backbone.get("revision")},
        "provenance": {"git_commit": git_commit(), "packages": package_versions()},
        "protocol": "§2.1",
    },
)
