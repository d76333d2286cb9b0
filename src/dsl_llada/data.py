"""Training data on disk: fixed-length token blocks in ``input_ids.npy`` (+ ``maskable.npy``).

Pre-training text is concatenated and cut into blocks (remainder dropped) [protocol §2.1];
instruction pairs become chat-templated examples whose prompt is not maskable and whose
response is padded with EOS to the task's generation window, as in LLaDA's SFT, so the model
learns to fill exactly the window the sampler gives it. Optional ``attention.npy`` marks padding.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .prompts import chat_prompt_ids


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


def instruction_example(tokenizer, prompt: str, response: str, window: int, seq_len: int, eos: int, eot: int, pad: int):
    """(ids, maskable, attention) for one chat example, as the sampler will see it: the prompt
    (clean), then a ``window``-token answer = response + EoT + EOS padding (maskable), left-padded
    to ``seq_len`` with ``pad`` under attention 0. None if it does not fit."""
    prompt_ids, _ = chat_prompt_ids(tokenizer, prompt)
    answer = tokenizer(response, add_special_tokens=False)["input_ids"] + [eot]
    if len(answer) > window or len(prompt_ids) + window > seq_len:
        return None
    answer += [eos] * (window - len(answer))
    n_pad = seq_len - len(prompt_ids) - window
    ids = [pad] * n_pad + prompt_ids + answer
    maskable = [0] * (n_pad + len(prompt_ids)) + [1] * window
    attention = [0] * n_pad + [1] * (len(prompt_ids) + window)
    return ids, maskable, attention


def write_token_dataset(
    out_dir: str | Path, ids: np.ndarray, maskable: np.ndarray | None, meta: dict, attention: np.ndarray | None = None
) -> None:
    """Write the dataset folder: arrays first, ``meta.json`` last (its presence marks the folder
    complete)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "input_ids.npy", ids.astype(np.int32))
    for name, array in (("maskable", maskable), ("attention", attention)):
        if array is not None:
            np.save(out / f"{name}.npy", array.astype(np.bool_))
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
        try:
            self.meta = json.loads((path / "meta.json").read_text())
        except ValueError as err:
            raise DataError(f"{path}/meta.json: not valid JSON ({err})") from None
        self.input_ids = np.load(path / "input_ids.npy", mmap_mode="r")
        self.maskable = self._optional(path / "maskable.npy")
        self.attention = self._optional(path / "attention.npy")
        if self.input_ids.ndim != 2 or len(self.input_ids) == 0:
            raise DataError(f"{path}/input_ids.npy: expected a non-empty (N, L) array, got {self.input_ids.shape}")
        for name, array in (("maskable", self.maskable), ("attention", self.attention)):
            if array is not None and array.shape != self.input_ids.shape:
                raise DataError(
                    f"{path}/{name}.npy: shape {array.shape} differs from input_ids.npy {self.input_ids.shape}"
                )

    @staticmethod
    def _optional(file: Path):
        return np.load(file, mmap_mode="r") if file.exists() else None

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def seq_len(self) -> int:
        return self.input_ids.shape[1]

    def lengths(self) -> np.ndarray | None:
        """Tokens under attention per example (None: every example fills ``seq_len``)."""
        return None if self.attention is None else np.asarray(self.attention).sum(axis=1)

    def batch(self, indices: list[int]):
        """(input_ids, maskable or None, attention_mask or None) as tensors. Leading columns that
        are padding in every row are cut: examples are left-padded and position encodings are
        rotary (relative), so the loss is the same and the step cheaper."""
        import torch

        def take(array, dtype):
            return None if array is None else torch.from_numpy(np.asarray(array[indices], dtype=dtype))

        ids, maskable = take(self.input_ids, np.int64), take(self.maskable, np.bool_)
        attention = take(self.attention, np.int64)
        if attention is not None:
            first = int(attention.any(dim=0).int().argmax())
            ids, attention = ids[:, first:], attention[:, first:]
            maskable = None if maskable is None else maskable[:, first:]
        return ids, maskable, attention
