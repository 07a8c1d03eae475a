import torch
from PIL import Image

from training.data.dataset import ImageFileDataset, InMemoryDataset
from training.data.images import load_rgb
from training.data.labels import LabelSpace, TargetEncoder
from training.data.loader import make_loader
from training.data.sources import open_dataset
from training.data.transforms import Normalizer, TransformOptions, eval_transform, train_transform
from training.errors import DataError


def test_decoding_shrinks_large_images_but_never_below_the_target(tmp_path):
    Image.new("RGB", (1000, 800), (10, 20, 30)).save(tmp_path / "big.jpg", quality=90)
    Image.new("RGB", (1000, 800), (10, 20, 30)).save(tmp_path / "big.png")
    for name in ("big.jpg", "big.png"):
        img = load_rgb(tmp_path / name, min_side=160)
        assert 160 <= min(img.size) < 400, (name, img.size)
        assert img.mode == "RGB"
    assert load_rgb(tmp_path / "big.png").size == (1000, 800)


def test_transparent_images_go_on_white(tmp_path):
    Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(tmp_path / "clear.png")
    assert load_rgb(tmp_path / "clear.png").getpixel((0, 0)) == (255, 255, 255)


def test_undecodable_file_names_the_file(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    try:
        load_rgb(tmp_path / "bad.png")
    except DataError as exc:
        assert "bad.png" in str(exc)
    else:
        raise AssertionError("expected DataError")


def test_transforms_give_uint8_of_the_image_size():
    img = Image.new("RGB", (50, 70), (255, 0, 0))
    opts = TransformOptions(image_size=32)
    for tf in (train_transform(opts), eval_transform(opts),
               train_transform(TransformOptions(32, resize_margin=0, hflip=False, color_jitter=0))):
        x = tf(img)
        assert x.dtype == torch.uint8 and x.shape == (3, 32, 32)
    norm = Normalizer()
    out = norm(torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2).expand(1, 3, 1, 2))
    assert torch.allclose(out[0, :, 0, 0], torch.tensor(-1.0))
    assert torch.allclose(out[0, :, 0, 1], torch.tensor(1.0))


def test_loader_with_workers_yields_image_batches_and_target_dicts(toy_export):
    ds = open_dataset("export", toy_export)
    space = LabelSpace.build(ds.samples)
    opts = TransformOptions(image_size=32)
    data = ImageFileDataset(ds.samples, TargetEncoder(space), train_transform(opts), 64)
    loader = make_loader(data, batch_size=8, train=True, workers=1, seed=0)
    images, targets = next(iter(loader))
    assert images.shape == (8, 3, 32, 32) and images.dtype == torch.uint8
    assert set(targets) == {"character", "copyright", "general", "rating"}
    assert targets["general"].shape == (8, len(space.heads["general"]))
    assert len(loader) == len(ds.samples) // 8  # drop_last in training
    memory = InMemoryDataset.from_dataset(
        ImageFileDataset(ds.samples[:5], TargetEncoder(space), eval_transform(opts)))
    assert memory.images.shape == (5, 3, 32, 32)
    assert len(make_loader(memory, batch_size=4, train=False, workers=0)) == 2


def test_batch_colour_jitter_varies_per_image_and_stays_in_range():
    from training.data.transforms import BatchColorJitter

    torch.manual_seed(0)
    images = torch.randint(0, 256, (1, 3, 8, 8), dtype=torch.uint8).repeat(4, 1, 1, 1)
    jitter = BatchColorJitter(0.1)
    out = jitter(images)
    assert out.dtype == torch.float32 and out.shape == images.shape
    assert out.min() >= 0 and out.max() <= 255
    assert not torch.allclose(out[0], out[1])  # each image gets its own factors
    assert (out - images.float()).abs().mean() < 40  # a jitter, not a new picture
    assert torch.equal(BatchColorJitter(0.0)(images), images.float())
    assert torch.equal(jitter.eval()(images), images.float())  # evaluation: no jitter
    grey = torch.full((2, 3, 4, 4), 128, dtype=torch.uint8)
    hue_only = BatchColorJitter(0.1).train()
    rotated = torch.einsum("ij,njhw->nihw", hue_only.rgb @ hue_only.yiq, grey.float())
    assert torch.allclose(rotated, grey.float(), atol=1e-3)  # the colour matrices round-trip
