"""The label vocabulary of each head and the encoding of a sample into training targets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from training.data.samples import HEAD_KINDS, Sample
from training.errors import DataError

IGNORE_INDEX = -100  # cross_entropy's default: an unlabelled sample adds nothing to that head


@dataclass
class LabelSpace:
    """Ordered class names per head; the order is the output order of the model's heads."""

    heads: dict[str, list[str]]

    @classmethod
    def build(
        cls,
        samples: Iterable[Sample],
        *,
        tag_samples: Iterable[Sample] | None = None,
        classes: list[str] | None = None,
        heads: list[str] | None = None,
        min_tag_count: int = 1,
    ) -> LabelSpace:
        """Characters, copyrights and ratings from every sample (a class only seen in test
        still needs an output); general tags from `tag_samples` (the training split) that occur
        at least `min_tag_count` times, since a tag never seen in training cannot be learnt."""
        samples = list(samples)
        tag_samples = samples if tag_samples is None else list(tag_samples)
        vocab: dict[str, list[str]] = {}
        vocab["character"] = list(classes) if classes else sorted(
            {s.character for s in samples if s.character}
        )
        vocab["copyright"] = sorted({s.copyright for s in samples if s.copyright})
        counts = Counter(t for s in tag_samples for t in (s.tags or ()))
        vocab["general"] = sorted(t for t, n in counts.items() if n >= min_tag_count)
        vocab["rating"] = sorted({s.rating for s in samples if s.rating})
        wanted = heads if heads is not None else list(HEAD_KINDS)
        for head in wanted:
            if head not in HEAD_KINDS:
                raise DataError(f"unknown head {head!r} (known: {', '.join(HEAD_KINDS)})")
            if heads is not None and not vocab[head]:
                raise DataError(f"head {head!r} was asked for, but the data set labels no {head}")
        return cls({h: vocab[h] for h in HEAD_KINDS if h in wanted and vocab[h]})

    def sizes(self) -> dict[str, int]:
        return {h: len(names) for h, names in self.heads.items()}

    def index(self) -> dict[str, dict[str, int]]:
        return {h: {n: i for i, n in enumerate(names)} for h, names in self.heads.items()}

    def to_dict(self) -> dict[str, list[str]]:
        return {h: list(names) for h, names in self.heads.items()}

    @classmethod
    def from_dict(cls, data: dict[str, list[str]]) -> LabelSpace:
        return cls({h: list(data[h]) for h in HEAD_KINDS if h in data})


class TargetEncoder:
    """Sample -> {head: tensor}. Softmax heads get a class index (IGNORE_INDEX if unlabelled);
    the sigmoid head gets a multi-hot vector, or all -1 when the image's tags are unknown."""

    def __init__(self, space: LabelSpace):
        self.space = space
        self._index = space.index()

    def __call__(self, sample: Sample) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for head, index in self._index.items():
            if HEAD_KINDS[head] == "sigmoid":
                if sample.tags is None:
                    out[head] = torch.full((len(index),), -1.0)
                else:
                    vec = torch.zeros(len(index))
                    for tag in sample.tags:
                        j = index.get(tag)
                        if j is not None:
                            vec[j] = 1.0
                    out[head] = vec
            else:
                value = getattr(sample, head)
                out[head] = torch.tensor(index.get(value, IGNORE_INDEX) if value else IGNORE_INDEX)
        return out
