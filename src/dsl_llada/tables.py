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


#: 95 % percentile bootstrap over records, 2,000 resamples (config ``metrics.bootstrap``).
DEFAULT_BOOTSTRAP = {"n": 2000, "seed": 0, "level": 0.95}


def score_samples(
    shard_paths: list[str], records_path, thresholds: dict, out_json, out_csv, meta: dict, bootstrap: dict | None = None
) -> dict:
    """Merge shards, check every record is there once per sampling seed, score per sample,
    aggregate, and give each ROUGE mean its bootstrap CI over records.

    A shard file exists only once complete (atomic publish), and every record must be present
    with the same seeds, so a partial shard can never be scored as complete. The means are over
    all records and seeds; the CI resamples records, each carrying the mean over its seeds."""
    boot = {**DEFAULT_BOOTSTRAP, **(bootstrap or {})}
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
            key = (row["id"], int(row.get("seed_index", 0)))
            if key in rows:
                raise StageError(f"{path}: record {row['id']} (seed index {key[1]}) appears more than once")
            if row["id"] not in records:
                raise StageError(f"{path}: record {row['id']} is not in {records_path}")
            rows[key] = row
    seeds = sorted({k for _, k in rows})
    if seeds and seeds != list(range(len(seeds))):
        raise StageError(f"{list(map(str, shard_paths))}: seed indices {seeds} are not 0..{len(seeds) - 1}")
    missing = sorted(f"{i} (seed index {k})" for i in records for k in seeds or [0] if (i, k) not in rows)
    if missing:
        raise StageError(f"{len(missing)} samples of {records_path} are missing (first: record {missing[0]})")
    ordered = [dict(rows[(i, k)], reference=records[i]["reference"]) for k in seeds for i in records]
    per_sample = M.score_records(ordered, thresholds, source=str(records_path))
    per_sample.insert(1, "seed_index", [r.get("seed_index", 0) for r in ordered])
    per_sample["forward_passes"] = [r["forward_passes"] for r in ordered]
    per_sample["prompt_truncated"] = [r["prompt_truncated"] for r in ordered]
    summary = {
        **meta,
        **M.aggregate(per_sample),
        "n": len(records),
        "n_seeds": len(seeds),
        "forward_passes": int(per_sample["forward_passes"].max()),
        "prompt_truncated": int(per_sample.loc[per_sample["seed_index"] == 0, "prompt_truncated"].sum()),
    }
    for col in M.ROUGE_TYPES:
        low, high = M.bootstrap_ci(
            M.per_record_means(per_sample, col).to_numpy(), boot["n"], boot["seed"], boot["level"]
        )
        summary[f"{col}_ci_low"], summary[f"{col}_ci_high"] = low, high
    summary["ci_level"] = boot["level"]
    atomic_write_text(out_csv, per_sample.to_csv(index=False))
    atomic_write_json(out_json, summary)
    return summary


ROUGE_COLUMNS = [
    "benchmark",
    "method",
    "model",
    "sampler",
    "nfe",
    "forward_passes",
    "reference",
    "n",
    "n_seeds",
    "rouge1",
    "rouge1_ci_low",
    "rouge1_ci_high",
    "rouge2",
    "rouge2_ci_low",
    "rouge2_ci_high",
    "rougeL",
    "rougeL_ci_low",
    "rougeL_ci_high",
    "ci_level",
    "avg_words",
    "premature_pct",
    "repetition_pct",
    "degenerate_pct",
    "degenerate_hero_pct",
    "empty_pct",
    "prompt_truncated",
]


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
    for col in (
        "rouge1",
        "rouge2",
        "rougeL",
        "rouge1_ci_low",
        "rouge1_ci_high",
        "rouge2_ci_low",
        "rouge2_ci_high",
        "rougeL_ci_low",
        "rougeL_ci_high",
        "avg_words",
        "premature_pct",
        "repetition_pct",
        "degenerate_pct",
        "degenerate_hero_pct",
        "empty_pct",
    ):
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
    failures = frame.melt(
        id_vars=["benchmark", "method", "nfe", "n"],
        value_vars=["premature_pct", "repetition_pct", "degenerate_pct", "empty_pct"],
        var_name="failure",
        value_name="pct",
    )
    failures["failure"] = failures["failure"].str.replace("_pct", "")
    atomic_write_text(out_failures, failures.sort_values(["benchmark", "method", "nfe", "failure"]).to_csv(index=False))
    return frame


def _model_rows(result_files: dict[str, str]) -> pd.DataFrame:
    """The ``rows`` of each model's result JSON, in the given model order, with a ``model`` column."""
    rows = []
    for model, path in result_files.items():
        for row in json.loads(Path(path).read_text())["rows"]:
            rows.append({"model": model, **row})
    return pd.DataFrame(rows)


def make_robustness_table(result_files: dict[str, str], out_csv) -> pd.DataFrame:
    """results/tables/robustness.csv: one row per model, corruption, rate and ``input`` (``wte``,
    the paper's test; ``converter``, the DSL diagnostic). Rows written before ``input`` existed
    were all read through wte."""
    frame = _model_rows(dict(sorted(result_files.items())))
    frame["input"] = frame["input"].fillna("wte") if "input" in frame else "wte"
    for col in ("fix_rate", "clean_preserved", "selective"):
        frame[col] = frame[col].round(2)
    cols = [
        "model",
        "input",
        "corruption",
        "rate",
        "fix_rate",
        "clean_preserved",
        "selective",
        "n",
        "n_corrupted_tokens",
        "n_truncated",
    ]
    atomic_write_text(out_csv, frame[cols].to_csv(index=False))
    return frame


BUCKET_COLUMNS = [
    "benchmark",
    "nfe",
    "method",
    "baseline",
    "n",
    *(f"{b}_pct" for b in M.BUCKETS),
    "mean_delta_r1",
    "sde_total_pct",
    *(f"{b}_n" for b in M.BUCKETS),
]


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
            # one value per record: the mean over its sampling seeds (the SDE runs several)
            a = M.per_record_means(pd.read_csv(ours[nfe], dtype={"id": str}), "rouge1")
            b = M.per_record_means(pd.read_csv(theirs[nfe], dtype={"id": str}), "rouge1")
            if set(a.index) != set(b.index):
                raise StageError(
                    f"{ours[nfe]} and {theirs[nfe]} score different sample ids "
                    f"({len(set(a.index) ^ set(b.index))} differ)"
                )
            res = M.win_buckets((a - b.reindex(a.index)).tolist())
            rows.append(
                {
                    "benchmark": bench_dir.name,
                    "nfe": nfe,
                    "method": method,
                    "baseline": baseline,
                    "n": res["n"],
                    **{f"{k}_pct": round(v, 2) for k, v in res["pct"].items()},
                    "mean_delta_r1": round(res["mean_delta_r1"], 2),
                    "sde_total_pct": round(res["sde_total_pct"], 2),
                    **{f"{k}_n": v for k, v in res["counts"].items()},
                }
            )
    if not rows:
        raise StageError(
            f"no NFE has per-sample scores of both {method} and {baseline} in {list(map(str, score_dirs))}"
        )
    frame = pd.DataFrame(rows, columns=BUCKET_COLUMNS)
    atomic_write_text(out_csv, frame.to_csv(index=False))
    return frame


CLAIM_COLUMNS = [
    "claim",
    "benchmark",
    "setting",
    "metric",
    "a",
    "b",
    "a_value",
    "b_value",
    "difference",
    "ci_low",
    "ci_high",
    "ci_level",
    "n",
    "unit",
]


def _per_sample(score_dir: Path, method: str, nfe: int) -> pd.DataFrame:
    path = score_dir / method / f"nfe{nfe}.csv"
    if not path.is_file():
        raise StageError(f"{path}: missing (claims need {method} at NFE {nfe}; is it in sampling.methods/nfe?)")
    return pd.read_csv(path, dtype={"id": str})


def sampling_claims(
    score_dirs: dict[str, str], method: str, baselines: list[str], nfes: list[int], bootstrap: dict | None = None
) -> list[dict]:
    """The paper's sampling claim per benchmark and NFE: ROUGE-1 of ``method`` (DSL-SDE) minus
    each baseline's, with a paired bootstrap CI over records (each record's ROUGE-1 averaged
    over its sampling seeds first) [protocol §4.2, §6.2(g)]."""
    boot = {**DEFAULT_BOOTSTRAP, **(bootstrap or {})}
    rows = []
    for bench, folder in score_dirs.items():
        for nfe in nfes:
            ours = M.per_record_means(_per_sample(Path(folder), method, nfe), "rouge1")
            for base in baselines:
                theirs = M.per_record_means(_per_sample(Path(folder), base, nfe), "rouge1")
                diff, low, high = M.paired_bootstrap_ci(ours, theirs, boot["n"], boot["seed"], boot["level"])
                rows.append(
                    {
                        "claim": "sampling",
                        "benchmark": bench,
                        "setting": f"nfe{nfe}",
                        "metric": "rouge1",
                        "a": method,
                        "b": base,
                        "a_value": ours.mean(),
                        "b_value": theirs.mean(),
                        "difference": diff,
                        "ci_low": low,
                        "ci_high": high,
                        "ci_level": boot["level"],
                        "n": len(ours),
                        "unit": "record",
                    }
                )
    return rows


def robustness_claims(
    result_files: dict[str, str],
    model: str,
    against: list[str],
    corruption: str,
    rate: float,
    bootstrap: dict | None = None,
) -> list[dict]:
    """The paper's robustness claim: ``model``'s (DSL's) fix rate and clean-preserved rate in one
    forward pass at one corruption setting, minus each other model's, with a paired bootstrap CI
    over the texts all of them score [protocol §5.1, §6.2(b)-(c)]."""
    boot = {**DEFAULT_BOOTSTRAP, **(bootstrap or {})}

    def per_text(name: str, metric: str) -> pd.Series:
        path = result_files[name]
        for row in json.loads(Path(path).read_text())["rows"]:
            wte = row.get("input", "wte") == "wte"  # the paper's test, not the converter diagnostic
            if wte and row["corruption"] == corruption and abs(row["rate"] - rate) < 1e-9:
                if "per_text" not in row:
                    raise StageError(f"{path}: {corruption} {rate} has no per-text values (rerun eval_robustness)")
                values = pd.Series(row["per_text"][metric], index=[str(i) for i in row["per_text"]["id"]], dtype=float)
                return values.dropna() * 100
        raise StageError(f"{path}: no {corruption} corruption at rate {rate} (robustness.*_rates)")

    rows = []
    for metric in ("fix_rate", "clean_preserved"):
        ours = per_text(model, metric)
        for other in against:
            theirs = per_text(other, metric)
            shared = ours.index.intersection(theirs.index)
            diff, low, high = M.paired_bootstrap_ci(
                ours[shared], theirs[shared], boot["n"], boot["seed"], boot["level"]
            )
            rows.append(
                {
                    "claim": "robustness",
                    "benchmark": "",
                    "setting": f"{corruption} {rate:g}",
                    "metric": metric,
                    "a": model,
                    "b": other,
                    "a_value": ours[shared].mean(),
                    "b_value": theirs[shared].mean(),
                    "difference": diff,
                    "ci_low": low,
                    "ci_high": high,
                    "ci_level": boot["level"],
                    "n": len(shared),
                    "unit": "text",
                }
            )
    return rows


def make_claims_table(rows: list[dict], out_csv) -> pd.DataFrame:
    """results/tables/claims.csv: one row per measured difference (a - b) with its CI."""
    if not rows:
        raise StageError("no claim could be measured (see the claims section of the config)")
    frame = pd.DataFrame(rows, columns=CLAIM_COLUMNS)
    for col in ("a_value", "b_value", "difference", "ci_low", "ci_high"):
        frame[col] = frame[col].astype(float).round(2)
    atomic_write_text(out_csv, frame.to_csv(index=False))
    return frame


def make_correction_table(result_files: dict[str, str], out_csv) -> pd.DataFrame:
    """T-correction, realistic suites [protocol §5.2, §5.3]: one row per model × suite × group, in %."""
    frame = _model_rows(result_files)
    for col in ("fix_rate", "clean_preserved", "over_correct", "selective"):
        frame[col] = (frame[col] * 100).round(2)
    cols = [
        "model",
        "suite",
        "group_by",
        "group",
        "fix_rate",
        "clean_preserved",
        "over_correct",
        "selective",
        "n_texts",
    ]
    atomic_write_text(out_csv, frame[cols].to_csv(index=False))
    return frame


def make_context_table(result_files: dict[str, str], out_csv) -> pd.DataFrame:
    """T-context [protocol §5.4, ``tab:context_robust``]: masked-token accuracy (%) per model, mask rate
    and corruption % of the visible tokens."""
    frame = _model_rows(result_files)
    frame["accuracy"] = (frame["accuracy"] * 100).round(2)
    cols = ["model", "mask_rate", "corrupt_pct", "accuracy", "n_masked", "n_texts"]
    atomic_write_text(out_csv, frame[cols].to_csv(index=False))
    return frame


def _md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _ci(value: float, low: float, high: float) -> str:
    return f"{value:.1f} [{low:.1f}, {high:.1f}]"


def markdown_summary(rouge_csv, robustness_csv, claims_csv, out_md) -> str:
    """results/tables/summary.md: the run's ROUGE-1, claims and robustness tables in Markdown,
    written from the CSVs so a README section pasted from it cannot drift from the run."""
    rouge = pd.read_csv(rouge_csv)
    level = int(round(float(rouge["ci_level"].iloc[0]) * 100))
    text = "".join(
        [
            *_md_sweep(rouge[~rouge["reference"]], level),
            *_md_reference_rows(rouge[rouge["reference"]]),
            *_md_claims(pd.read_csv(claims_csv, keep_default_na=False), level),
            *_md_robustness(pd.read_csv(robustness_csv)),
        ]
    )
    atomic_write_text(out_md, text)
    return text


def _md_sweep(sweep: pd.DataFrame, level: int) -> list[str]:
    """ROUGE-1 with its CI per benchmark x method x NFE, repetition and length at the top NFE."""
    nfes = sorted(sweep["nfe"].unique())
    rows = []
    for (bench, method), part in sweep.groupby(["benchmark", "method"], sort=True):
        cells = part.set_index("nfe")
        top = cells.loc[max(nfes)]
        rows.append(
            [bench, method, int(cells["n_seeds"].max())]
            + [
                _ci(cells.loc[n, "rouge1"], cells.loc[n, "rouge1_ci_low"], cells.loc[n, "rouge1_ci_high"])
                if n in cells.index
                else ""
                for n in nfes
            ]
            + [f"{top['repetition_pct']:.0f}", f"{top['avg_words']:.1f}"]
        )
    header = ["benchmark", "method", "seeds", *(f"NFE {n}" for n in nfes)]
    header += [f"4-gram rep % @{max(nfes)}", f"words @{max(nfes)}"]
    return [
        f"ROUGE-1, mean over records and sampling seeds [{level} % bootstrap CI over records]\n",
        _md_table(header, rows),
    ]


def _md_reference_rows(ref: pd.DataFrame) -> list[str]:
    """The reference rows (steps = generation length, AR models), if any."""
    if not len(ref):
        return []
    rows = [
        [r.benchmark, r.method, r.nfe, _ci(r.rouge1, r.rouge1_ci_low, r.rouge1_ci_high), f"{r.avg_words:.1f}"]
        + [f"{r.premature_pct:.0f}"]
        for r in ref.itertuples()
    ]
    return [
        "\nReference rows (steps = generation length, one token per forward)\n",
        _md_table(["benchmark", "method", "steps", "ROUGE-1", "words", "premature %"], rows),
    ]


def _md_claims(claims: pd.DataFrame, level: int) -> list[str]:
    """The paper's two claims as differences a - b with their paired CIs."""
    rows = [
        [c.claim, c.benchmark, c.setting, c.metric, c.a, c.b, f"{c.a_value:.1f}", f"{c.b_value:.1f}"]
        + [_ci(c.difference, c.ci_low, c.ci_high)]
        for c in claims.itertuples()
    ]
    header = ["claim", "benchmark", "setting", "metric", "a", "b", "a value", "b value", "a - b [CI]"]
    return [f"\nClaims: difference a - b with its paired {level} % bootstrap CI\n", _md_table(header, rows)]


def _md_robustness(rob: pd.DataFrame) -> list[str]:
    """Fix and clean-preserved rates of one forward pass per model, corruption and rate."""
    rows = [
        [r.model, r.input, r.corruption, f"{r.rate:g}", f"{r.fix_rate:.1f}", f"{r.clean_preserved:.1f}"]
        for r in rob.itertuples()
    ]
    header = ["model", "input", "corruption", "rate", "fix %", "clean preserved %"]
    note = "input wte: the paper's test; converter: DSL models only, the text read as fully revealed tokens"
    return [f"\nOne forward pass on corrupted text ({note})\n", _md_table(header, rows)]
