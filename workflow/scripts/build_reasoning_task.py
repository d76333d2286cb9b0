import logging
import os
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rules build_reasoning_task (hub, locked SHA) / prepare_toy_reasoning_task (toy) ->
dsl_llada.reasoning; writes records {id, prompt, reference = gold, question}."""
import json  # noqa: E402

from dsl_llada.io import atomic_write_text  # noqa: E402

task = snakemake.wildcards.task
if snakemake.rule == "prepare_toy_reasoning_task":
    from dsl_llada.reasoning import task_records, toy_problems

    problems = toy_problems(json.loads(open(snakemake.input.records, encoding="utf-8").read()), snakemake.params.n)
else:
    if snakemake.params.offline:
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    from dsl_llada.reasoning import load_hub_problems, task_records

    problems = load_hub_problems(
        task, snakemake.params.revision, snakemake.params.cache_dir, snakemake.params.mirror_root
    )
records = task_records(task, problems)
atomic_write_text(snakemake.output.records, json.dumps(records, ensure_ascii=False, indent=1) + "\n")
logging.info("%s: %d problems", task, len(records))
