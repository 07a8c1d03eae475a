"""Multimodal (ViLT) packs: the pack's heads and its generated tags, per image in its mode.

``predict(batch, known_tags=None)`` answers every image with the recognition + tag generation
pass (:func:`models.multimodal.recognize_and_generate`: every tag slot masked). An image with
known tags in the vocabulary, in a pack whose modes include ``conditioned``, gets its heads
from :func:`models.multimodal.recognize_with_tags` instead: the character guess that sees them.
Its generated tags and its embedding stay those of the image-only pass, since in the
conditioned pass the slots hold the known tags and nothing is left to generate, and an image's
embedding should not move when someone tags it. ``Prediction.modes`` says which mode answered
each image.

The pack runs in fp32 (no faster path has been checked against a ViLT's two inputs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from models.architectures.vilt import ViLT
from models.backends.base import Prediction, Predictor
from models.backends.torch_backend import DEFAULT_BATCH, load_pack_model
from models.device import select_device
from models.multimodal import recognize_and_generate, recognize_with_tags
from models.multimodal_heads import TAGS_HEAD, pack_tokenizer, tags_head
from models.pack import ModelPack
from models.spec import HeadSpec
from models.tag_tokenizer import NUM_SPECIAL
from models.tag_tokenizer import TagTokenizer as _Tokenizer

# Generated tags below this are not returned (the app's storage floor is the same).
GENERATE_FLOOR = 0.01


class ViltPredictor(Predictor):
    takes_known_tags = True  # the tagging pipeline hands each image's known tags to predict

    def __init__(self, pack: ModelPack, device: str | None = None,
                 precision: str = "fp32") -> None:
        assert pack.multimodal is not None
        self.pack = pack
        choice = select_device(device)
        self.device = choice.torch_device
        self.warnings = list(choice.warnings)
        if precision not in ("auto", "fp32"):
            self.warnings.append(f"{precision}: multimodal packs run in fp32")
        self._precision = "fp32"
        self.agreement = None
        model = load_pack_model(pack)
        assert isinstance(model, ViLT)  # models.pack_checks: multimodal means vilt_*
        self.model: ViLT = model.to(self.device)
        tokenizer = pack_tokenizer(pack)
        assert tokenizer is not None
        self.tokenizer: _Tokenizer = tokenizer
        self.modes: tuple[str, ...] = pack.multimodal.modes
        self.tag_head: HeadSpec | None = tags_head(pack, tokenizer)
        slots = pack.multimodal.max_text_seq_len
        self.max_known_tags = slots - 2  # [CLS] and [SEP] take two slots
        self._activations = {h.name: h.activation for h in pack.heads}
        self.batch_size = DEFAULT_BATCH.get(self.device.type, 8)
        self.device_description = f"{choice.description} · fp32 · {'/'.join(self.modes)}"

    @property
    def vocabulary(self) -> list[str]:
        """The tags the model can be given or can generate, in vocabulary order."""
        return self.tokenizer.tags

    def predict(self, batch: np.ndarray,
                known_tags: Sequence[Sequence[str]] | None = None) -> Prediction:
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        n = x.shape[0]
        # Tags outside the vocabulary are left out (not given as [UNK]): they tell the model nothing.
        known = [[t for t in tags if self.tokenizer.id_of(t) >= NUM_SPECIAL]
                 for tags in (known_tags if known_tags is not None else [()] * n)]
        if len(known) != n:
            raise ValueError(f"known_tags: {len(known)} lists for {n} images")
        base = recognize_and_generate(self.model, self.tokenizer, x, GENERATE_FLOOR,
                                      self._activations)
        heads = {h.name: np.stack([r.heads[h.name].cpu().numpy() for r in base])
                 for h in self.pack.heads}  # each [N, C]
        embedding = np.stack([_array(r.embedding) for r in base])  # [N, D]
        generates = "generate" in self.modes
        modes = ["generate" if generates else "image_only"] * n
        if self.tag_head is not None:
            tags = np.zeros((n, len(self.tokenizer) - NUM_SPECIAL), dtype=np.float32)  # [N, V']
            for i, r in enumerate(base):
                for tag, p in r.tags:
                    tags[i, self.tokenizer.id_of(tag) - NUM_SPECIAL] = p
            heads[TAGS_HEAD] = tags
        given = [i for i, t in enumerate(known) if t]
        if given and "conditioned" in self.modes:
            conditioned = recognize_with_tags(self.model, self.tokenizer, x[given],
                                              [known[i] for i in given], self._activations)
            for i, r in zip(given, conditioned, strict=True):
                for h in self.pack.heads:
                    heads[h.name][i] = r.heads[h.name].cpu().numpy()
                modes[i] = r.mode
        return Prediction(heads=heads, embedding=embedding, modes=modes)

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]


def _array(t: torch.Tensor | None) -> np.ndarray:
    assert t is not None  # every models.multimodal mode returns the pooled features
    return t.float().cpu().numpy()
