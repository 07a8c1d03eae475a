
import numpy as np

from training import synthetic
from training.data.export_format import read_export


def test_characters_are_deterministic_and_distinct():
    a = synthetic.make_characters(30, seed=1)
    b = synthetic.make_characters(30, seed=1)
    assert a == b
    assert len({c.name for c in a}) == 30
    combos = [(c.hair_colour, c.hair_style, c.eye_colour, c.accessories) for c in a]
    assert len(set(combos)) == 30
    assert synthetic.make_characters(30, seed=2) != a


def test_images_are_deterministic_and_varied():
    first = list(synthetic.generate(2, 3, size=32, seed=0))
    again = list(synthetic.generate(2, 3, size=32, seed=0))
    other = list(synthetic.generate(2, 3, size=32, seed=0, image_seed=9))
    for x, y, z in zip(first, again, other, strict=True):
        assert np.array_equal(np.asarray(x.image), np.asarray(y.image))
        assert x.tags == y.tags
        assert x.character == z.character  # same characters, new pictures
    assert not np.array_equal(np.asarray(first[0].image), np.asarray(first[1].image))
    assert not np.array_equal(np.asarray(first[0].image), np.asarray(other[0].image))


def test_tags_describe_the_character_and_picture():
    vocabulary = set(synthetic.all_tags())
    for toy in synthetic.generate(5, 4, size=32, seed=4):
        assert set(toy.character.tags()) <= set(toy.tags) <= vocabulary
        assert toy.image.size == (32, 32) and toy.image.mode == "RGB"
        assert toy.rating == ("sensitive" if "bare_shoulders" in toy.tags else "general")
        assert ("smile" in toy.tags) != ("open_mouth" in toy.tags)


def test_a_thousand_images_are_distinct_and_repeatable():
    images = list(synthetic.generate(20, 50, size=64, seed=0))
    assert len(images) == 1000
    assert len({toy.image.tobytes() for toy in images}) == 1000
    again = next(iter(synthetic.generate(20, 50, size=64, seed=0)))
    assert again.image.tobytes() == images[0].image.tobytes() and again.tags == images[0].tags


def test_written_dataset_reads_back_and_is_reused(tmp_path):
    spec = synthetic.SyntheticSpec(n_characters=3, per_character=4, size=32, seed=5)
    root = synthetic.write_dataset(tmp_path / "d", spec)
    ds = read_export(root)
    assert len(ds.samples) == 12
    assert {s.character for s in ds.samples} == {c.name for c in synthetic.make_characters(3, 5)}
    assert all(s.tags and s.rating and s.copyright for s in ds.samples)
    mtime = (root / "labels.csv").stat().st_mtime_ns
    synthetic.write_dataset(root, spec)
    assert (root / "labels.csv").stat().st_mtime_ns == mtime
