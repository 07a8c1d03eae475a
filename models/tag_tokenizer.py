"""Tag-level tokenizer for ViLT models: one id per tag, five special tokens first.

A sequence is ``[CLS] tag ... tag [SEP] [PAD] ...`` of fixed length ``max_len``; tags beyond
``max_len - 2`` are dropped (the order given decides which are kept), repeats are kept once and
unknown tags become ``[UNK]``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from torch import Tensor

PAD, CLS, SEP, MASK, UNK = "[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]"
SPECIAL_TOKENS = (PAD, CLS, SEP, MASK, UNK)
PAD_ID, CLS_ID, SEP_ID, MASK_ID, UNK_ID = range(5)
NUM_SPECIAL = len(SPECIAL_TOKENS)


class TagTokenizer:
    """Maps tags to ids and back; ids 0..4 are the special tokens, in SPECIAL_TOKENS order."""

    def __init__(self, tags: Iterable[str]) -> None:
        self.tokens: list[str] = list(SPECIAL_TOKENS)
        self.ids: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}
        for position, tag in enumerate(tags):
            if not isinstance(tag, str) or not tag.strip():
                raise ValueError(f"tag {position}: expected a non-empty string, got {tag!r}")
            if tag in self.ids:
                if tag in SPECIAL_TOKENS:
                    continue  # vocabularies that list the special tokens themselves
                raise ValueError(f"tag {position}: {tag!r} is listed twice")
            self.ids[tag] = len(self.tokens)
            self.tokens.append(tag)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def tags(self) -> list[str]:
        return self.tokens[NUM_SPECIAL:]

    def id_of(self, tag: str) -> int:
        return self.ids.get(tag, UNK_ID)

    def encode(self, tags: Sequence[str], max_len: int) -> list[int]:
        """``[CLS] tags [SEP]`` padded with [PAD] to ``max_len`` (>= 3)."""
        if max_len < 3:
            raise ValueError(f"max_len: expected at least 3, got {max_len}")
        ids: list[int] = []
        for tag in tags:
            i = self.id_of(tag)
            if i not in ids or i == UNK_ID:
                ids.append(i)
        ids = [CLS_ID, *ids[: max_len - 2], SEP_ID]
        return ids + [PAD_ID] * (max_len - len(ids))

    def encode_batch(self, batch: Sequence[Sequence[str]], max_len: int) -> Tensor:
        return torch.tensor([self.encode(tags, max_len) for tags in batch], dtype=torch.long)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The tags among ``ids``, without special tokens or repeats, in order."""
        out: list[str] = []
        for i in ids:
            i = int(i)
            if NUM_SPECIAL <= i < len(self.tokens) and self.tokens[i] not in out:
                out.append(self.tokens[i])
        return out

    def write_csv(self, path: Path) -> None:
        """One row per token (``id,token``), special tokens included, so ids are explicit."""
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["id", "token"])
            for i, t in enumerate(self.tokens):
                w.writerow([i, t])

    @classmethod
    def read_csv(cls, path: Path) -> TagTokenizer:
        """Read ``id,token`` rows; ids must be 0..n-1 in order with the special tokens first."""
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if not rows or [c.strip() for c in rows[0]] != ["id", "token"]:
            raise ValueError(f"{path.name}: line 1: expected the header id,token")
        tokens: list[str] = []
        for line, row in enumerate(rows[1:], start=2):
            if len(row) != 2:
                raise ValueError(f"{path.name}: line {line}: expected 2 fields, got {len(row)}")
            if row[0].strip() != str(len(tokens)):
                raise ValueError(f"{path.name}: line {line}: id {row[0]!r}, expected {len(tokens)}")
            tokens.append(row[1])
        if tuple(tokens[:NUM_SPECIAL]) != SPECIAL_TOKENS:
            raise ValueError(f"{path.name}: the first ids must be {', '.join(SPECIAL_TOKENS)}")
        return cls(tokens[NUM_SPECIAL:])
