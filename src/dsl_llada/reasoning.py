"""Reasoning with standard remasking [protocol §6.2(a), §3.4]: GSM8K (the full 1,319-problem test
split) and MATH-500, generation length 256, 64 steps, one block, greedy, with the authors'
prompts, gold answers and answer extraction (fengsxy/DSL-LLaDA ``eval_reasoning.py`` at commit
33f2925, re-implemented here):

* GSM8K: ``openai/gsm8k`` config main, split test; gold = the text after "####", commas removed.
  The answer is the number after "####", else the number after "answer/result is|=", else the
  last number of the output.
* MATH-500: the 5,000 test problems of ``EleutherAI/hendrycks_math`` (7 configs concatenated in
  the order below), ``random.seed(42); random.sample(range(5000), 500)``; gold = the last
  ``\\boxed{...}`` of the solution. The answer is the last ``\\boxed{...}`` of the output, else the
  text after "answer/result is|=" up to a full stop.
* Both compare after normalising: lower case; commas, "$", "%" and spaces removed; a trailing "."
  dropped.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pandas as pd

from .io import atomic_write_text

MATH_CONFIGS = (
    "algebra",
    "counting_and_probability",
    "geometry",
    "intermediate_algebra",
    "number_theory",
    "prealgebra",
    "precalculus",
)
PROMPTS = {
    "gsm8k": "Solve the following math problem step by step. Show your work and put your final answer after ####."
    "\n\nQuestion: {question}\n\nAnswer:",
    "math500": "Solve the following math problem. Show your work and put your final answer in \\boxed{{}}."
    "\n\nProblem: {question}\n\nSolution:",
    # toy only: copy a number out of a toy document (the toy world has no arithmetic)
    "toy_numbers": "Read the text and give the first number in it after ####.\n\n{question}\n\nAnswer:",
}
EXTRACTOR = {"gsm8k": "number", "math500": "boxed", "toy_numbers": "number"}

_NUMBER = r"[+-]?[\d,]+\.?\d*"
# one level of nested braces inside \boxed{...}, as the authors' pattern
_BOXED = re.compile(r"\\boxed\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")


class ReasoningError(ValueError):
    """Unusable reasoning task, records or samples; the message names the key, file or record."""


def normalize_answer(text: str) -> str:
    """[protocol §6.2(a)] the authors' answer normalisation before exact match."""
    text = text.strip().lower()
    for ch in (",", "$", "%", " "):
        text = text.replace(ch, "")
    return text.rstrip(".")


def extract_number(output: str) -> str:
    """GSM8K answer of a generation: after "####", else after "answer/result is|=", else the last
    number; commas removed [protocol §6.2(a)]."""
    for pattern, flags in (
        (r"####\s*(" + _NUMBER + ")", 0),
        (r"(?:answer|result)\s*(?:is|=)\s*\$?(" + _NUMBER + ")", re.IGNORECASE),
    ):
        found = re.search(pattern, output, flags)
        if found:
            return found.group(1).replace(",", "")
    numbers = re.findall(_NUMBER, output)
    return numbers[-1].replace(",", "") if numbers else ""


def extract_boxed(output: str) -> str:
    """MATH answer of a generation: the last \\boxed{...}, else the text after "answer/result
    is|=" up to a full stop [protocol §6.2(a)]."""
    boxed = _BOXED.findall(output)
    if boxed:
        return boxed[-1].strip()
    found = re.search(r"(?:answer|result)\s*(?:is|=)\s*(.+?)(?:\.|$)", output, re.IGNORECASE)
    return found.group(1).strip() if found else ""


def gsm8k_gold(answer: str) -> str:
    found = re.search(r"####\s*(.+)", answer)
    return found.group(1).strip().replace(",", "") if found else ""


def math_gold(solution: str) -> str:
    boxed = _BOXED.findall(solution)
    return boxed[-1].strip() if boxed else ""


def task_records(task: str, problems: list[dict]) -> list[dict]:
    """Records {id, prompt, reference (= gold), question} for the sampling code."""
    if task not in PROMPTS:
        raise ReasoningError(f"reasoning.tasks: unknown task {task!r} (known: {sorted(PROMPTS)})")
    return [
        {
            "id": str(p["id"]),
            "prompt": PROMPTS[task].format(question=p["question"]),
            "reference": p["gold"],
            "question": p["question"],
        }
        for p in problems
    ]


def reasoning_mirror(task: str, root: str | Path = "resources/datasets", config: str | None = None) -> Path:
    """Where :func:`load_hub_problems` looks for a local copy of a task's test split (a folder
    written by ``Dataset.save_to_disk``), as the benchmarks' mirrors: ``<root>/gsm8k/test`` and
    ``<root>/hendrycks_math/<config>/test``."""
    if task == "gsm8k":
        return Path(root) / "gsm8k" / "test"
    return Path(root) / "hendrycks_math" / str(config) / "test"


def _load_split(task, hub_id, config, revision, cache_dir, mirror_root):
    import datasets

    mirror = reasoning_mirror(task, mirror_root, config)
    if mirror.exists():
        try:
            return datasets.load_from_disk(str(mirror))
        except Exception as exc:
            raise ReasoningError(f"reasoning.tasks: {task}: {mirror} is not a folder written by save_to_disk: {exc}")
    try:
        return datasets.load_dataset(hub_id, config, split="test", revision=revision, cache_dir=cache_dir)
    except Exception as exc:
        raise ReasoningError(
            f"reasoning.tasks: {task}: no local copy at {mirror} and {hub_id!r} config {config!r} split test "
            f'could not be loaded at {revision}: {exc}. On a machine with network run `python -c "import '
            f"datasets; datasets.load_dataset({hub_id!r}, {config!r}, split='test', revision={revision!r})"
            f'.save_to_disk({str(mirror)!r})"` and copy the folder here'
        ) from exc


def load_hub_problems(
    task: str, revision: str, cache_dir: str | None = None, mirror_root: str | Path = "resources/datasets"
) -> list[dict]:
    """The problems of ``task`` from a local save_to_disk mirror (:func:`reasoning_mirror` under
    ``mirror_root``) if there is one, else from the hub at the locked ``revision`` (datasets)."""
    import datasets

    if task == "gsm8k":
        split = _load_split(task, "openai/gsm8k", "main", revision, cache_dir, mirror_root)
        return [{"id": i, "question": r["question"], "gold": gsm8k_gold(r["answer"])} for i, r in enumerate(split)]
    if task == "math500":
        full = datasets.concatenate_datasets(
            [_load_split(task, "EleutherAI/hendrycks_math", c, revision, cache_dir, mirror_root) for c in MATH_CONFIGS]
        )
        random.seed(42)  # the authors' global-RNG draw, reproduced exactly
        picked = random.sample(range(len(full)), min(500, len(full)))
        return [{"id": i, "question": full[i]["problem"], "gold": math_gold(full[i]["solution"])} for i in picked]
    raise ReasoningError(f"reasoning.tasks: {task!r} has no hub source (gsm8k, math500)")


def toy_problems(benchmark_records: list[dict], n: int) -> list[dict]:
    """Toy stand-in problems: the first ``n`` toy documents that contain a number; gold = that
    number (a copy task: the toy world has no arithmetic)."""
    out = []
    for rec in benchmark_records:
        found = re.search(r"\b\d+\b", rec["source"])
        if found:
            out.append({"id": rec["id"], "question": rec["source"], "gold": found.group(0)})
        if len(out) == n:
            break
    if not out:
        raise ReasoningError("toy reasoning: no toy document contains a number")
    return out


def score_reasoning(runs: list[dict], out_csv: str | Path, out_samples_csv: str | Path) -> pd.DataFrame:
    """Accuracy per (model, task) run ({model, task, records, shards}) by normalised exact match."""
    rows, per_sample = [], []
    for run in runs:
        records = {str(r["id"]): r for r in json.loads(Path(run["records"]).read_text(encoding="utf-8"))}
        samples = {}
        for path in run["shards"]:
            for line in Path(path).read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    samples[str(row["id"])] = row
        missing = sorted(set(records) - set(samples))
        if missing:
            raise ReasoningError(
                f"{run['task']}/{run['model']}: {len(missing)} problems have no sample (first: {missing[0]})"
            )
        extract = extract_boxed if EXTRACTOR[run["task"]] == "boxed" else extract_number
        correct = 0
        for rid, rec in records.items():
            pred = extract(samples[rid]["text"])
            ok = normalize_answer(pred) == normalize_answer(rec["reference"])
            correct += ok
            per_sample.append(
                {
                    "task": run["task"],
                    "model": run["model"],
                    "id": rid,
                    "gold": rec["reference"],
                    "pred": pred,
                    "correct": ok,
                }
            )
        rows.append(
            {
                "task": run["task"],
                "model": run["model"],
                "n": len(records),
                "correct": correct,
                "accuracy_pct": round(100 * correct / len(records), 2),
            }
        )
    frame = pd.DataFrame(rows)
    atomic_write_text(out_csv, frame.to_csv(index=False))
    atomic_write_text(out_samples_csv, pd.DataFrame(per_sample).to_csv(index=False))
    return frame
