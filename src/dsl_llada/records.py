"""Benchmark records {id, source, reference, prompt} [protocol §4.1]: loading with clear errors.

Kept free of torch so scoring and table jobs start fast.
"""

from __future__ import annotations

import json
from pathlib import Path


class RecordError(ValueError):
    """A benchmark record is unusable; the message names the file and record."""


def load_records(path: str | Path, require_reference: bool = True) -> list[dict]:
    """Benchmark records {id, source, reference, prompt}; errors name the file and record.
    ``require_reference=False`` accepts prompt-only records (open-ended generation [§6.2(e)])."""
    path = Path(path)
    try:
        records = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise RecordError(f"{path}: not valid UTF-8 ({err})") from None
    except json.JSONDecodeError as err:
        raise RecordError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(records, list):
        raise RecordError(f"{path}: expected a JSON list of records")
    fields = ("prompt", "reference") if require_reference else ("prompt",)
    if not records:
        raise RecordError(f"{path}: holds no records")
    seen: dict[str, int] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise RecordError(f"{path}: record {i} is a JSON {type(rec).__name__}, expected an object")
        for key in ("id", *fields):
            if key not in rec:
                raise RecordError(f"{path}: record {i} (id {rec.get('id', '?')}) has no field {key!r}")
        rid = rec["id"]
        if isinstance(rid, bool) or not isinstance(rid, (int, str)) or not str(rid).strip():
            raise RecordError(f"{path}: record {i} has id {rid!r}; expected a non-empty string or an integer")
        # samples and scores key records by str(id): 7 and "7" would be the same record
        if str(rid) in seen:
            raise RecordError(f"{path}: record {i} repeats id {rid!r} of record {seen[str(rid)]}")
        seen[str(rid)] = i
        # the source is optional (the prompt already holds it) but, when given, must be real text
        for key in fields + (("source",) if "source" in rec else ()):
            if not isinstance(rec[key], str) or not rec[key].strip():
                raise RecordError(f"{path}: record {i} (id {rid}) has an empty {key!r}")
    return records
