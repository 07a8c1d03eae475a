"""Registry, architectures, heads and ModelConfig."""

from __future__ import annotations

import dataclasses
import gc
import json

import pytest
import torch

from models.config import ModelConfig
from models.heads import IFAHead, IFAPooling
from models.registry import build_model, create_model, list_models

REGISTERED = [
    "efficientnet_b0", "efficientnet_b0_tf", "efficientnet_lite0", "efficientnet_lite1",
    "efficientnet_lite2", "resnet152", "resnet18", "resnet50", "shallow",
    "vilt_b16", "vilt_b32", "vilt_l16", "vilt_l32",
    "vit_b16", "vit_b32", "vit_l16", "vit_l32",
]  # fmt: skip
VIT_DEPTH = {"vit_b16": 12, "vit_b32": 12, "vit_l16": 24, "vit_l32": 24}
VIT_DEPTH.update({k.replace("vit_", "vilt_"): v for k, v in VIT_DEPTH.items()})
FEATURES = {
    "efficientnet_b0": 1280,
    "efficientnet_b0_tf": 1280,
    "efficientnet_lite0": 1280,
    "efficientnet_lite1": 1280,
    "efficientnet_lite2": 1280,
    "resnet152": 2048,
    "resnet18": 512,
    "resnet50": 2048,
    "shallow": 512,
    "vit_b16": 768,
    "vit_b32": 768,
    "vit_l16": 1024,
    "vit_l32": 1024,
    "vilt_b16": 768,
    "vilt_b32": 768,
    "vilt_l16": 1024,
    "vilt_l32": 1024,
}


def test_registry_lists_every_architecture() -> None:
    assert list_models() == sorted(REGISTERED)


@pytest.mark.parametrize("name", REGISTERED)
def test_every_registered_model_runs_forward(name: str) -> None:
    """The real registered configuration at the default 128 px, batch 2 (1 for ViT-L)."""
    torch.manual_seed(0)
    is_vit = name.startswith(("vit", "vilt"))
    model = create_model(name, heads={"character": 5, "general": 7}, ifa=is_vit).eval()
    n = 1 if name.startswith(("vit_l", "vilt_l")) else 2
    x = torch.randn(n, 3, 128, 128)
    with torch.inference_mode():
        features = model.forward_features(x)
        logits = model.forward_head(features)
        intermediates = model.forward_intermediates(x)
    assert features.shape == (n, FEATURES[name])
    assert set(logits) == {"character", "general"}
    assert logits["character"].shape == (n, 5) and logits["general"].shape == (n, 7)
    assert all(torch.isfinite(v).all() for v in logits.values())
    if is_vit:
        assert len(intermediates) == VIT_DEPTH[name]
        assert all(t.shape == (n, FEATURES[name]) for t in intermediates)
        assert model.config.hidden_size == FEATURES[name]
    else:
        assert all(t.ndim == 2 and t.shape[0] == n for t in intermediates)
    del model
    gc.collect()


def test_vit_any_image_size_and_plain_head(kit) -> None:
    model = create_model("vit_b32", heads={"rating": 4}, image_size=64, **kit.TINY_VIT).eval()
    out = model(torch.randn(3, 3, 64, 64))
    assert out["rating"].shape == (3, 4)
    # Without IFA the embedding is the final-norm CLS token.
    with torch.inference_mode():
        x = torch.randn(1, 3, 64, 64)
        last = model.backbone(pixel_values=x).last_hidden_state[:, 0]
        assert torch.allclose(model.forward_features(x), last)


def test_vit_intermediates_are_the_block_cls_tokens(kit) -> None:
    torch.manual_seed(0)
    model = create_model("vit_b16", heads={"character": 3}, image_size=32, ifa=True, **kit.TINY_VIT)
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        cls = model.forward_intermediates(x)
        # The last block's CLS, normalised by the final norm, is the plain ViT embedding.
        final = model.backbone.layernorm(cls[-1])
        assert torch.allclose(
            final, model.backbone(pixel_values=x).last_hidden_state[:, 0], atol=1e-5
        )
        expected = model.ifa(torch.stack(cls, dim=1))
        assert torch.allclose(model.forward_features(x), expected)


def test_model_config_round_trip_rebuilds_the_same_model(kit) -> None:
    torch.manual_seed(0)
    model = create_model(
        "vit_b16", heads={"character": 3, "general": 6}, image_size=32, ifa=True, **kit.TINY_VIT
    ).eval()
    saved = json.loads(json.dumps(dataclasses.asdict(model.config)))  # a plain dict
    rebuilt = build_model(ModelConfig(**saved)).eval()
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        a, b = model(x), rebuilt(x)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert rebuilt.config == model.config
    # The saved config is explicit: registry defaults were filled in.
    assert saved["layer_norm_eps"] == 1e-6 and saved["patch_size"] == 8


def test_vit_state_dict_uses_canonical_key_names(kit) -> None:
    model = create_model("vit_b16", heads={"character": 2}, image_size=32, **kit.TINY_VIT)
    keys = set(model.state_dict())
    assert "backbone.encoder.layer.0.attention.attention.query.weight" in keys
    assert "backbone.encoder.layer.1.output.dense.bias" in keys
    assert not any(".layers." in k for k in keys)


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="ifa"):
        create_model("resnet18", heads={"character": 2}, ifa=True)
    with pytest.raises(ValueError, match="hidden_size"):
        create_model("shallow", heads={"character": 2}, hidden_size=64)
    with pytest.raises(ValueError, match="image_size"):
        create_model("vit_b16", heads={"character": 2}, image_size=100)
    with pytest.raises(ValueError, match="heads"):
        create_model("resnet18", heads={})
    with pytest.raises(ValueError, match="unknown model"):
        create_model("vit_h14", heads={"character": 2})
    with pytest.raises(ValueError, match="bogus"):
        ModelConfig.from_dict({"name": "resnet18", "heads": {"character": 2}, "bogus": 1})


def test_ifa_head_shapes_and_learns_layer_weights() -> None:
    torch.manual_seed(0)
    layers, dim, n = 4, 8, 128
    head = IFAHead(num_layers=layers, dim=dim, num_classes=2)
    assert head(torch.randn(5, layers, dim)).shape == (5, 2)
    # Only layer 2 carries the label; the other layers are noise.
    y = torch.randint(0, 2, (n,))
    x = torch.randn(n, layers, dim) * 0.5
    x[:, 2, 0] = (y.float() * 2 - 1) * 3
    before = head.pool.layer_weights.detach().clone()
    optimizer = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(40):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(x), y)
        loss.backward()
        optimizer.step()
    weights = head.pool.layer_weights.detach()
    assert not torch.equal(before, weights)
    assert weights.abs().argmax().item() == 2
    assert (head(x).argmax(1) == y).float().mean() > 0.9


def test_ifa_pooling_starts_as_layer_mean() -> None:
    pool = IFAPooling(num_layers=3, dim=4)
    cls = torch.randn(2, 3, 4)
    expected = pool.norm(torch.relu(cls.mean(dim=1)))
    assert torch.allclose(pool(cls), expected, atol=1e-6)


def test_pretrained_torchvision_file_loads_backbone_only(tmp_path) -> None:
    from torchvision.models import resnet18

    torch.manual_seed(0)
    reference = resnet18(weights=None)
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    model = create_model("resnet18", heads={"character": 3}, pretrained=path)
    assert torch.equal(model.backbone.conv1.weight, reference.conv1.weight)
    assert model.head.heads["character"].out_features == 3
    broken = reference.state_dict()
    del broken["layer1.0.conv1.weight"]
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(ValueError, match="layer1.0.conv1.weight"):
        create_model("resnet18", heads={"character": 3}, pretrained=tmp_path / "broken.pth")


def test_pretrained_hf_vit_folder_resizes_position_embeddings(hf_folder) -> None:
    # hf_folder: hidden 32, 2 layers, 2 heads, mlp 64, patch 16, trained at 32 px.
    dims = dict(hidden_size=32, num_layers=2, num_attention_heads=2, mlp_dim=64, patch_size=16)
    model = create_model(
        "vit_b16", heads={"character": 4}, image_size=64, pretrained=hf_folder, **dims
    )
    from transformers import ViTForImageClassification

    source = ViTForImageClassification.from_pretrained(hf_folder, local_files_only=True)
    ours = model.state_dict()
    theirs = source.vit.embeddings.patch_embeddings.projection.weight
    assert torch.equal(ours["backbone.embeddings.patch_embeddings.projection.weight"], theirs)
    assert ours["backbone.embeddings.position_embeddings"].shape == (1, 1 + 16, 32)
    with pytest.raises(ValueError, match="hidden_size"):
        create_model(
            "vit_b16",
            heads={"character": 4},
            image_size=32,
            pretrained=hf_folder,
            **{**dims, "hidden_size": 64},
        )
