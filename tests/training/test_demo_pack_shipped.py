"""The demo pack in resources/: small, loadable, and as good as it says on fresh pictures."""

from pathlib import Path

import pytest

from models.pack import load_pack
from training.evaluate import evaluate
from training.synthetic import SyntheticSpec, write_dataset

DEMO = Path(__file__).resolve().parents[2] / "resources" / "packs" / "demo"

pytestmark = pytest.mark.skipif(not (DEMO / "pack.json").is_file(), reason="demo pack not built")


def test_demo_pack_is_small_and_records_its_metrics():
    size = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert size <= 10 * 1024 * 1024
    pack = load_pack(DEMO)
    assert {"character", "general"} <= {h.name for h in pack.heads}
    fresh = pack.metrics["fresh_synthetic_test"]
    assert fresh["character"]["top1"] >= 0.95 and fresh["images"] >= 500
    assert pack.metrics["recipe"]["command"].startswith("animesion-train demo-pack")
    assert pack.provenance["data"]["kind"] == "synthetic"


def test_demo_pack_recognises_freshly_drawn_characters(tmp_path):
    pack = load_pack(DEMO)
    spec = SyntheticSpec(**{**pack.metrics["fresh_synthetic_test"]["spec"],
                            "per_character": 4, "image_seed": 4242})
    data = write_dataset(tmp_path / "fresh", spec)
    results = evaluate(DEMO, out=tmp_path / "eval", dataset="export", data=str(data), split="all")
    assert results["heads"]["character"]["top1"] >= 0.9
