"""Training data on disk: fixed-length token blocks in ``input_ids.npy`` (+ ``maskable.npy``).

Pre-training text is concatenated and cut into blocks (remainder dropped) [protocol §2.1];
instruction pairs become chat-templated examples whose prompt is not maskable and whose
response is padded with EOS, as in LLaDA's SFT, so the model learns to fill the window.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .sampling import chat_prompt_ids


class DataError(ValueError):
    """Bad training data; the message names the file and record."""


def pack_blocks(token_streams: Iterable[list[int]], block_size: int, separator: int, max_blocks: int | None = None):
    """Concatenate documents (each followed by ``separator``) and cut into ``block_size`` blocks;
    the remainder is dropped [§2.1]. Yields one block (list of ids) at a time."""
    buffer: list[int] = []
    produced = 0
    for tokens in token_streams:
        buffer.extend(tokens)
        buffer.append(separator)
        while len(buffer) >= block_size:
            yield buffer[:block_size]
            buffer = buffer[block_size:]
            produced += 1
            if max_blocks is not None and produced >= max_blocks:
                return


def instruction_example(tokenizer, prompt: str, response: str, seq_len: int, eos: int, eot: int):
    """(ids, maskable) for one chat example: prompt (clean) + response + EoT + EOS padding."""
    prompt_ids, _ = chat_prompt_ids(tokenizer, prompt)
    answer = tokenizer(response, add_special_tokens=False)["input_ids"] + [eot]
    if len(prompt_ids) + len(answer) > seq_len:
        return None
    ids = prompt_ids + answer + [eos] * (seq_len - len(prompt_ids) - len(answer))
    maskable = [0] * len(prompt_ids) + [1] * (seq_len - len(prompt_ids))
    return ids, maskable


def write_token_dataset(out_dir: str | Path, ids: np.ndarray, maskable: np.ndarray | None, meta: dict) -> None:
    """Write the dataset folder atomically-enough: arrays first, ``meta.json`` last (its
    presence marks the folder complete)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "input_ids.npy", ids.astype(np.int32))
    if maskable is not None:
        np.save(out / "maskable.npy", maskable.astype(np.bool_))
    tmp = out / "meta.json.tmp"
    tmp.write_text(json.dumps(meta, indent=1) + "\n")
    os.replace(tmp, out / "meta.json")


class TokenDataset:
    """Memory-mapped view of a dataset folder written by :func:`write_token_dataset`."""

    def __init__(self, path: str | Path):
        path = Path(path)
        if not (path / "meta.json").exists():
            raise DataError(f"{path}: no meta.json — the dataset is missing or was not written completely")
        self.path = path
        self.meta = json.loads((path / "meta.json").read_text())
        self.input_ids = np.load(path / "input_ids.npy", mmap_mode="r")
        mask_file = path / "maskable.npy"
        self.maskable = np.load(mask_file, mmap_mode="r") if mask_file.exists() else None
        if self.input_ids.ndim != 2 or len(self.input_ids) == 0:
            raise DataError(f"{path}/input_ids.npy: expected a non-empty (N, L) array, got {self.input_ids.shape}")

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def seq_len(self) -> int:
        return self.input_ids.shape[1]

    def batch(self, indices: list[int]):
        import torch

        ids = torch.from_numpy(np.asarray(self.input_ids[indices], dtype=np.int64))
        maskable = None
        if self.maskable is not None:
            maskable = torch.from_numpy(np.asarray(self.maskable[indices], dtype=np.bool_))
        return ids, maskable
