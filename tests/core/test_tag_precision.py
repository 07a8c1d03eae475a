"""`animesion tag --precision`: auto keeps int8 only when it agreed with fp32, the summary says
which precision ran, and `animesion packs info` shows the agreement recorded with the pack."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from animesion_desktop.cli import main as animesion
from models.labels import Label
from models.pack import write_pack
from models.registry import create_model
from models.spec import HeadSpec, InputSpec

pytestmark = pytest.mark.skipif(torch.backends.quantized.engine == "none",
                                reason="no quantized engine on this platform")
TINY_IFA = dict(hidden_size=64, num_layers=4, num_attention_heads=2, mlp_dim=128, patch_size=8)


def _pack(folder: Path, name: str, *, sharp: bool) -> Path:
    torch.manual_seed(0)
    model = create_model("vit_b16", heads={"character": 10}, image_size=32, ifa=True, **TINY_IFA)
    with torch.no_grad():
        fc = model.head.heads["character"]
        if sharp:
            fc.weight.mul_(60.0)  # small int8 errors in the blocks IFA reads change answers
        else:
            fc.weight.mul_(0.01)
            fc.bias.zero_()
            fc.bias[3] = 8.0
    labels = tuple(Label(f"girl_{i}", "character", 0.5) for i in range(10))
    write_pack(folder, name=name, backend="torch", heads=[HeadSpec("character", "softmax", labels)],
               input_spec=InputSpec(size=32), model=model)
    return folder


def _pictures(folder: Path, n: int = 72) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        blobs = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
        Image.fromarray(blobs).resize((32, 32), Image.NEAREST).save(folder / f"{i:03d}.png")
    return folder


@pytest.mark.parametrize(("sharp", "expected"), [(True, "fp32"), (False, "int8")])
def test_tag_auto_precision_is_checked_shown_and_recorded(tmp_path, capsys, sharp, expected):
    db = ["--library", str(tmp_path / "lib.sqlite")]
    pack = _pack(tmp_path / "pack", "ifa", sharp=sharp)
    assert animesion([*db, "packs", "install", str(pack)]) == 0
    assert animesion([*db, "scan", str(_pictures(tmp_path / "pictures"))]) == 0
    capsys.readouterr()
    assert animesion([*db, "tag"]) == 0
    out = capsys.readouterr().out
    verdict = "rejected" if sharp else "kept"
    assert f"precision: {expected}" in out and f"int8 {verdict}: top-1" in out

    assert animesion([*db, "packs", "info", "ifa"]) == 0
    info = capsys.readouterr().out
    assert f"precision: auto runs CPU · {expected} (int8 {verdict}" in info

    # an explicit choice is taken as asked, and the summary says so
    assert animesion([*db, "tag", "--force", "--precision", "fp32"]) == 0
    assert "precision: fp32\n" in capsys.readouterr().out
