"""Helpers for the tagging tests: images in a library, a fake predictor, tiny real packs.

Imported by the test modules as ``tagging_kit`` (tests/core is on pytest's pythonpath, see
pyproject.toml); pytest does not collect it on its own.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from animesion_desktop.core.library import Library
from animesion_desktop.core.library.schema import File, Root
from animesion_desktop.core.library.schema import Image as ImageRow
from animesion_desktop.core.tagging.job import PackRow
from animesion_desktop.core.tagging.packs_registry import record_pack

# -- images ---------------------------------------------------------------------------------

COLOURS = {
    "red": (230, 20, 20),
    "green": (20, 230, 20),
    "blue": (20, 20, 230),
    "dark": (10, 10, 10),
}


def make_image(path: Path, colour: tuple[int, int, int], size: int = 48, fmt: str = "PNG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), colour).save(path, fmt)
    return path


def add_files(lib: Library, root: Path, paths: Sequence[Path]) -> list[int]:
    """Index files the way a scan would (root, file and image rows); returns image ids."""
    root = root.resolve()

    def add(session):
        root_row = session.query(Root).filter_by(path=root).one_or_none()
        if root_row is None:
            root_row = Root(path=root, added_at=time.time())
            session.add(root_row)
            session.flush()
        ids = []
        for p in paths:
            p = Path(p).resolve()
            rel = p.relative_to(root)
            data = p.read_bytes()
            image = ImageRow(hash=hashlib.sha256(data + os.fsencode(rel)).hexdigest(),
                             width=None, height=None, format=p.suffix.lstrip(".").upper(),
                             added_at=time.time())
            session.add(image)
            session.flush()
            session.add(File(root_id=root_row.id, relpath_raw=os.fsencode(rel), relpath=str(rel),
                             size=len(data), mtime_ns=p.stat().st_mtime_ns, image_id=image.id,
                             status="ok", seen_at=time.time()))
            ids.append(image.id)
        return ids

    return lib.write(add)


def colour_library(lib: Library, root: Path, names: Sequence[str], fmt: str = "PNG") -> list[int]:
    ext = {"PNG": "png", "JPEG": "jpg"}[fmt]
    paths = [make_image(root / f"{i:03d}_{n}.{ext}", COLOURS[n], fmt=fmt)
             for i, n in enumerate(names)]
    return add_files(lib, root, paths)


# -- a fake predictor that conforms to the models contract ------------------------------------


@dataclass(frozen=True)
class FakeLabel:
    name: str
    category: str
    threshold: float


@dataclass(frozen=True)
class FakeHead:
    name: str
    activation: str
    labels: tuple[FakeLabel, ...]


CHARACTERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace")
FAKE_HEADS = (
    FakeHead("character", "softmax", tuple(FakeLabel(n, "character", 0.5) for n in CHARACTERS)),
    FakeHead("general", "sigmoid", tuple(FakeLabel(n, "general", 0.5) for n in COLOURS)),
    FakeHead("rating", "softmax", tuple(FakeLabel(n, "rating", 0.5)
                                         for n in ("general", "sensitive", "explicit"))),
)


@dataclass
class FakePrediction:
    heads: dict[str, np.ndarray]
    embedding: np.ndarray | None


@dataclass
class FakePredictor:
    """Scores from the mean colour: general red/green/blue/dark follow the pixels; the
    character is alice for red, bob for green, carol for blue, dave for dark."""

    batch_size: int = 4
    delay: float = 0.0  # seconds per batch, to make runs cancellable mid-way
    device_description: str = "fake CPU"
    batches: list[int] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    boost: dict[str, float] = field(default_factory=dict)  # general tag -> forced score

    def preprocess(self, image: Image.Image) -> np.ndarray:
        small = np.asarray(image.convert("RGB").resize((8, 8)), dtype=np.float32) / 255.0
        return small.transpose(2, 0, 1)  # [3, 8, 8]

    def predict(self, batch: np.ndarray) -> FakePrediction:
        self.threads.add(threading.current_thread().name)
        self.batches.append(len(batch))
        if self.delay:
            time.sleep(self.delay)
        rgb = batch.mean(axis=(2, 3))  # [N, 3]
        dark = 1.0 - rgb.max(axis=1, keepdims=True)  # [N, 1]
        general = np.concatenate([rgb, dark], axis=1)  # [N, 4] in COLOURS order
        for tag, score in self.boost.items():
            general[:, list(COLOURS).index(tag)] = score
        logits = np.zeros((len(batch), len(CHARACTERS)), dtype=np.float32)
        logits[:, :4] = general * 8.0
        character = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        rating = np.tile(np.array([[0.7, 0.2, 0.1]], dtype=np.float32), (len(batch), 1))
        return FakePrediction(
            {"character": character, "general": general.astype(np.float32), "rating": rating},
            embedding=np.concatenate([rgb, dark], axis=1).astype(np.float32),
        )


def register_fake_pack(lib: Library, name: str = "fake", active: bool = True) -> PackRow:
    path = lib.location.packs_dir / name

    def add(session):
        return record_pack(session, name=name, version="1", sha256="0" * 64, path=path,
                           heads=FAKE_HEADS, info={"backend": "fake"}, active=active)

    return PackRow(lib.write(add), name, path)


# -- tiny real packs (models.pack.write_pack + a small torch model) ---------------------------


def write_real_pack(out: Path, name: str = "tiny", *, characters: Sequence[str] = CHARACTERS,
                    general: Sequence[str] = tuple(COLOURS), size: int = 32,
                    arch: str = "shallow", seed: int = 0, char_threshold: float = 0.3,
                    general_threshold: float = 0.5) -> Path:
    """A random-weight torch pack with character, general and rating heads."""
    import torch

    from models.labels import Label
    from models.pack import HeadSpec, InputSpec, write_pack
    from models.registry import create_model

    torch.manual_seed(seed)
    heads = {"character": len(characters), "general": len(general), "rating": 3}
    model = create_model(arch, heads=heads, image_size=size)
    specs = [
        HeadSpec("character", "softmax",
                 tuple(Label(c, "character", char_threshold) for c in characters)),
        HeadSpec("general", "sigmoid",
                 tuple(Label(g, "general", general_threshold) for g in general)),
        HeadSpec("rating", "softmax",
                 tuple(Label(r, "rating", 0.5) for r in ("general", "sensitive", "explicit"))),
    ]
    write_pack(out, name=name, backend="torch", heads=specs, model=model,
               input_spec=InputSpec(size=size), provenance={"test": True},
               metrics={"top1": 0.5})
    return out


# -- outside formats: a WD-style ONNX tagger folder and an Animesion checkpoint ----------------

WD_TAGS = (  # (name, WD category code): 9 rating, 0 general, 4 character
    ("general", 9), ("sensitive", 9), ("explicit", 9),
    ("red", 0), ("green", 0), ("blue", 0),
    ("alice", 4), ("bob", 4), ("carol", 4), ("dave", 4), ("erin", 4), ("frank", 4),
)


def tiny_onnx_tagger(shape: Sequence[object] = ("batch", 32, 32, 3)) -> bytes:
    """An ONNX model like a WD tagger: NHWC BGR 0-255 in, sigmoid scores for WD_TAGS out.
    The score of red/green/blue (and of alice/bob/carol) follows that colour's mean."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    k = len(WD_TAGS)
    weights = np.zeros((3, k), dtype=np.float32)  # channels in BGR order
    bias = np.full((k,), -5.0, dtype=np.float32)
    for tag_index, channel in ((3, 2), (4, 1), (5, 0), (6, 2), (7, 1), (8, 0)):
        weights[channel, tag_index] = 0.05
    bias[0] = 2.0  # rating: general, always
    axes = [1, 2] if shape[-1] == 3 else [2, 3]
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["input"], ["mean"], axes=axes, keepdims=0),
            helper.make_node("MatMul", ["mean", "w"], ["logits0"]),
            helper.make_node("Add", ["logits0", "b"], ["logits"]),
            helper.make_node("Sigmoid", ["logits"], ["output"]),
        ],
        "tiny_tagger",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", k])],
        [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def write_wd_folder(folder: Path, shape: Sequence[object] = ("batch", 32, 32, 3)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(tiny_onnx_tagger(shape))
    lines = ["tag_id,name,category,count"]
    lines += [f"{i},{name},{code},100" for i, (name, code) in enumerate(WD_TAGS)]
    (folder / "selected_tags.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def write_animesion_checkpoint(folder: Path, classes: Sequence[str] = CHARACTERS,
                               size: int = 32) -> Path:
    """A ShallowNet checkpoint in the original project's layout (state_dict keys ``layer1.*``,
    ``fc.1.*``, ``fc.4.*``) saved with torch.save, and its classid_classname.csv."""
    import torch

    from models.registry import create_model

    torch.manual_seed(1)
    model = create_model("shallow", heads={"character": len(classes)}, image_size=size)
    renames = {"fc1.": "fc.1.", "head.heads.character.": "fc.4."}
    state = {}
    for key, value in model.state_dict().items():
        for ours, theirs in renames.items():
            if key.startswith(ours):
                key = theirs + key[len(ours):]
        state[key] = value
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / "shallow_daf.pth")
    (folder / "classid_classname.csv").write_text(
        "".join(f"{i},{c}\n" for i, c in enumerate(classes)), encoding="utf-8")
    return folder / "shallow_daf.pth"


def write_hf_folder(folder: Path, labels: Sequence[str] = CHARACTERS[:3]) -> Path:
    """A tiny transformers ViT image classifier saved as config.json + model.safetensors."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification

    torch.manual_seed(2)
    config = ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=64, image_size=32, patch_size=16,
                       id2label=dict(enumerate(labels)),
                       label2id={n: i for i, n in enumerate(labels)})
    ViTForImageClassification(config).save_pretrained(folder, safe_serialization=True)
    return folder


# -- predictions written directly (review and threshold tests) --------------------------------


def add_predictions(lib: Library, pack_id: int, scores: dict[int, dict[str, float]]) -> None:
    """Store ``{image_id: {"character:alice": 0.9, "red": 0.7}}`` as the pack's predictions
    (and its inference runs), then refresh the effective tags, as a tagging run would."""
    from sqlalchemy import text

    from animesion_desktop.core.library import effective
    from animesion_desktop.core.library.tags import get_or_create_tag, parse_tag

    def add(session):
        conn = session.connection()
        for image_id, by_tag in scores.items():
            for tag, score in by_tag.items():
                tag_id = get_or_create_tag(session, *parse_tag(tag))
                conn.execute(text("INSERT OR REPLACE INTO predictions (image_id, pack_id, tag_id, "
                                  "score) VALUES (:i, :p, :t, :s)"),
                             {"i": image_id, "p": pack_id, "t": tag_id, "s": score})
            conn.execute(text("INSERT OR REPLACE INTO inference_runs (image_id, pack_id, at) "
                              "VALUES (:i, :p, 0)"), {"i": image_id, "p": pack_id})
        effective.refresh_images(conn, list(scores))

    lib.write(add)


# -- a real `animesion` process killed mid-run --------------------------------------------------


def committed_runs(db: Path) -> int:
    """Count run records through a read-only connection of our own (never the app's)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM inference_runs").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # the library is still being created


def sigkill_after_first_run(db: Path, cwd: Path, what: str, *args: str) -> tuple[int, int]:
    """Run ``animesion --library DB ARGS`` and SIGKILL it once its first inference run is
    committed; returns (runs committed when it was killed, its exit status). ``what`` names
    the run in the failure when it ends before it could be killed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "animesion_desktop", "--library", str(db), *args],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 120
        seen = 0
        while time.monotonic() < deadline and proc.poll() is None:
            seen = committed_runs(db)
            if seen >= 1:
                break
            time.sleep(0.01)
        assert proc.poll() is None, f"the {what} ended before it could be killed: {proc.stderr.read()}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    return seen, proc.returncode
