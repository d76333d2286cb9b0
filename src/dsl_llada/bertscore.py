"""BERTScore of summaries [protocol §4.3]: the `bert-score` package with the authors' settings
(roberta-large, lang en, rescale_with_baseline, batch 32), computed on non-empty outputs only,
P/R/F1 x 100. The model is a pinned local folder (GPT-2-large-style hub download, or the toy's
tiny RoBERTa), so ``model_type`` is a path and the layer and baseline file are named explicitly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .io import atomic_write_text
from .records import load_records


class BertScoreError(ValueError):
    """Unusable BERTScore settings, model folder or inputs; the message names the key or file."""


def baseline_file(name: str, lang: str = "en") -> Path:
    """The rescale baseline the package ships for model ``name`` (e.g. roberta-large)."""
    import bert_score

    path = Path(bert_score.__file__).parent / "rescale_baseline" / lang / f"{name}.tsv"
    if not path.exists():
        raise BertScoreError(f"bertscore.baseline: bert-score ships no baseline {lang}/{name}.tsv")
    return path


def max_input_tokens(model_dir: str | Path) -> int:
    """The longest input the model in ``model_dir`` takes, from its config.json:
    max_position_embeddings, less pad_token_id + 1 for the RoBERTa family (whose positions start
    after the padding index: 514 -> 512 for roberta-large)."""
    cfg = json.loads((Path(model_dir) / "config.json").read_text())
    if "max_position_embeddings" not in cfg:
        raise BertScoreError(f"models.bertscore: {model_dir}/config.json has no max_position_embeddings")
    n = int(cfg["max_position_embeddings"])
    if cfg.get("model_type") in ("roberta", "xlm-roberta", "camembert"):
        n -= int(cfg.get("pad_token_id", 1)) + 1
    return n


def bertscore(
    candidates: list[str],
    references: list[str],
    model_dir: str | Path,
    *,
    num_layers: int,
    lang: str,
    rescale_with_baseline: bool,
    baseline: str | None,
    batch_size: int,
    device: str | None = None,
) -> list[dict | None]:
    """Per pair {bertscore_p, bertscore_r, bertscore_f1} x 100 [protocol §4.3]; None for an
    empty candidate (the authors score non-empty outputs only)."""
    import bert_score
    import torch

    if len(candidates) != len(references):
        raise BertScoreError(f"{len(candidates)} candidates but {len(references)} references")
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").exists():
        raise BertScoreError(f"models.bertscore: {model_dir} has no config.json (not a model folder)")
    keep = [i for i, c in enumerate(candidates) if c.strip()]
    out: list[dict | None] = [None] * len(candidates)
    if not keep:
        return out
    scorer = bert_score.BERTScorer(
        model_type=str(model_dir),
        num_layers=num_layers,
        lang=lang,
        batch_size=batch_size,
        device=device or ("cuda" if torch.cuda.is_available() else "cpu"),
        rescale_with_baseline=rescale_with_baseline,
        baseline_path=str(baseline_file(baseline, lang)) if rescale_with_baseline else None,
    )
    # bert-score truncates every sentence at tokenizer.model_max_length. roberta-large's hub files
    # do not set it; transformers < 4.40 filled in 512 from a table of hub names, later versions
    # leave a 1e30 placeholder, which transformers 5's tokenizer (always the fast one) cannot take
    # (OverflowError). The model's own limit is used instead: its position table less RoBERTa's
    # padding offset (512 for roberta-large, the old table's value).
    tokenizer = scorer._tokenizer
    tokenizer.model_max_length = min(tokenizer.model_max_length, max_input_tokens(model_dir))
    p, r, f = scorer.score([candidates[i] for i in keep], [references[i] for i in keep], batch_size=batch_size)
    for j, i in enumerate(keep):
        out[i] = {"bertscore_p": 100 * float(p[j]), "bertscore_r": 100 * float(r[j]), "bertscore_f1": 100 * float(f[j])}
    return out


def score_bertscore_benchmarks(
    benches: dict[str, dict],
    model_dir: str | Path,
    settings: dict,
    out_csv: str | Path,
    out_samples_csv: str | Path,
) -> pd.DataFrame:
    """BERTScore of every (method, NFE) run of every benchmark in one job (one model load):
    ``benches`` maps a benchmark to ``{records, runs}`` (runs: {name, shards, meta} as for
    score_samples). One mean row per benchmark x run, and one row per sample."""
    frames, samples = [], []
    for bench in benches.values():
        frame, per_sample = _score_runs(bench["runs"], bench["records"], model_dir, settings)
        frames.append(frame)
        samples.append(per_sample)
    frame = pd.concat(frames, ignore_index=True)
    atomic_write_text(out_csv, frame.to_csv(index=False))
    atomic_write_text(out_samples_csv, pd.concat(samples, ignore_index=True).to_csv(index=False))
    return frame


def _score_runs(runs, records_path, model_dir, settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    references = {str(r["id"]): r["reference"] for r in load_records(records_path)}
    rows, per_sample = [], []
    for run in runs:
        samples = [json.loads(line) for path in run["shards"] for line in Path(path).read_text().splitlines() if line]
        missing = [s["id"] for s in samples if str(s["id"]) not in references]
        if missing:
            raise BertScoreError(f"{run['shards'][0]}: sample ids {missing[:3]} are not in {records_path}")
        scores = bertscore(
            [s["text"] for s in samples], [references[str(s["id"])] for s in samples], model_dir, **settings
        )
        meta = run["meta"]
        valid = [x for x in scores if x is not None]
        row = {"benchmark": meta["benchmark"], "method": meta["method"], "nfe": meta["nfe"], "bertscore_n": len(valid)}
        for key in ("bertscore_p", "bertscore_r", "bertscore_f1"):
            row[key] = round(sum(x[key] for x in valid) / len(valid), 2) if valid else None
        rows.append(row)
        per_sample += [
            {"benchmark": meta["benchmark"], "method": meta["method"], "nfe": meta["nfe"], "id": s["id"], **(x or {})}
            for s, x in zip(samples, scores)
        ]
    return pd.DataFrame(rows), pd.DataFrame(per_sample)


def build_toy_bertscore_model(tokenizer_dir: str | Path, out_dir: str | Path, *, arch: dict, seed: int) -> None:
    """The toy's roberta-large stand-in: a tiny RoBERTa over the toy tokenizer, seeded random
    init (BERTScore then measures token overlap through contextual embeddings), saved as
    safetensors and read by the same :func:`bertscore` code as roberta-large."""
    import torch
    from transformers import AutoTokenizer, RobertaConfig, RobertaModel

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    tokenizer.model_max_length = arch["max_positions"]
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=arch["hidden_size"],
        num_hidden_layers=arch["num_layers"],
        num_attention_heads=arch["num_heads"],
        intermediate_size=arch["intermediate_size"],
        max_position_embeddings=arch["max_positions"] + tokenizer.pad_token_id + 2,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = RobertaModel(config)
    model.eval()
    model.save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(out_dir))
