# Hub path (models.base.source != toy): every download pinned to the commit SHA in
# config/hub.lock.yaml, with a sha256 manifest / provenance sidecar [protocol §2.1, §2.5, §4.1].
#
#   download_model      resources/models/{model}            models with source: hub (LLaDA-8B-Instruct,
#                                                            DSL-LLaDA-Beta1/Beta2/Highpass)
#   build_benchmark     results/data/benchmarks/{bench}.json the 1,000-record test sets [§4.1]
#   download_cpt_corpus resources/datasets/fineweb-edu/sample-10BT  its data files at the locked SHA
#   prepare_cpt_corpus  results/data/train/cpt               FineWeb-Edu sample-10BT blocks [§2.1]
#   fetch_paper_eval    resources/paper_eval/{file}          the authors' eval_data/ files and the
#                                                            script with the homophone/OCR pairs [§7]
#   extract_homophone_pairs results/data/paper_suites/homophone_pairs.json  those 30 pairs [§5.3]
#
# The downloads read the network (or a local mirror), so they are localrules: compute nodes may be
# offline; so is extract_homophone_pairs (a parse of one small file). prepare_cpt_corpus (tokenising ~2.2 B tokens, hours) is a compute job that reads only
# the local copy (cpt.data.path, else the folder download_cpt_corpus writes). The Snakefile includes
# this file only when models.base.source is not toy (data.smk otherwise). The plan
# (dsl_llada.downloads) resolves lock entries at parse time, so a missing
# entry while offline stops the run before any job starts.

import re

from snakemake.logging import logger

from dsl_llada.downloads import DownloadError, download_plan
from dsl_llada.paper_eval import HOMOPHONE_SCRIPT, PAPER_EVAL_FILES
from dsl_llada.corpus import default_corpus_mirror

DATASET_MIRRORS = "resources/datasets"

# Runs at parse time, before any job: benchmark specs are built and checked, and every hub
# artifact this config reads is resolved to a commit SHA (an explicit `revision:` or the lock).
try:
    DOWNLOADS = download_plan(config)
except DownloadError as err:
    raise WorkflowError(str(err))
for warning in DOWNLOADS.warnings:
    logger.warning(warning)


localrules:
    download_model,
    build_benchmark,
    download_cpt_corpus,
    fetch_paper_eval,
    extract_homophone_pairs,


rule download_model:
    input:
        # a checkpoint without tokenizer files (a DSL snapshot) takes the base model's
        base_tokenizer=base_tokenizer_dir,
    output:
        model=directory("resources/models/{model}"),
    log:
        "logs/download_model/{model}.log",
    wildcard_constraints:
        model="|".join(DOWNLOADS.models) or "(?!x)x",
    cache: "omit-software"
    container:
        config["containers"]["cpu"]
    params:
        job=download_job,
    script:
        "../scripts/download_model.py"


rule build_benchmark:
    output:
        records="results/data/benchmarks/{bench}.json",
    log:
        "logs/build_benchmark/{bench}.log",
    wildcard_constraints:
        bench="|".join(BENCHES),
    container:
        config["containers"]["cpu"]
    params:
        spec=benchmark_spec,
        revision=benchmark_revision,
        offline=DOWNLOADS.hub.offline,
        mirror_root=DATASET_MIRRORS,
        cache_dir=f"{DOWNLOADS.hub.cache_dir}/datasets",
    script:
        "../scripts/build_benchmark.py"


rule download_cpt_corpus:
    output:
        corpus=directory(str(default_corpus_mirror(DATASET_MIRRORS))),
    log:
        "logs/download_cpt_corpus.log",
    container:
        config["containers"]["cpu"]
    params:
        job=DOWNLOADS.corpus,
    script:
        "../scripts/download_cpt_corpus.py"


rule prepare_cpt_corpus:
    input:
        tokenizer=model_dir("base"),
        corpus=cpt_corpus_path,
    output:
        data=directory("results/data/train/cpt"),
    log:
        "logs/prepare_cpt_corpus.log",
    container:
        config["containers"]["cpu"]
    threads: 4
    resources:
        mem_mb=16000,
        runtime=8 * 60,
    params:
        job=DOWNLOADS.corpus,
    script:
        "../scripts/prepare_cpt_corpus.py"


# The authors' files at the pinned commit (eval_data/ and the homophone script), each checked
# against its sha256 (dsl_llada.paper_eval.PAPER_EVAL_FILES); paper_eval.mirror serves offline machines.
rule fetch_paper_eval:
    output:
        file=f"{config['paper_eval']['dir']}/{{file}}",
    log:
        "logs/fetch_paper_eval/{file}.log",
    wildcard_constraints:
        file="|".join(re.escape(name) for name in PAPER_EVAL_FILES),
    container:
        config["containers"]["cpu"]
    params:
        mirror=config["paper_eval"]["mirror"],
    script:
        "../scripts/fetch_paper_eval.py"


# The authors' 30 homophone/OCR pairs [§5.3], read from their script's syntax tree (never run).
# The paper presets point robustness.correction.homophone_pairs here; a user's own file replaces it.
rule extract_homophone_pairs:
    input:
        script=paper_eval_file(HOMOPHONE_SCRIPT),
    output:
        pairs="results/data/paper_suites/homophone_pairs.json",
    log:
        "logs/extract_homophone_pairs.log",
    container:
        config["containers"]["cpu"]
    script:
        "../scripts/extract_homophone_pairs.py"
