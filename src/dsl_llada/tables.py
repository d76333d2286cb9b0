"""Scoring and tables: merge sampling shards, score per sample, build the result tables.

Imports neither torch nor transformers, so these many small jobs start fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import metrics as M
from .io import atomic_write_json, atomic_write_text
from .errors import StageError
from .records import load_records


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
            if not isinstance(row, dict) or "id" not in row:
                raise StageError(f"{path}: line {n} is not a sample row with an 'id'")
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


def make_rouge_tables(score_files: list[str], out_rouge, out_failures) -> pd.DataFrame:
    """results/tables/rouge.csv (one row per benchmark x method x NFE) and failure_modes.csv."""
    files = []
    for path in map(Path, score_files):  # summary files, or a benchmark's score folder of them
        files += sorted(path.rglob("nfe*.json")) if path.is_dir() else [path]
    if not files:
        raise StageError(f"no score summaries in {list(map(str, score_files))}")
    frame = pd.DataFrame([json.loads(f.read_text()) for f in files])
    frame = frame.sort_values(["benchmark", "reference", "method", "nfe"]).reset_index(drop=True)
    for col in ("rouge1", "rouge2", "rougeL", "avg_words", "premature_pct", "repetition_pct", "degenerate_pct",
                "degenerate_hero_pct", "empty_pct"):
        frame[col] = frame[col].round(2)
    atomic_write_text(out_rouge, frame[ROUGE_COLUMNS].to_csv(index=False))
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


BUCKET_COLUMNS = ["benchmark", "nfe", "method", "baseline", "n", *(f"{b}_pct" for b in M.BUCKETS),
                  "mean_delta_r1", "sde_total_pct", *(f"{b}_n" for b in M.BUCKETS)]


def make_buckets_table(score_dirs: list[str], method: str, baseline: str, out_csv) -> pd.DataFrame:
    """T-buckets [protocol §4.3, ``tab:buckets_nfe64``]: per-sample ΔR-1 = R-1(method) − R-1(baseline)
    bucketed big win / win / tie / loss / big loss, one row per benchmark × NFE that both methods ran.

    Reads the per-sample score files ``<score dir>/<method>/nfe<N>.csv`` written by ``score_samples``;
    samples are paired by id, and both files must hold the same ids."""
    rows = []
    for bench_dir in map(Path, score_dirs):
        ours = {int(p.stem[3:]): p for p in (bench_dir / method).glob("nfe*.csv")}
        theirs = {int(p.stem[3:]): p for p in (bench_dir / baseline).glob("nfe*.csv")}
        for nfe in sorted(set(ours) & set(theirs)):
            a = pd.read_csv(ours[nfe], dtype={"id": str}).set_index("id")["rouge1"]
            b = pd.read_csv(theirs[nfe], dtype={"id": str}).set_index("id")["rouge1"]
            if set(a.index) != set(b.index):
                raise StageError(f"{ours[nfe]} and {theirs[nfe]} score different sample ids "
                                 f"({len(set(a.index) ^ set(b.index))} differ)")
            res = M.win_buckets((a - b.reindex(a.index)).tolist())
            rows.append({"benchmark": bench_dir.name, "nfe": nfe, "method": method, "baseline": baseline,
                         "n": res["n"], **{f"{k}_pct": round(v, 2) for k, v in res["pct"].items()},
                         "mean_delta_r1": round(res["mean_delta_r1"], 2), "sde_total_pct": round(res["sde_total_pct"], 2),
                         **{f"{k}_n": v for k, v in res["counts"].items()}})
    if not rows:
        raise StageError(f"no NFE has per-sample scores of both {method} and {baseline} in {list(map(str, score_dirs))}")
    frame = pd.DataFrame(rows, columns=BUCKET_COLUMNS)
    atomic_write_text(out_csv, frame.to_csv(index=False))
    return frame


def make_correction_table(result_files: dict[str, str], out_csv) -> pd.DataFrame:
    """T-correction, realistic suites [protocol §5.2, §5.3]: one row per model × suite × group, in %."""
    rows = []
    for model, path in result_files.items():
        for row in json.loads(Path(path).read_text())["rows"]:
            rows.append({"model": model, **row})
    frame = pd.DataFrame(rows)
    for col in ("fix_rate", "clean_preserved", "over_correct", "selective"):
        frame[col] = (frame[col] * 100).round(2)
    cols = ["model", "suite", "group_by", "group", "fix_rate", "clean_preserved", "over_correct", "selective",
            "n_texts"]
    atomic_write_text(out_csv, frame[cols].to_csv(index=False))
    return frame


def make_context_table(result_files: dict[str, str], out_csv) -> pd.DataFrame:
    """T-context [protocol §5.4, ``tab:context_robust``]: masked-token accuracy (%) per model, mask rate
    and corruption % of the visible tokens."""
    rows = []
    for model, path in result_files.items():
        for row in json.loads(Path(path).read_text())["rows"]:
            rows.append({"model": model, **row})
    frame = pd.DataFrame(rows)
    frame["accuracy"] = (frame["accuracy"] * 100).round(2)
    cols = ["model", "mask_rate", "corrupt_pct", "accuracy", "n_masked", "n_texts"]
    atomic_write_text(out_csv, frame[cols].to_csv(index=False))
    return frame
