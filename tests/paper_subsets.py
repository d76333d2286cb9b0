"""The authors' 100-record summarization subsets (``eval_data/*_100.json``, protocol §7), read for
two checks of our own code against the real files: that our instruction templates are the ones in
their prompts, and that our ROUGE reproduces published Lead-k numbers. The workflow itself builds its
benchmarks from the hub datasets, so these readers live with the tests."""

import json
import re
from pathlib import Path

SUBSET_FILES = {
    "xsum": "xsum_100.json",
    "cnn_dailymail": "cnn_dailymail_100.json",
    "pubmed": "pubmed_100.json",
    "arxiv": "arxiv_100.json",
}

# The pubmed/arxiv subsets hold a dataset tag in "source"; their article is in the prompt.
_TAG = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")

# A sentence ends at ".", "!" or "?" (optionally one closing quote or bracket), then whitespace,
# then an upper-case letter, a digit or an opening quote/bracket (two fixed-width look-behinds:
# `re` has no variable-width look-behind).
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'\u201d\u2019)\]]))\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")


def load_subset(path: Path) -> list[dict]:
    """The records, each with ``id`` = str(id) or str(idx) (pubmed/arxiv have only ``idx``)."""
    records = json.loads(Path(path).read_text(encoding="utf-8"))
    return [{**r, "id": str(r["id"] if r.get("id") is not None else r["idx"])} for r in records]


def article(record: dict, template: str) -> str:
    """The record's article: ``source``, or the prompt after ``template`` + a blank line when
    ``source`` is only a dataset tag."""
    if not _TAG.match(record["source"].strip()):
        return record["source"]
    head = template + "\n\n"
    assert record["prompt"].startswith(head), (record["id"], template)
    return record["prompt"][len(head) :]


def lead_k(text: str, k: int) -> str:
    """The Lead-k extractive baseline: the first ``k`` sentences."""
    return " ".join(s.strip() for s in _SENTENCE_END.split(text.strip())[:k] if s.strip())
