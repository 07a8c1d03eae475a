"""Model packs: write/load round trips per backend, validation errors, safe install."""

from __future__ import annotations

import json
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models.backends import open_predictor
from models.errors import PackError
from models.pack import install_pack, load_pack, write_pack
from models.registry import create_model
from models.spec import HeadSpec, InputSpec


@pytest.fixture
def tiny_model(kit):
    torch.manual_seed(0)
    return create_model(
        "vit_b16", heads={"character": 3, "general": 5}, image_size=32, ifa=True, **kit.TINY_VIT
    ).eval()


@pytest.fixture
def torch_pack(tmp_path, kit, tiny_model) -> Path:
    out = tmp_path / "src" / "tiny-vit"
    write_pack(
        out,
        name="tiny-vit",
        backend="torch",
        heads=kit.heads_for({"character": 3, "general": 5}),
        input_spec=InputSpec(size=32),
        model=tiny_model,
        metrics={"top1": 0.5},
        provenance={"test": True},
    )
    return out


@pytest.fixture
def onnx_pack(tmp_path, kit) -> Path:
    out = tmp_path / "src" / "tiny-onnx"
    spec = InputSpec(
        size=32,
        resize="pad",
        mean=(0, 0, 0),
        std=(1, 1, 1),
        channel_order="BGR",
        layout="NHWC",
        scale=1.0,
    )
    write_pack(
        out,
        name="tiny-onnx",
        backend="onnx",
        input_spec=spec,
        heads=[HeadSpec("tags", "none", kit.labels(4, "general"))],
        onnx_model=kit.channel_model(size=32, tags=4),
    )
    return out


def _edit_json(folder: Path, edit) -> None:
    path = folder / "pack.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _images(n: int, size: int = 40) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [
        Image.fromarray(rng.integers(0, 256, (size, size + 8, 3), dtype=np.uint8)) for _ in range(n)
    ]


# -- round trips ---------------------------------------------------------------------------


def test_torch_pack_round_trip_predicts_like_the_model(torch_pack, tiny_model) -> None:
    pack = load_pack(torch_pack)
    assert (pack.name, pack.version, pack.backend) == ("tiny-vit", "1.0.0", "torch")
    assert pack.architecture == tiny_model.config
    assert [h.name for h in pack.heads] == ["character", "general"]
    assert [h.activation for h in pack.heads] == ["softmax", "sigmoid"]
    assert pack.heads[1].labels[0].category == "general"
    assert pack.metrics == {"top1": 0.5} and pack.provenance == {"test": True}
    assert len(pack.sha256()) == 64

    predictor = open_predictor(pack, device="cpu", optimize=False)
    batch = np.stack([predictor.preprocess(im) for im in _images(3)])
    assert batch.shape == (3, 3, 32, 32) and batch.dtype == np.float32
    out = predictor.predict(batch)
    with torch.inference_mode():
        logits = tiny_model(torch.from_numpy(batch))
    np.testing.assert_allclose(
        out.heads["character"], logits["character"].softmax(1).numpy(), atol=1e-5
    )
    np.testing.assert_allclose(out.heads["general"], logits["general"].sigmoid().numpy(), atol=1e-5)
    assert out.embedding is not None and out.embedding.shape == (3, 64)


def test_onnx_pack_round_trip(onnx_pack) -> None:
    pack = load_pack(onnx_pack)
    assert pack.backend == "onnx" and pack.architecture is None
    predictor = open_predictor(pack, device="cpu")
    assert "CPU" in predictor.device_description and predictor.batch_size > 1
    red = Image.new("RGB", (32, 32), (255, 0, 0))
    out = predictor.predict(np.stack([predictor.preprocess(red)] * 2))
    assert out.heads["tags"].shape == (2, 4) and out.embedding is None
    # BGR: red lands in channel 2.
    np.testing.assert_allclose(out.heads["tags"][0], [0.5, 0.5, 0.982, 0.5], atol=1e-3)


def test_onnx_fixed_batch_runs_in_chunks(tmp_path, kit) -> None:
    spec = InputSpec(size=8, mean=(0, 0, 0), std=(1, 1, 1), layout="NHWC", scale=1.0)
    pack = write_pack(
        tmp_path / "fixed",
        name="fixed",
        backend="onnx",
        input_spec=spec,
        heads=[HeadSpec("tags", "none", kit.labels(3, "general"))],
        onnx_model=kit.channel_model(size=8, batch=1, tags=3),
    )
    predictor = open_predictor(pack, device="cpu")
    assert predictor.batch_size == 1 and "fixed batch 1" in predictor.device_description
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    batch = np.stack([predictor.preprocess(Image.new("RGB", (8, 8), c)) for c in colours])
    probs = predictor.predict(batch).heads["tags"]
    assert probs.shape == (3, 3)
    assert list(probs.argmax(1)) == [0, 1, 2]


def test_hf_pack_round_trip(tmp_path, kit, hf_folder) -> None:
    from transformers import ViTForImageClassification

    pack = write_pack(
        tmp_path / "hf",
        name="hf-tiny",
        backend="hf",
        input_spec=InputSpec(size=32),
        heads=[HeadSpec("character", "softmax", kit.labels(3, "character"))],
        hf_dir=hf_folder,
    )
    predictor = open_predictor(pack, device="cpu", optimize=False)
    batch = np.stack([predictor.preprocess(im) for im in _images(2)])
    out = predictor.predict(batch)
    reference = ViTForImageClassification.from_pretrained(hf_folder, local_files_only=True).eval()
    with torch.inference_mode():
        expected = reference(pixel_values=torch.from_numpy(batch)).logits.softmax(1).numpy()
    np.testing.assert_allclose(out.heads["character"], expected, atol=1e-5)


def test_zip_pack_loads_installs_and_predicts(tmp_path, torch_pack) -> None:
    archive = tmp_path / "tiny-vit.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in torch_pack.iterdir():  # inside a top-level folder, as file managers do
            zf.write(path, f"tiny-vit/{path.name}")
    pack = load_pack(archive)
    assert pack.is_archive and pack.name == "tiny-vit"
    predictor = open_predictor(archive, device="cpu")
    out = predictor.predict(np.zeros((1, 3, 32, 32), dtype=np.float32))
    assert out.heads["character"].shape == (1, 3)
    installed = install_pack(archive, tmp_path / "packs")
    assert installed == tmp_path / "packs" / "tiny-vit"
    assert load_pack(installed).name == "tiny-vit"
    assert sorted(p.name for p in (tmp_path / "packs").iterdir()) == ["tiny-vit"]


def test_install_refuses_to_overwrite_unless_replace(tmp_path, torch_pack) -> None:
    packs = tmp_path / "packs"
    install_pack(torch_pack, packs)
    with pytest.raises(PackError, match="already installed"):
        install_pack(torch_pack, packs)
    _edit_json(torch_pack, lambda d: d.update(version="2.0.0"))
    dest = install_pack(torch_pack, packs, replace=True)
    assert load_pack(dest).version == "2.0.0"
    assert sorted(p.name for p in packs.iterdir()) == ["tiny-vit"]  # no staging leftovers


# -- refused packs -------------------------------------------------------------------------


def assert_refused(pack: Path, match: str) -> None:
    """load_pack refuses ``pack`` with a PackError whose message matches ``match``."""
    with pytest.raises(PackError, match=match):
        load_pack(pack)


def test_label_count_mismatch_is_refused(torch_pack) -> None:
    csv_path = torch_pack / "character.csv"
    csv_path.write_text("\n".join(csv_path.read_text().splitlines()[:-1]) + "\n")
    assert_refused(torch_pack, r"^character\.csv: 2 labels, but the model's head "
                               r"'character' has 3 outputs \(pack\.json: heads\[0\]")


def test_truncated_weights_are_refused(torch_pack) -> None:
    weights = torch_pack / "weights.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) - 100])
    assert_refused(torch_pack, r"^weights\.safetensors: truncated")


def test_weights_of_another_architecture_are_refused(torch_pack) -> None:
    _edit_json(torch_pack, lambda d: d["architecture"].update(num_layers=3))
    assert_refused(torch_pack, r"weights\.safetensors: missing tensors.*layer\.2")


def test_onnx_input_shape_mismatch_is_refused(onnx_pack, tmp_path, kit) -> None:
    _edit_json(onnx_pack, lambda d: d["input"].update(size=64))
    assert_refused(onnx_pack, r"^model\.onnx: input shape .* does not match "
                              r"pack\.json: input\.size 64")
    # write_pack validates too, and leaves nothing behind.
    spec = InputSpec(size=32, layout="NCHW")
    with pytest.raises(PackError, match=r"model\.onnx: input shape"):
        write_pack(
            tmp_path / "bad",
            name="bad",
            backend="onnx",
            input_spec=spec,
            heads=[HeadSpec("tags", "none", kit.labels(4, "general"))],
            onnx_model=kit.channel_model(size=32, tags=4, layout="NHWC"),
        )
    assert not (tmp_path / "bad").exists()


def test_onnx_output_size_must_match_labels(onnx_pack) -> None:
    (onnx_pack / "tags.csv").write_text("name,category,threshold\na,general,0.5\n")
    assert_refused(onnx_pack, r"^tags\.csv: 1 labels, but model\.onnx output 'probs' "
                              r"has 4 outputs")


def test_bad_pack_json_field_names_file_and_field(torch_pack) -> None:
    _edit_json(torch_pack, lambda d: d["heads"][1].update(activation="relu"))
    with pytest.raises(PackError) as info:
        load_pack(torch_pack)
    assert str(info.value) == (
        "pack.json: heads[1].activation: expected one of softmax, sigmoid, none, got 'relu'"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(format=2), r"^pack\.json: format: this version reads format 1"),
        (lambda d: d.update(name="../evil"), r"^pack\.json: name: '\.\./evil'"),
        (lambda d: d.update(backend="tflite"), r"^pack\.json: backend: expected one of"),
        (lambda d: d.update(extra=1), r"^pack\.json: extra: unknown field"),
        (lambda d: d["input"].update(layout="CHW"), r"^pack\.json: input\.layout: expected one"),
        (lambda d: d["input"].update(std=[1, 0, 1]), r"^pack\.json: input\.std: every value"),
        (lambda d: d["input"].update(pad_color=[300, 0, 0]), r"^pack\.json: input\.pad_color"),
        (lambda d: d["input"].pop("mean"), r"^pack\.json: input\.mean: missing"),
        (lambda d: d["input"].update(interpolation="nearest"),
         r"^pack\.json: input\.interpolation: expected one of bicubic, bilinear, got 'nearest'"),
        (lambda d: d["heads"][0].update(labels="../x.csv"), r"^pack\.json: heads\[0\]\.labels"),
        (lambda d: d["heads"][0].update(labels="nope.csv"), r"^nope\.csv: file is missing"),
        (lambda d: d["heads"][0].update(output=0), r"^pack\.json: heads\[0\]\.output: only"),
        (lambda d: d["architecture"].update(name="vit_x"), r"^pack\.json: architecture\.name"),
        (lambda d: d["architecture"].update(depth=3), r"^pack\.json: architecture\.depth"),
        (lambda d: d["heads"].pop(), r"^pack\.json: heads: names \['character'\] do not match"),
    ],
)
def test_invalid_pack_json_is_refused(torch_pack, edit, message) -> None:
    _edit_json(torch_pack, edit)
    assert_refused(torch_pack, message)


def test_bad_label_csv_names_the_line(torch_pack) -> None:
    (torch_pack / "general.csv").write_text(
        "name,category,threshold\nblue_hair,general,0.4\nhat,clothing,0.5\n"
    )
    assert_refused(torch_pack, r"^general\.csv: line 3: category: expected one of")


def test_interpolation_defaults_to_bicubic_and_bilinear_is_kept(torch_pack) -> None:
    assert load_pack(torch_pack).input.interpolation == "bicubic"  # packs without the field
    _edit_json(torch_pack, lambda d: d["input"].update(interpolation="bilinear"))
    spec = load_pack(torch_pack).input
    assert spec.interpolation == "bilinear" and spec.to_dict()["interpolation"] == "bilinear"


def test_scale_fraction_is_accepted(torch_pack) -> None:
    _edit_json(torch_pack, lambda d: d["input"].update(scale="1/255"))
    assert load_pack(torch_pack).input.scale == pytest.approx(1 / 255)


def test_hf_label_mismatch_is_refused(tmp_path, kit, hf_folder) -> None:
    with pytest.raises(PackError, match=r"^character\.csv: 2 labels, but config\.json id2label"):
        write_pack(
            tmp_path / "hf",
            name="hf",
            backend="hf",
            input_spec=InputSpec(size=32),
            heads=[HeadSpec("character", "softmax", kit.labels(2, "character"))],
            hf_dir=hf_folder,
        )


# -- unsafe archives -----------------------------------------------------------------------


def _zip_with(tmp_path: Path, torch_pack: Path, extra: zipfile.ZipInfo, data: bytes = b"x") -> Path:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in torch_pack.iterdir():
            zf.write(path, path.name)
        zf.writestr(extra, data)
    return archive


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../escape.txt", r"evil\.zip: \.\./escape\.txt: unsafe path \(goes outside"),
        ("a/../../escape.txt", r"unsafe path \(goes outside"),
        ("/etc/escape.txt", r"unsafe path \(absolute\)"),
        ("C:/escape.txt", r"unsafe path \(absolute\)"),
        ("a\\..\\escape.txt", r"unsafe path \(backslash"),
    ],
)
def test_zip_with_unsafe_member_is_refused(tmp_path, torch_pack, member, message) -> None:
    archive = _zip_with(tmp_path, torch_pack, zipfile.ZipInfo(member))
    with pytest.raises(PackError, match=message):
        install_pack(archive, tmp_path / "packs")
    assert_refused(archive, message)
    assert not (tmp_path / "escape.txt").exists()
    assert list((tmp_path / "packs").iterdir()) == []


def test_zip_with_symlink_is_refused(tmp_path, torch_pack) -> None:
    info = zipfile.ZipInfo("link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = _zip_with(tmp_path, torch_pack, info, b"/etc/passwd")
    with pytest.raises(PackError, match="symbolic links are not allowed"):
        install_pack(archive, tmp_path / "packs")


def test_zip_over_the_size_limit_is_refused(tmp_path, torch_pack) -> None:
    archive = _zip_with(tmp_path, torch_pack, zipfile.ZipInfo("padding.bin"), b"\0" * 100_000)
    with pytest.raises(PackError, match="over the limit"):
        install_pack(archive, tmp_path / "packs", max_bytes=50_000)


def test_folder_with_symlink_is_refused(tmp_path, torch_pack) -> None:
    (torch_pack / "link").symlink_to("/etc/passwd")
    with pytest.raises(PackError, match="symbolic links are not allowed"):
        install_pack(torch_pack, tmp_path / "packs")
    shutil.rmtree(tmp_path / "packs")
