"""The ``multimodal`` field of pack.json: how a ViLT pack is fed tag tokens.

::

    "multimodal": {"vocabulary": "vocab.csv",     # id,token rows, special tokens first
                   "max_text_seq_len": 16,        # tag slots, [CLS] and [SEP] included
                   "modes": ["image_only", "generate", "conditioned"],
                   "tag_threshold": 0.5}          # generated tags below it are dropped
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MODES = ("image_only", "generate", "conditioned")
VOCABULARY_FILE = "vocab.csv"


@dataclass(frozen=True)
class MultimodalSpec:
    vocabulary: str = VOCABULARY_FILE
    max_text_seq_len: int = 16
    modes: tuple[str, ...] = MODES
    tag_threshold: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        return {
            "vocabulary": self.vocabulary,
            "max_text_seq_len": self.max_text_seq_len,
            "modes": list(self.modes),
            "tag_threshold": self.tag_threshold,
        }
