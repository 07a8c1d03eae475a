"""Importers, each on a small artifact built here in the original format."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from animesion_original_kit import TINY, original_input, original_vit_state, reference_logits
from PIL import Image
from torch import nn

from models.backends import open_predictor
from models.errors import PackError
from models.importers import (
    detect_kind,
    import_animesion_checkpoint,
    import_any,
    import_hf_classifier,
    import_wd_tagger,
)

# Tiny Animesion ViT: hidden 128 (so 2 heads of 64), 2 blocks, patch 8, 32 px, 3 classes; the
# original's key layout and forward pass are in animesion_original_kit.py.
D, L, MLP, P, SIZE, CLASSES = TINY.hidden, TINY.layers, TINY.mlp, TINY.patch, TINY.size, TINY.classes


def _write_checkpoint(tmp_path, sd, classes=("rem", "ram", "emilia"), name="vit_ifa.ckpt"):
    folder = tmp_path / "animesion"
    folder.mkdir(exist_ok=True)
    torch.save(sd, folder / name)
    # The original's layout: class_id,class_name rows, no header.
    (folder / "classid_classname.csv").write_text(
        "".join(f"{i},{c}\n" for i, c in enumerate(classes))
    )
    return folder / name


@pytest.mark.parametrize("ifa", [True, False])
def test_animesion_vit_import_matches_the_original_forward(tmp_path, ifa: bool) -> None:
    sd = original_vit_state(ifa=ifa)
    ckpt = _write_checkpoint(tmp_path, sd)
    pack = import_animesion_checkpoint(ckpt, tmp_path / "pack")
    arch = pack.architecture
    assert arch is not None and arch.ifa is ifa
    assert (arch.hidden_size, arch.num_layers, arch.patch_size, arch.image_size) == (D, L, P, SIZE)
    assert (arch.num_attention_heads, arch.mlp_dim, arch.heads) == (2, MLP, {"character": 3})
    assert [lb.name for lb in pack.heads[0].labels] == ["rem", "ram", "emilia"]
    assert pack.input.mean == (0.5, 0.5, 0.5) and pack.input.size == SIZE

    predictor = open_predictor(pack, device="cpu", optimize=False)
    x = np.random.default_rng(0).normal(size=(4, 3, SIZE, SIZE)).astype(np.float32)
    probs = predictor.predict(x).heads["character"]
    expected = reference_logits(sd, torch.from_numpy(x), ifa).softmax(-1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_animesion_pack_reads_image_files_as_the_original_does(tmp_path) -> None:
    """The original resizes bilinear (torchvision's default), not bicubic as our training:
    an imported pack must see the pixels the model was trained on."""
    sd = original_vit_state(ifa=True)
    pack = import_animesion_checkpoint(_write_checkpoint(tmp_path, sd), tmp_path / "pack")
    rng = np.random.default_rng(1)
    files = []
    for i, (w, h) in enumerate([(97, 61), (40, 120), (32, 32)]):
        files.append(tmp_path / f"{i}.png")
        Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)).save(files[-1])
    predictor = open_predictor(pack, device="cpu", precision="fp32")
    x = np.stack([predictor.preprocess(Image.open(f)) for f in files])
    original = torch.stack([original_input(f, SIZE) for f in files])
    np.testing.assert_allclose(x, original.numpy(), atol=1e-5)
    probs = predictor.predict(x).heads["character"]
    expected = reference_logits(sd, original, True).softmax(-1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_animesion_missing_and_unexpected_keys_are_named(tmp_path) -> None:
    sd = original_vit_state(ifa=True)
    del sd["model.transformer.blocks.1.attn.proj_k.weight"]
    with pytest.raises(
        PackError,
        match=r"missing tensors: model\.transformer\.blocks\.1\.attn"
        r"\.proj_k\.weight",
    ):
        import_animesion_checkpoint(_write_checkpoint(tmp_path, sd), tmp_path / "a")
    sd = original_vit_state(ifa=True)
    sd["model.text_embeddings.word_embeddings.weight"] = torch.zeros(10, D)
    # tag embeddings make it a ViLT checkpoint (tests/models/test_vilt_import.py): which needs
    # its text position embeddings and DAF:re's vocabulary
    with pytest.raises(PackError, match=r"text_embeddings\.position_embeddings.*missing"):
        import_animesion_checkpoint(_write_checkpoint(tmp_path, sd), tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_animesion_class_count_must_match(tmp_path) -> None:
    ckpt = _write_checkpoint(tmp_path, original_vit_state(ifa=False), classes=("rem", "ram"))
    with pytest.raises(PackError, match=r"classid_classname\.csv: 2 classes, but .* 3 outputs"):
        import_animesion_checkpoint(ckpt, tmp_path / "pack")


def test_animesion_resnet_import(tmp_path) -> None:
    from torchvision.models import resnet18

    torch.manual_seed(0)
    original = resnet18(weights=None)
    original.fc = nn.Linear(512, 3)  # Animesion's ResNet wrapper: self.model = resnet; new fc
    original.eval()
    sd = {f"model.{k}": v for k, v in original.state_dict().items()}
    pack = import_animesion_checkpoint(
        _write_checkpoint(tmp_path, sd, name="r18.pth"), tmp_path / "pack", image_size=64
    )
    assert pack.architecture.name == "resnet18" and pack.input.size == 64
    # the original's transforms normalise every model with 0.5, its ImageNet CNNs too
    assert pack.input.mean == pack.input.std == (0.5, 0.5, 0.5)
    assert pack.input.interpolation == "bilinear"
    x = np.random.default_rng(0).normal(size=(2, 3, 64, 64)).astype(np.float32)
    probs = open_predictor(pack, device="cpu", optimize=False).predict(x).heads["character"]
    with torch.inference_mode():
        expected = original(torch.from_numpy(x)).softmax(-1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_animesion_shallow_import_infers_image_size(tmp_path) -> None:
    torch.manual_seed(0)

    def block(c_in: int, c_out: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(c_in, c_out, 5), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2, 2)
        )

    class OriginalShallow(nn.Module):  # the original ShallowNet's layout, at 44 px
        def __init__(self) -> None:
            super().__init__()
            self.layer1, self.layer2 = block(3, 16), block(16, 32)
            self.fc = nn.Sequential(
                nn.Flatten(),
                nn.Linear(32 * 5 * 5, 512),
                nn.ReLU(),
                nn.Dropout(0.2),
                nn.Linear(512, 3),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.layer2(self.layer1(x)))

    original = OriginalShallow().eval()
    pack = import_animesion_checkpoint(
        _write_checkpoint(tmp_path, original.state_dict(), name="shallow.ckpt"), tmp_path / "p"
    )
    assert pack.architecture.name == "shallow" and pack.input.size == 32
    x = np.random.default_rng(0).normal(size=(2, 3, 32, 32)).astype(np.float32)
    probs = open_predictor(pack, device="cpu", optimize=False).predict(x).heads["character"]
    with torch.inference_mode():
        expected = original(torch.from_numpy(x)).softmax(-1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_wd_tagger_import_applies_bgr_nhwc_and_white_padding(tmp_path, wd_folder) -> None:
    pack = import_wd_tagger(wd_folder, tmp_path / "pack")
    assert pack.backend == "onnx" and pack.name == "wd-tiny-tagger"
    spec = pack.input
    assert (spec.size, spec.resize, spec.channel_order, spec.layout, spec.scale) == (
        32,
        "pad",
        "BGR",
        "NHWC",
        1.0,
    )
    head = pack.heads[0]
    assert head.name == "tags" and head.activation == "none"
    assert [lb.category for lb in head.labels] == ["rating", "general", "general", "character"]
    assert [lb.threshold for lb in head.labels] == [0.5, 0.35, 0.35, 0.85]

    predictor = open_predictor(pack, device="cpu")
    # A wide red image: padded white above and below, so blue and green average ~127.5 and
    # red 255. In BGR order red is channel 2.
    sample = predictor.preprocess(Image.new("RGB", (40, 20), (255, 0, 0)))
    assert sample.shape == (32, 32, 3)
    probs = predictor.predict(sample[None]).heads["tags"][0]
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    np.testing.assert_allclose(probs, [sig(2.0), sig(2.0), sig(4.0), 0.5], atol=0.02)


def test_wd_tagger_unknown_category_is_refused(tmp_path, wd_folder) -> None:
    with (wd_folder / "selected_tags.csv").open("a") as f:
        f.write("4,mystery,7,1\n")
    with pytest.raises(PackError, match=r"selected_tags\.csv: line 6: category: unknown WD"):
        import_wd_tagger(wd_folder, tmp_path / "pack")


def test_hf_classifier_import_predicts(tmp_path, hf_folder) -> None:
    from transformers import ViTForImageClassification

    pack = import_hf_classifier(hf_folder, tmp_path / "pack")
    assert pack.backend == "hf" and pack.input.size == 32
    assert [lb.name for lb in pack.heads[0].labels] == ["rem", "ram", "emilia"]
    assert pack.heads[0].labels[0].category == "character"
    predictor = open_predictor(pack, device="cpu", optimize=False)
    image = Image.new("RGB", (50, 30), (10, 200, 30))
    probs = predictor.predict(predictor.preprocess(image)[None]).heads["character"]
    reference = ViTForImageClassification.from_pretrained(hf_folder, local_files_only=True).eval()
    with torch.inference_mode():
        x = torch.from_numpy(predictor.preprocess(image)[None])
        expected = reference(pixel_values=x).logits.softmax(-1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    general = import_hf_classifier(hf_folder, tmp_path / "pack2", category="general")
    assert general.heads[0].name == "general" and general.heads[0].labels[0].category == "general"


def test_hf_pickle_weights_are_refused(tmp_path, hf_folder) -> None:
    (hf_folder / "model.safetensors").rename(hf_folder / "pytorch_model.bin")
    with pytest.raises(PackError, match="pickle"):
        import_hf_classifier(hf_folder, tmp_path / "pack")


def test_import_any_detects_each_kind(tmp_path, wd_folder, hf_folder) -> None:
    ckpt = _write_checkpoint(tmp_path, original_vit_state(ifa=True))
    assert detect_kind(wd_folder)[0] == "wd"
    assert detect_kind(hf_folder)[0] == "hf"
    assert detect_kind(ckpt) == ("animesion", ckpt)
    assert detect_kind(ckpt.parent) == ("animesion", ckpt)
    assert import_any(wd_folder, tmp_path / "wd").backend == "onnx"
    assert import_any(hf_folder, tmp_path / "hf").backend == "hf"
    assert import_any(ckpt, tmp_path / "an", name="daf-vit").name == "daf-vit"
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("hi")
    with pytest.raises(PackError, match="not a model this app can import"):
        import_any(other, tmp_path / "x")
