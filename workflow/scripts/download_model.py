import logging
import os
import sys

sys.stderr = open(snakemake.log[0], "a", buffering=1)  # tqdm and warnings go to the rule log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

"""Adapter: rule download_model -> dsl_llada.hub (resolve_revision, download_model, manifests).

resources/models/{model} is a self-describing model folder at the locked commit SHA:
  * the snapshot's files (safetensors, configs, tokenizer; never pickles), hard-linked from the
    hub cache (copied across file systems) or from a local mirror. A hub repository's own *.py
    files come along with the snapshot but never run: the model is dsl_llada.llada and the
    tokenizer loads from tokenizer.json;
  * dsl_llada_backbone.json: family, special ids (checked against the tokenizer), hub id, SHA;
  * dsl_llada_download.meta.json: provenance (git commit, packages, source, counts);
  * manifest.sha256.json (last): sha256 of every file, for later verification.
The hub-cache snapshot gets its own manifest under <cache_dir>/manifests/ on first download;
every reuse of that snapshot is verified against it first.
"""
import json  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

JOB = dict(snakemake.params.job)
if JOB["offline"]:
    os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub is imported

from dsl_llada.backbone import BACKBONE_META, load_tokenizer, special_ids_from_tokenizer  # noqa: E402
from dsl_llada.hub import (  # noqa: E402
    PICKLE_WEIGHT_SUFFIXES,
    HubError,
    download_model,
    resolve_revision,
    verify_manifest,
    write_manifest,
)
from dsl_llada.io import atomic_write_text, write_provenance  # noqa: E402

log = logging.getLogger("download_model")
MANIFEST = "manifest.sha256.json"
PROVENANCE = "dsl_llada_download"  # -> dsl_llada_download.meta.json
OWN_FILES = {MANIFEST, f"{PROVENANCE}.meta.json", BACKBONE_META}  # written here, never linked
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model")


def materialise(src: Path, out: Path) -> tuple[int, int]:
    """Hard-link (or copy) every file of ``src`` into ``out``; pickled weights are skipped."""
    n_files, n_bytes = 0, 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if ".cache" in rel.parts or not path.is_file() or rel.as_posix() in OWN_FILES:
            continue
        if path.suffix.lower() in PICKLE_WEIGHT_SUFFIXES:
            log.warning("skipped pickled weights %s (never loaded)", rel)
            continue
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        real = path.resolve()
        try:
            os.link(real, dest)
        except OSError:
            shutil.copy2(real, dest)
        n_files += 1
        n_bytes += dest.stat().st_size
    return n_files, n_bytes


def main(job: dict, out: Path, base_tokenizer: str | None) -> None:
    name, hub_id, sha = job["name"], job["hub_id"], job["revision"]
    if job["revision_from"] != "config":
        # never the network here: the SHA was fixed (and written) when the DAG was built
        locked = resolve_revision(job["lock_file"], hub_id, "model", offline=True, update=False)
        if locked != sha:
            raise HubError(
                f"{job['lock_file']} now pins {hub_id!r} to {locked}, but this job was planned with {sha}; "
                "run snakemake again"
            )
    cache_dir = Path(job["cache_dir"])
    if job.get("mirror"):
        folder = download_model(hub_id, sha, cache_dir, local_mirror=job["mirror"])
        source = {"kind": "local mirror", "path": str(job["mirror"])}
    else:
        try:
            folder = download_model(hub_id, sha, cache_dir)
        except HubError as err:
            if not job["offline"]:
                raise
            raise HubError(
                f"models.{name}: offline and {hub_id}@{sha} is not in the hub cache {cache_dir}. On a machine "
                f"with network run `hf download {hub_id} --revision {sha} --local-dir <dir>` (older "
                f"huggingface-hub: huggingface-cli), copy <dir> here and set models.{name}.path: <dir>, "
                f"or run this rule once online (hub.offline: false). Cause: {err}"
            ) from None
        reuse = cache_dir / "manifests" / f"{hub_id.replace('/', '--')}@{sha}.sha256.json"
        if reuse.exists():
            verify_manifest(folder, reuse)
            log.info("hub cache snapshot %s verified against %s", folder, reuse)
        else:
            write_manifest(folder, reuse)
            log.info("hub cache snapshot %s: manifest written to %s", folder, reuse)
        source = {"kind": "hub", "snapshot": str(folder), "snapshot_manifest": str(reuse)}

    out.mkdir(parents=True, exist_ok=True)
    n_files, n_bytes = materialise(Path(folder), out)
    log.info("%s@%s: %d files, %.2f GB in %s", hub_id, sha, n_files, n_bytes / 1e9, out)

    tokenizer_from = None
    if not any((out / f).exists() for f in TOKENIZER_FILES):
        if not base_tokenizer:
            raise HubError(f"{hub_id}@{sha} has no tokenizer files ({', '.join(TOKENIZER_FILES)})")
        for fname in TOKENIZER_FILES:  # a DSL snapshot: LLaDA's vocabulary is unchanged [§1.1]
            if (Path(base_tokenizer) / fname).exists():
                shutil.copyfile(Path(base_tokenizer) / fname, out / fname)
        tokenizer_from = str(base_tokenizer)
        log.warning("%s has no tokenizer files: took the base model's from %s", hub_id, base_tokenizer)

    meta = {"family": job["family"], "hub_id": hub_id, "revision": sha, "dtype": job["dtype"]}
    if job.get("special_tokens"):
        tokenizer = load_tokenizer(out)  # tokenizer.json only: no remote code, no prompt
        special = special_ids_from_tokenizer(tokenizer, job["special_tokens"], job.get("special_ids"))
        meta["special_ids"] = special.as_dict()  # checked: tokenizer ids == models.<name>.special_ids
        log.info("special ids %s match the config", meta["special_ids"])
    else:
        log.warning("models.%s.special_tokens not set: the special ids were not checked", name)
    # atomic (a new inode): never writes through a hard link into the cache or the mirror
    atomic_write_text(out / BACKBONE_META, json.dumps(meta, indent=1) + "\n")

    write_provenance(
        out / PROVENANCE,
        config=job,
        model_revision=sha,
        extra={"hub_id": hub_id, "source": source, "files": n_files, "bytes": n_bytes,
               "tokenizer_from": tokenizer_from, "backbone_meta": meta},
    )
    files = write_manifest(out, out / MANIFEST)  # last: covers every file above
    log.info("manifest of %d files written to %s", len(files), out / MANIFEST)


main(JOB, Path(snakemake.output.model), snakemake.input.get("base_tokenizer") or None)
