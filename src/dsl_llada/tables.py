"""Scoring and tables: merge sampling shards, score per sample, build the result tables.

Imports neither torch nor transformers, so these many small jobs start fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import metrics as M
from .io import atomic_write_json, atomic_write_text
from .records import load_records


class StageError(ValueError):
    """A stage cannot produce its output; the message names the file or record."""


def score_samples(shard_paths: list[str], records_path, thresholds: dict, out_json, out_csv, meta: dict) -> dict:
    """Merge shards, check every record is there exactly once, score per sample, aggregate.

    A shard file exists only once complete (atomic publish), and every record must be present,
    so a partial shard can never be scored as complete."""
    records = {str(r["id"]): r for r in load_records(records_path)}
    rows = {}
    for path in shard_paths:
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise StageError(f"{path}: line {n} is not valid JSON (a torn write?)") from None
            if row["id"] in rows:
                raise StageError(f"{path}: record {row['id']} appears in more than one shard")
            if row["id"] not in records:
                raise StageError(f"{path}: record {row['id']} is not in {records_path}")
            rows[row["id"]] = row
    missing = sorted(set(records) - set(rows))
    if missing:
        raise StageError(f"{len(missing)} records of {records_path} have no sample (first: {missing[0]})")
    ordered = [dict(rows[i], reference=records[i]["reference"]) for i in records]
    per_sample = M.score_records(ordered, thresholds, source=str(records_path))
    per_sample["forward_passes"] = [r["forward_passes"] for r in ordered]
    per_sample["prompt_truncated"] = [r["prompt_truncated"] for r in ordered]
    summary = {**meta, **M.aggregate(per_sample),
               "forward_passes": int(per_sample["forward_passes"].max()),
               "prompt_truncated": int(per_sample["prompt_truncated"].sum())}
    atomic_write_text(out_csv, per_sample.to_csv(index=False))
    atomic_write_json(out_json, summary)
    return summary


ROUGE_COLUMNS = ["benchmark", "method", "model", "sampler", "nfe", "forward_passes", "reference", "n", "rouge1",
                 "rouge2", "rougeL", "avg_words", "premature_pct", "repetition_pct", "degenerate_pct",
                 "degenerate_hero_pct", "empty_pct", "prompt_truncated"]


def make_rouge_tables(score_files: list[str], out_rouge, out_failures, bertscore_files: list[str] = ()) -> pd.DataFrame:
    """results/tables/rouge.csv (one row per benchmark x method x NFE) and failure_modes.csv;
    with ``bertscore_files`` (score_bertscore's CSVs) rouge.csv also has BERTScore P/R/F1 [§4.3]."""
    files = []
    for path in map(Path, score_files):  # summary files, or a benchmark's score folder of them
        # nfe<N>.json per sampling run; ar.json per AR reference model [§3.7]
        files += sorted([*path.rglob("nfe*.json"), *path.rglob("ar.json")]) if path.is_dir() else [path]
    if not files:
        raise StageError(f"no score summaries in {list(map(str, score_files))}")
    frame = pd.DataFrame([json.loads(f.read_text()) for f in files])
    frame = frame.sort_values(["benchmark", "reference", "method", "nfe"]).reset_index(drop=True)
    for col in ("rouge1", "rouge2", "rougeL", "avg_words", "premature_pct", "repetition_pct", "degenerate_pct",
                "degenerate_hero_pct", "empty_pct"):
        frame[col] = frame[col].round(2)
    columns = list(ROUGE_COLUMNS)
    if bertscore_files:
        bert = pd.concat([pd.read_csv(p) for p in bertscore_files], ignore_index=True)
        frame = frame.merge(bert, on=["benchmark", "method", "nfe"], how="left", validate="one_to_one")
        missing = frame[frame["bertscore_n"].isna()]
        if len(missing):
            raise StageError(f"no BERTScore for {missing[['benchmark', 'method', 'nfe']].to_dict('records')[:3]}")
        columns += ["bertscore_p", "bertscore_r", "bertscore_f1"]
    atomic_write_text(out_rouge, frame[columns].to_csv(index=False))
    failures = frame.melt(id_vars=["benchmark", "method", "nfe", "n"],
                          value_vars=["premature_pct", "repetition_pct", "degenerate_pct", "empty_pct"],
                          var_name="failure", value_name="pct")
    failures["failure"] = failures["failure"].str.replace("_pct", "")
    atomic_write_text(out_failures, failures.sort_values(["benchmark", "method", "nfe", "failure"]).to_csv(index=False))
    return frame


def make_robustness_table(result_files: dict[str, str], out_csv) -> pd.DataFrame:
    rows = []
    for model, path in sorted(result_files.items()):
        for row in json.loads(Path(path).read_text())["rows"]:
            rows.append({"model": model, **row})
    frame = pd.DataFrame(rows)
    for col in ("fix_rate", "clean_preserved", "selective"):
        frame[col] = frame[col].round(2)
    cols = ["model", "corruption", "rate", "fix_rate", "clean_preserved", "selective", "n", "n_corrupted_tokens",
            "n_truncated"]
    atomic_write_text(out_csv, frame[cols].to_csv(index=False))
    return frame
