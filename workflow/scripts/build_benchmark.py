import logging
import os
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule build_benchmark -> dsl_llada.benchmarks.load_rows + build_records [protocol §4.1].

Rows come from a local mirror (resources/datasets/<name>/<split>, a save_to_disk folder) or
from the hub at the commit SHA locked in config/hub.lock.yaml. The records go to
results/data/benchmarks/<name>.json; the BuildReport counts, the hub id and the SHA go to its
.meta.json sidecar (dsl_llada.io.write_provenance).
"""
p = snakemake.params
if p.offline:  # before datasets / huggingface_hub are imported
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"

from dsl_llada.benchmarks import (  # noqa: E402
    PARQUET_BRANCH,
    SCRIPT_DATASETS,
    BenchmarkSpec,
    build_records,
    default_mirror_path,
    load_rows,
)
from dsl_llada.io import atomic_write_json, write_provenance  # noqa: E402

log = logging.getLogger("build_benchmark")
spec = BenchmarkSpec.from_dict(p.spec, where=f"benchmarks.specs.{snakemake.wildcards.bench}")
mirror = default_mirror_path(spec, p.mirror_root)
source = str(mirror) if mirror.exists() else f"hub {spec.hub_id}@{p.revision}"
log.info("%s: rows from %s", spec.name, source)
rows = load_rows(spec, revision=p.revision, offline=p.offline, mirror_root=p.mirror_root, cache_dir=p.cache_dir)
records, report = build_records(rows, spec)
atomic_write_json(snakemake.output.records, records)
write_provenance(
    snakemake.output.records,
    config=spec.to_dict(),
    seed=spec.seed,
    extra={
        "hub_id": spec.hub_id,
        "config_name": spec.config_name,
        "split": spec.split,
        "dataset_revision": p.revision,
        # script datasets: rows from the parquet conversion (its SHA is in the loaded files' cache paths / log)
        "rows_from": PARQUET_BRANCH if spec.hub_id in SCRIPT_DATASETS and not mirror.exists() else "locked revision",
        "source": source,
        "build_report": report.to_dict(),
    },
)
log.info("%s: %s", spec.name, report.to_dict())
