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
    for i, rec in enumerate(records):
        for key in ("id", *fields):
            if key not in rec:
                raise RecordError(f"{path}: record {i} (id {rec.get('id', '?')}) has no field {key!r}")
        for key in fields:
            if not isinstance(rec[key], str) or not rec[key].strip():
                raise RecordError(f"{path}: record {i} (id {rec['id']}) has an empty {key!r}")
    return records
