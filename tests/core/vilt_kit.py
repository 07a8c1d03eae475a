"""A tiny multimodal (ViLT) pack and what its model says, for the tagging tests.

Imported as ``vilt_kit`` from any test folder (tests/core is on pytest's pythonpath).
The model is untrained (seeded), but its MLM bias is pushed so the generated tags are known:
``hat`` (and its case variant ``Hat``, the same library tag) clearly, ``smile`` weakly.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from models.architectures.vilt import ViLT
from models.labels import Label
from models.multimodal import recognize_and_generate, recognize_with_tags
from models.multimodal_spec import MODES, MultimodalSpec
from models.pack import load_pack, write_pack
from models.preprocess import preprocess_image
from models.registry import create_model
from models.spec import HeadSpec, InputSpec
from models.tag_tokenizer import TagTokenizer

TINY = dict(hidden_size=32, num_layers=2, num_attention_heads=2, mlp_dim=64, patch_size=8)
CHARACTERS = ("alice", "bob", "carol")
VOCABULARY = ("red_hair", "blue_eyes", "smile", "hat", "Hat", "glasses")
SLOTS = 6  # [CLS] + 4 tags + [SEP]
TAG_THRESHOLD = 0.2


def make_vilt_pack(out: Path, name: str = "vilt", modes: Sequence[str] = MODES,
                   seed: int = 0) -> Path:
    torch.manual_seed(seed)
    tokenizer = TagTokenizer(VOCABULARY)
    model = create_model(
        "vilt_b16", heads={"character": len(CHARACTERS)}, image_size=32,
        vocab_size=len(tokenizer), max_text_seq_len=SLOTS, **TINY,
    )  # fmt: skip
    assert isinstance(model, ViLT)
    with torch.no_grad():
        model.mlm.bias.zero_()
        model.mlm.bias[tokenizer.id_of("hat")] = 7.0
        model.mlm.bias[tokenizer.id_of("Hat")] = 6.5
        model.mlm.bias[tokenizer.id_of("smile")] = 4.0
    write_pack(
        out, name=name, backend="torch",
        heads=[HeadSpec("character", "softmax",
                        tuple(Label(c, "character", 0.3) for c in CHARACTERS))],
        input_spec=InputSpec(size=32), model=model.eval(),
        multimodal=(MultimodalSpec(max_text_seq_len=SLOTS, modes=tuple(modes),
                                   tag_threshold=TAG_THRESHOLD), tokenizer),
    )  # fmt: skip
    return out


def noise_images(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        rng = random.Random(i)
        data = bytes(rng.randrange(256) for _ in range(40 * 40 * 3))
        path = folder / f"{i:02d}.png"
        Image.frombytes("RGB", (40, 40), data).save(path)
        paths.append(path)
    return paths


class Reference:
    """The installed pack's model, run directly through models.multimodal."""

    def __init__(self, pack_dir: Path) -> None:
        from models.backends.torch_backend import load_pack_model

        self.pack = load_pack(pack_dir)
        model = load_pack_model(self.pack)
        assert isinstance(model, ViLT)
        self.model = model
        assert self.pack.multimodal is not None
        self.tokenizer = TagTokenizer.read_csv(self.pack.file(self.pack.multimodal.vocabulary))
        self.activations = {h.name: h.activation for h in self.pack.heads}

    def _x(self, path: Path) -> torch.Tensor:
        with Image.open(path) as image:
            return torch.from_numpy(np.asarray(preprocess_image(image, self.pack.input)))[None]

    def image_only(self, path: Path) -> tuple[dict[str, float], dict[str, float]]:
        """(character -> probability, generated tag -> probability) of the image alone."""
        [r] = recognize_and_generate(self.model, self.tokenizer, self._x(path), 0.01,
                                     self.activations)
        return self._characters(r.heads["character"]), dict(r.tags)

    def conditioned(self, path: Path, tags: Sequence[str]) -> dict[str, float]:
        [r] = recognize_with_tags(self.model, self.tokenizer, self._x(path), [list(tags)],
                                  self.activations)
        assert r.mode == "conditioned"
        return self._characters(r.heads["character"])

    @staticmethod
    def _characters(probs: torch.Tensor) -> dict[str, float]:
        return {c: float(p) for c, p in zip(CHARACTERS, probs.tolist(), strict=True)}
