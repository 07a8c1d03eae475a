"""`animesion-train infer PACK IMAGES...`: top-5 characters and the tags of each image.

Optionally saves a picture per image: the image beside a bar chart of its top-5 characters
(Animesion's inference.py output).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from models.pack import ModelPack, load_pack  # noqa: E402
from training.data.images import load_rgb  # noqa: E402
from training.data.samples import is_image  # noqa: E402
from training.errors import TrainingError  # noqa: E402


@dataclass
class ImageResult:
    path: Path
    top: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # softmax heads
    tags: list[tuple[str, float]] = field(default_factory=list)  # general, above threshold

    def to_dict(self) -> dict:
        return {"path": str(self.path),
                "top": {h: [[n, round(p, 4)] for n, p in v] for h, v in self.top.items()},
                "tags": [[n, round(p, 4)] for n, p in self.tags]}


def expand_images(paths: list[Path | str]) -> list[Path]:
    """Files as given; folders contribute their images (sorted, recursively)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.is_file() and is_image(f)))
        elif p.is_file():
            found.append(p)
        else:
            raise TrainingError(f"{p}: no such image or folder")
    if not found:
        raise TrainingError("no images to run on")
    return found


def infer(
    pack_path: Path | str, images: list[Path | str], *, top: int = 5, device: str | None = None,
    optimize: bool = True, save_dir: Path | str | None = None, precision: str | None = None,
) -> list[ImageResult]:
    """``precision``: auto, fp32, int8, bf16 or fp16 (None: auto if ``optimize``, else fp32)."""
    from models.backends import open_predictor

    pack: ModelPack = load_pack(pack_path)
    files = expand_images(images)
    results: list[ImageResult] = []
    with open_predictor(pack, device=device, optimize=optimize,
                        precision=precision) as predictor:
        for lo in range(0, len(files), predictor.batch_size):
            chunk = files[lo:lo + predictor.batch_size]
            pictures = [load_rgb(f) for f in chunk]
            prediction = predictor.predict(np.stack([predictor.preprocess(p) for p in pictures]))
            for i, (path, picture) in enumerate(zip(chunk, pictures, strict=True)):
                result = ImageResult(path)
                for head in predictor.pack.heads:
                    probs = prediction.heads[head.name][i]
                    names = [lab.name for lab in head.labels]
                    if head.activation == "sigmoid":
                        thresholds = np.array([lab.threshold for lab in head.labels])
                        hits = np.flatnonzero(probs >= thresholds)
                        result.tags = sorted(((names[j], float(probs[j])) for j in hits),
                                             key=lambda t: -t[1])
                    else:
                        order = np.argsort(-probs)[:top]
                        result.top[head.name] = [(names[j], float(probs[j])) for j in order]
                results.append(result)
                if save_dir is not None:
                    save_picture(picture, result, Path(save_dir))
    return results


def save_picture(picture, result: ImageResult, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    head = "character" if "character" in result.top else next(iter(result.top), None)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4),
                                      gridspec_kw={"width_ratios": [1, 1.3]})
    left.imshow(picture)
    left.axis("off")
    left.set_title(result.path.name, fontsize=8)
    if head:
        names = [n for n, _ in result.top[head]][::-1]
        probs = [p for _, p in result.top[head]][::-1]
        right.barh(names, probs, color="#4477aa")
        right.set_xlim(0, 1)
        right.set_xlabel("probability")
        right.set_title(f"top-{len(names)} {head}", fontsize=9)
        right.tick_params(axis="y", labelsize=8)
    if result.tags:
        shown = ", ".join(t for t, _ in result.tags[:12])
        fig.text(0.02, 0.02, f"tags: {shown}", fontsize=7, wrap=True)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    out = folder / f"{result.path.stem}_top5.png"
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def format_result(result: ImageResult) -> str:
    lines = [str(result.path)]
    for head, ranked in result.top.items():
        shown = "  ".join(f"{n} {p:.1%}" for n, p in ranked)
        lines.append(f"  {head}: {shown}")
    if result.tags:
        lines.append("  tags: " + " ".join(f"{n}({p:.2f})" for n, p in result.tags))
    return "\n".join(lines)
