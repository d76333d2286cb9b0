"""Pairwise LLM judge of summaries (T-judge) [protocol §4.3 "LLM-as-judge"]: optional, off by
default. Any OpenAI-compatible chat-completions endpoint (a hosted API or a local server on the
cluster); the API key is read from the environment variable the config names, never from config.

Per benchmark: ``n`` records drawn with ``random.Random(seed)``, the two summaries shown as A/B in
an order drawn per sample from the same seed, ``max_tokens`` 400; the judge returns JSON scores
1-5 for factuality, coverage, fluency and conciseness per summary and a preference A / B / tie.
Reported: win / lose / tie % of the first method and the mean axis scores of both.
"""

from __future__ import annotations

import json
import os
import random
import re
import urllib.request
from pathlib import Path

import pandas as pd

from .io import atomic_write_text
from .records import load_records

AXES = ("factuality", "coverage", "fluency", "conciseness")
INSTRUCTIONS = (
    "You compare two summaries of the same source text. Score each summary from 1 (poor) to 5 (excellent) "
    "on factuality (no claims the source does not support), coverage (the source's key points), fluency and "
    'conciseness, then say which summary is better overall: "A", "B" or "tie". Answer with JSON only: '
    '{"A": {"factuality": n, "coverage": n, "fluency": n, "conciseness": n}, "B": {...}, "preference": "A"}'
)


class JudgeError(ValueError):
    """An unusable judge setting or reply; the message names the key, endpoint or sample."""


def chat(endpoint: str, model: str, prompt: str, *, api_key: str | None, max_tokens: int, timeout: float) -> str:
    """One chat completion from an OpenAI-compatible endpoint (``<endpoint>/chat/completions``)."""
    body = json.dumps(
        {
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "max_completion_tokens": max_tokens,
            "temperature": 0,
        }
    ).encode()
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(endpoint.rstrip("/") + "/chat/completions", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.loads(response.read().decode())
    except OSError as err:
        raise JudgeError(f"judge.endpoint {endpoint}: request failed ({err})") from None
    try:
        return reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise JudgeError(f"judge.endpoint {endpoint}: not a chat-completions reply: {str(reply)[:200]}") from None


def parse_verdict(text: str) -> dict:
    """The judge's JSON (the first {...} block of the reply), checked: scores 1-5, preference A/B/tie."""
    found = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        verdict = json.loads(found.group(0)) if found else None
    except json.JSONDecodeError:
        verdict = None
    if not isinstance(verdict, dict) or verdict.get("preference") not in ("A", "B", "tie"):
        raise JudgeError(f"judge reply is not the asked JSON: {text[:200]!r}")
    for side in ("A", "B"):
        for axis in AXES:
            score = verdict.get(side, {}).get(axis)
            if not isinstance(score, (int, float)) or not 1 <= score <= 5:
                raise JudgeError(f"judge reply: {side}.{axis} = {score!r} is not a score 1-5")
    return verdict


def judge_benchmark(
    records_path,
    first: dict[str, str],
    second: dict[str, str],
    names: tuple[str, str],
    *,
    endpoint: str,
    model: str,
    api_key_env: str | None,
    n: int,
    seed: int,
    max_tokens: int,
    timeout: float,
) -> pd.DataFrame:
    """One row per judged sample: which method won and both methods' axis scores. ``first`` /
    ``second``: id -> summary of the two methods (``names``)."""
    api_key = os.environ.get(api_key_env) if api_key_env else None
    if api_key_env and not api_key:
        raise JudgeError(f"judge.api_key_env: environment variable {api_key_env} is not set")
    records = [r for r in load_records(records_path) if str(r["id"]) in first and str(r["id"]) in second]
    rng = random.Random(seed)
    picked = rng.sample(records, min(n, len(records)))
    rows = []
    for rec in picked:
        rid = str(rec["id"])
        swap = rng.random() < 0.5  # first method shown as B
        a, b = (second[rid], first[rid]) if swap else (first[rid], second[rid])
        prompt = f"{INSTRUCTIONS}\n\nSource:\n{rec['source']}\n\nSummary A:\n{a}\n\nSummary B:\n{b}"
        verdict = parse_verdict(chat(endpoint, model, prompt, api_key=api_key, max_tokens=max_tokens, timeout=timeout))
        side = {"A": names[1] if swap else names[0], "B": names[0] if swap else names[1], "tie": "tie"}
        first_side, second_side = ("B", "A") if swap else ("A", "B")
        rows.append(
            {
                "id": rid,
                "first_shown_as": first_side,
                "winner": side[verdict["preference"]],
                **{f"{names[0]}_{ax}": verdict[first_side][ax] for ax in AXES},
                **{f"{names[1]}_{ax}": verdict[second_side][ax] for ax in AXES},
            }
        )
    return pd.DataFrame(rows)


def judge_summary(per_sample: pd.DataFrame, names: tuple[str, str], benchmark: str) -> dict:
    """Win / lose / tie % of ``names[0]`` and the mean axis scores of both (T-judge's columns)."""
    n = len(per_sample)
    row = {
        "benchmark": benchmark,
        "first": names[0],
        "second": names[1],
        "n": n,
        "first_win_pct": 100 * (per_sample["winner"] == names[0]).mean() if n else None,
        "second_win_pct": 100 * (per_sample["winner"] == names[1]).mean() if n else None,
        "tie_pct": 100 * (per_sample["winner"] == "tie").mean() if n else None,
    }
    for who, name in (("first", names[0]), ("second", names[1])):
        for ax in AXES:
            row[f"{who}_{ax}"] = per_sample[f"{name}_{ax}"].mean() if n else None
    return row


def read_texts(shards: list[str]) -> dict[str, str]:
    texts = {}
    for path in shards:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts[str(row["id"])] = row["text"]
    return texts


def run_judge(jobs: list[dict], settings: dict, out_csv, out_samples_csv) -> pd.DataFrame:
    """Every (benchmark, first, second) job ({benchmark, records, first, second, first_shards,
    second_shards}) into results/tables/judge.csv and a per-sample file."""
    rows, samples = [], []
    for job in jobs:
        names = (job["first"], job["second"])
        per = judge_benchmark(
            job["records"], read_texts(job["first_shards"]), read_texts(job["second_shards"]), names, **settings
        )
        rows.append(judge_summary(per, names, job["benchmark"]))
        samples.append(per.assign(benchmark=job["benchmark"], first=names[0], second=names[1]))
    frame = pd.DataFrame(rows)
    atomic_write_text(out_csv, frame.round(2).to_csv(index=False))
    atomic_write_text(out_samples_csv, pd.concat(samples, ignore_index=True).to_csv(index=False))
    return frame
