from collections import Counter

import torch

from training.data.labels import IGNORE_INDEX, LabelSpace, TargetEncoder
from training.data.samples import LabelledSet, Sample
from training.data.sources import open_dataset
from training.data.splits import load_splits, plan_splits, stratified_split


def test_stratified_split_is_seeded_and_keeps_proportions():
    keys = ["a"] * 50 + ["b"] * 20 + ["c"] * 7 + ["d"] * 1
    first = stratified_split(keys, seed=1)
    assert first == stratified_split(keys, seed=1)
    assert first != stratified_split(keys, seed=2)
    counts = Counter(zip(keys, first, strict=True))
    assert (counts[("a", "train")], counts[("a", "val")], counts[("a", "test")]) == (40, 5, 5)
    assert (counts[("b", "train")], counts[("b", "val")], counts[("b", "test")]) == (16, 2, 2)
    assert counts[("c", "val")] == 1 and counts[("c", "test")] == 1 and counts[("c", "train")] == 5
    assert counts[("d", "train")] == 1


def test_plan_carves_val_out_of_train_when_files_have_none(tmp_path):
    samples = [Sample(tmp_path / f"{i}.png", character="ab"[i % 2]) for i in range(40)]
    ds = LabelledSet("moeimouto", tmp_path, samples, split_of=["train"] * 30 + ["test"] * 10)
    plan = plan_splits(ds, seed=0)
    assert plan.source == "files, val from train"
    assert plan.counts()["test"] == 10 and plan.counts()["val"] > 0
    assert sum(plan.counts().values()) == 40


def test_recorded_splits_round_trip(toy_export, tmp_path):
    ds = open_dataset("export", toy_export)
    plan = plan_splits(ds, seed=4)
    assert plan.source == "generated"
    plan.save(tmp_path / "splits.json", ds)
    again = load_splits(tmp_path / "splits.json", open_dataset("export", toy_export))
    assert again.indices == plan.indices


def test_label_space_and_targets(tmp_path):
    train = [
        Sample(tmp_path / "1", character="a", tags=("x", "y"), rating="general"),
        Sample(tmp_path / "2", character="b", tags=("x",), rating="sensitive"),
    ]
    other = [Sample(tmp_path / "3", character="c", tags=("z",)), Sample(tmp_path / "4")]
    space = LabelSpace.build(train + other, tag_samples=train, min_tag_count=1)
    assert space.heads == {"character": ["a", "b", "c"], "general": ["x", "y"],
                           "rating": ["general", "sensitive"]}
    encode = TargetEncoder(space)
    t = encode(train[0])
    assert t["character"].item() == 0 and t["general"].tolist() == [1.0, 1.0]
    t = encode(other[1])
    assert t["character"].item() == IGNORE_INDEX and t["rating"].item() == IGNORE_INDEX
    assert torch.all(t["general"] == -1)  # unknown tags are masked, not negatives
    assert LabelSpace.from_dict(space.to_dict()).heads == space.heads
    only = LabelSpace.build(train, heads=["character"])
    assert list(only.heads) == ["character"]
