"""Importing WD tagger folders (model.onnx + selected_tags.csv) as onnx packs.

WD taggers take NHWC, BGR, 0-255 float input padded white to a square, at the size of the
model's input, and output sigmoid probabilities, one per row of selected_tags.csv
(``tag_id,name,category,count``; category 9 rating, 0 general, 4 character, and the Danbooru
codes 1 artist, 3 copyright, 5 meta).
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from models.errors import PackError
from models.labels import Label
from models.pack import ModelPack, safe_pack_name, write_pack
from models.spec import HeadSpec, InputSpec

TAGS_CSV = "selected_tags.csv"
MODEL = "model.onnx"
WD_CATEGORIES = {0: "general", 1: "artist", 3: "copyright", 4: "character", 5: "meta", 9: "rating"}
# Thresholds commonly used with WD taggers; the app can change them without rerunning.
THRESHOLDS = {"general": 0.35, "character": 0.85}
DEFAULT_THRESHOLD = 0.5


def read_selected_tags(path: Path) -> list[Label]:
    where = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PackError(f"{where}: file is missing") from None
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or not {"name", "category"} <= set(reader.fieldnames):
        raise PackError(f"{where}: line 1: expected columns tag_id,name,category,count")
    labels: list[Label] = []
    for number, row in enumerate(reader, start=2):
        try:
            code = int(row["category"])
        except (TypeError, ValueError):
            raise PackError(
                f"{where}: line {number}: category {row['category']!r} is not a number"
            ) from None
        category = WD_CATEGORIES.get(code)
        if category is None:
            raise PackError(f"{where}: line {number}: category: unknown WD category {code}")
        name = (row["name"] or "").strip()
        if not name:
            raise PackError(f"{where}: line {number}: name is empty")
        labels.append(Label(name, category, THRESHOLDS.get(category, DEFAULT_THRESHOLD)))
    if not labels:
        raise PackError(f"{where}: no tags")
    return labels


def _input_size(model: Path) -> int:
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several private exception types
        raise PackError(f"{model.name}: onnxruntime cannot load it: {exc}") from None
    shape = session.get_inputs()[0].shape  # WD: [batch, H, W, 3]
    if len(shape) != 4 or shape[3] != 3 or not isinstance(shape[1], int) or shape[1] != shape[2]:
        raise PackError(f"{model.name}: input shape {shape} is not [batch, S, S, 3] (NHWC)")
    return int(shape[1])


def import_wd_tagger(
    folder: str | Path, out_dir: str | Path, *, name: str | None = None
) -> ModelPack:
    """Convert a WD tagger folder into an onnx pack at ``out_dir`` with one head "tags"."""
    folder = Path(folder)
    model = folder / MODEL
    if not model.is_file():
        raise PackError(f"{MODEL}: file is missing in {folder}")
    labels = read_selected_tags(folder / TAGS_CSV)
    spec = InputSpec(
        size=_input_size(model),
        resize="pad",
        pad_color=(255, 255, 255),
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        channel_order="BGR",
        layout="NHWC",
        scale=1.0,
    )
    return write_pack(
        out_dir,
        name=name or safe_pack_name(folder.name, "wd-tagger"),
        backend="onnx",
        # One output of probabilities for all categories; each label carries its category.
        heads=[HeadSpec("tags", "none", tuple(labels), output=0)],
        input_spec=spec,
        onnx_model=model,
        provenance={
            "importer": "wd-tagger",
            "source": folder.name,
            "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
        },
    )
