"""The identity adapter: metric learning on known characters helps recognise NEW ones."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from animesion_desktop.core.similar.fewshot import from_examples
from models.identity import IdentityInfo, load_adapter
from training.cli import main
from training.metric import MetricConfig, augment, embed_views, supcon, train_adapter
from training.synthetic import generate

DEMO = Path(__file__).resolve().parents[2] / "resources" / "packs" / "demo"


def pixels(images: Sequence[Image.Image]) -> np.ndarray:
    """Untrained features: the picture shrunk to 12 x 12, centred per image."""
    x = np.stack([np.asarray(im.convert("RGB").resize((12, 12), Image.Resampling.BILINEAR),
                             dtype=np.float32).ravel() / 255.0 for im in images])
    return x - x.mean(axis=1, keepdims=True)


def toys(n: int, per: int, seed: int, image_seed: int) -> tuple[list[Image.Image], list[str]]:
    drawn = list(generate(n, per, size=48, seed=seed, image_seed=image_seed))
    return [t.image for t in drawn], [t.character.name for t in drawn]


def five_shot(x: np.ndarray, labels: list[str], adapter=None, draws: int = 4) -> float:
    y = np.asarray(labels, dtype=object)
    out = []
    for draw in range(draws):
        rng = np.random.default_rng(draw)
        support = np.zeros(len(y), dtype=bool)
        for c in np.unique(y):
            support[rng.choice(np.flatnonzero(y == c), 5, replace=False)] = True
        head = from_examples(x[support], y[support].tolist(), adapter=adapter)
        best, _, _ = head.predict(x[~support])
        out.append(np.mean(np.asarray(head.tags, dtype=object)[best] == y[~support]))
    return float(np.mean(out))


def test_adapter_trained_on_known_characters_improves_new_ones() -> None:
    known_images, known_labels = toys(10, 16, seed=0, image_seed=1)
    new_images, new_labels = toys(8, 16, seed=1, image_seed=2)  # other characters entirely
    clean, views = embed_views(known_images, pixels, views=3, seed=0)
    adapter = train_adapter(clean, views, known_labels, MetricConfig(hidden=128, steps=150))
    assert adapter.info.classes == 10 and adapter.info.images == len(known_images)
    new = pixels(new_images)
    before = five_shot(new, new_labels)
    after = five_shot(new, new_labels, adapter)
    assert after > before + 0.05, (before, after)


def test_untrained_adapter_is_the_identity_map() -> None:
    rng = np.random.default_rng(0)
    clean = rng.normal(size=(12, 6)).astype(np.float32)
    adapter = train_adapter(clean, clean[:, None, :], ["a"] * 6 + ["b"] * 6,
                            MetricConfig(hidden=4, steps=1, lr=0.0))
    x = clean / np.linalg.norm(clean, axis=1, keepdims=True)
    np.testing.assert_allclose(adapter(clean), x, atol=1e-6)


def test_supcon_prefers_embeddings_that_group_by_label() -> None:
    groups = torch.tensor([0, 0, 1, 1])
    good = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [1.0, -0.1],
                                                       [0.1, 1.0], [-0.1, 1.0]]), dim=1)
    bad = good[[0, 2, 1, 3]]
    assert supcon(good, groups, 0.1) < supcon(bad, groups, 0.1)


def test_augment_keeps_the_size_and_changes_the_picture() -> None:
    image, _ = toys(1, 1, seed=0, image_seed=0)
    rng = np.random.default_rng(0)
    copies = [augment(image[0], rng) for _ in range(4)]
    assert all(c.size == image[0].size for c in copies)
    assert any(np.abs(np.asarray(c, dtype=int) - np.asarray(image[0], dtype=int)).mean() > 5
               for c in copies)


def test_adapter_file_round_trip_and_bad_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    clean = rng.normal(size=(8, 5)).astype(np.float32)
    info = IdentityInfo(input_dim=5, hidden=3, features="pack", pack_name="p",
                        pack_sha256="ab" * 32)
    adapter = train_adapter(clean, clean[:, None, :] + 0.01, ["a"] * 4 + ["b"] * 4,
                            MetricConfig(hidden=3, steps=3), info)
    path = tmp_path / "identity.safetensors"
    adapter.save(path)
    back = load_adapter(path)
    assert back.info.pack_sha256 == "ab" * 32 and back.info.classes == 2
    np.testing.assert_allclose(back(clean), adapter(clean), atol=1e-6)
    (tmp_path / "junk.safetensors").write_bytes(b"not a file")
    with pytest.raises(ValueError, match="junk.safetensors: not a readable safetensors"):
        load_adapter(tmp_path / "junk.safetensors")
    with pytest.raises(ValueError, match="takes 5-d embeddings, got 4-d"):
        adapter(np.ones((2, 4), dtype=np.float32))


@pytest.mark.skipif(not (DEMO / "pack.json").is_file(), reason="demo pack not built")
def test_metric_command_writes_an_adapter_for_the_pack(toy_export: Path, tmp_path: Path,
                                                       capsys) -> None:
    out = tmp_path / "identity.safetensors"
    code = main(["metric", str(DEMO), "--data", str(toy_export), "--views", "1",
                 "--steps", "5", "--hidden", "8", "--out", str(out)])
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"adapter": str(out)}
    adapter = load_adapter(out)
    assert adapter.info.pack_name == "animesion-demo" and adapter.info.classes == 6
    import hashlib
    assert adapter.info.pack_sha256 == hashlib.sha256(
        (DEMO / "weights.safetensors").read_bytes()).hexdigest()


def test_metric_command_refuses_a_missing_pack(toy_export: Path, tmp_path: Path, capsys) -> None:
    assert main(["metric", str(tmp_path / "nope"), "--data", str(toy_export)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nope: not a pack folder" in err
