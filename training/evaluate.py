"""`animesion-train evaluate`: a checkpoint or a pack on any data set and split.

Writes into --out: results.json (everything below), per_class_accuracy.csv, misclassified.csv,
tags.csv (AP, threshold, precision, recall per tag) and pr_curves.png. Packs run through
models.backends.open_predictor exactly as the app runs them; --compare-precision runs the pack
twice, fp32 and with the CPU fast path, and reports both side by side.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.pack import ModelPack, load_pack
from training.checkpoint import load_checkpoint
from training.config import TrainConfig, config_from_dict
from training.data.images import load_rgb
from training.data.labels import IGNORE_INDEX, LabelSpace, TargetEncoder
from training.data.samples import HEAD_KINDS, Sample
from training.errors import TrainingError
from training.export import build_heads, input_spec, run_checkpoint
from training.metrics import (
    best_f1_thresholds,
    confused_pairs,
    expected_calibration_error,
    f1_at,
    macro_accuracy,
    mean_average_precision,
    per_class_accuracy,
    precision_recall_curve,
    single_label_curve,
    single_label_precision_recall,
    topk_accuracy,
)
from training.modeling import model_from_checkpoint
from training.outputs import Outputs
from training.plots import plot_pr_curves
from training.rundata import RunData, load_run_data

TOLERANCE_POINTS = 0.5


@dataclass
class Source:
    kind: str  # "checkpoint" or "pack"
    path: Path
    space: LabelSpace
    cfg: TrainConfig
    thresholds: dict[str, np.ndarray]
    checkpoint: dict[str, Any] | None = None
    pack: ModelPack | None = None


def open_source(path: Path | str) -> Source:
    path = Path(path)
    if path.is_dir() or path.suffix == ".zip":
        pack = load_pack(path)
        space = LabelSpace({h.name: [lab.name for lab in h.labels] for h in pack.heads
                            if h.name in HEAD_KINDS})
        if not space.heads:
            raise TrainingError(f"{path}: the pack has none of the heads {', '.join(HEAD_KINDS)}")
        thresholds = {h.name: np.array([lab.threshold for lab in h.labels]) for h in pack.heads}
        raw = pack.provenance.get("training_config")
        cfg = config_from_dict(raw) if isinstance(raw, dict) else TrainConfig()
        return Source("pack", path, space, cfg, thresholds, pack=pack)
    ckpt = load_checkpoint(path)
    space = LabelSpace.from_dict(ckpt["labels"])
    return Source("checkpoint", path, space, config_from_dict(ckpt["config"]),
                  {h: np.full(len(n), 0.5) for h, n in space.heads.items()}, checkpoint=ckpt)


def _split_samples(run: RunData, split: str) -> list[Sample]:
    return list(run.ds.samples) if split == "all" else run.samples(split)


def predict_pack(
    pack: ModelPack | Path, samples: list[Sample], space: LabelSpace, *, optimize: bool = True,
    device: str | None = None, batch_size: int | None = None, threads: int = 2,
    precision: str | None = None,
) -> tuple[Outputs, dict[str, Any]]:
    """Probabilities of a pack on `samples`, decoded on threads as the app's pipeline does.
    ``precision``: auto, fp32, int8, bf16 or fp16 (None: auto if ``optimize``, else fp32)."""
    from models.backends import open_predictor  # imports a backend only when evaluating one

    encoder = TargetEncoder(space)
    with open_predictor(pack, device=device, optimize=optimize,
                        precision=precision) as predictor:
        size = predictor.pack.input.size
        batch = batch_size or max(16, predictor.batch_size)

        def prepare(sample: Sample) -> np.ndarray:
            return predictor.preprocess(load_rgb(sample.path, size))

        probs: dict[str, list[np.ndarray]] = {}
        model_seconds = 0.0
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for lo in range(0, len(samples), batch):
                x = np.stack(list(pool.map(prepare, samples[lo:lo + batch])))
                t0 = time.perf_counter()
                prediction = predictor.predict(x)
                model_seconds += time.perf_counter() - t0
                for head, p in prediction.heads.items():
                    probs.setdefault(head, []).append(p)
        finish = getattr(predictor, "finish_check", None)
        if finish is not None:
            finish()
        description = predictor.device_description
        ran = predictor.precision
        agreement = getattr(predictor, "agreement", None)
    encoded = [encoder(s) for s in samples]
    outputs = Outputs(
        probs={h: np.concatenate(v) for h, v in probs.items() if h in space.heads},
        targets={h: np.stack([e[h].numpy() for e in encoded]) for h in space.heads},
    )
    timing = {"device": description, "precision": ran, "agreement": agreement,
              "model_seconds": round(model_seconds, 3),
              "images_per_second": round(len(samples) / max(model_seconds, 1e-9), 1)}
    return outputs, timing


def head_report(
    head: str, names: list[str], outputs: Outputs, thresholds: np.ndarray, samples: list[Sample],
    root: Path, out: Path,
) -> dict[str, Any]:
    probs, targets = outputs.probs[head], outputs.targets[head]
    if HEAD_KINDS[head] == "sigmoid":
        known = targets[:, 0] >= 0
        m, ap = mean_average_precision(probs, targets)
        at_pack = f1_at(probs, targets, thresholds)
        with open(out / f"{head}_tags.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["tag", "positives", "average_precision", "threshold", "precision",
                             "recall"])
            predicted = probs[known] >= thresholds
            truth = targets[known] > 0.5
            for j, name in enumerate(names):
                tp = int((predicted[:, j] & truth[:, j]).sum())
                writer.writerow([name, int(truth[:, j].sum()),
                                 "" if np.isnan(ap[j]) else round(float(ap[j]), 4),
                                 round(float(thresholds[j]), 4),
                                 round(tp / max(1, int(predicted[:, j].sum())), 4),
                                 round(tp / max(1, int(truth[:, j].sum())), 4)])
        return {"images": int(known.sum()), "mAP": m, "at_pack_thresholds": at_pack,
                "at_0.5": f1_at(probs, targets, 0.5)}

    labelled = targets != IGNORE_INDEX
    precision, recall = single_label_precision_recall(probs, targets)
    report: dict[str, Any] = {
        "images": int(labelled.sum()),
        "top1": topk_accuracy(probs, targets, 1),
        "top5": topk_accuracy(probs, targets, 5),
        "macro_accuracy": macro_accuracy(probs, targets, len(names)),
        "macro_precision": precision,
        "macro_recall": recall,
        "ece": expected_calibration_error(probs, targets),
        "most_confused": confused_pairs(probs, targets, names),
    }
    acc, support = per_class_accuracy(probs, targets, len(names))
    with open(out / f"{head}_per_class_accuracy.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["class", "images", "accuracy"])
        for j in np.argsort(-support, kind="stable"):
            writer.writerow([names[j], int(support[j]),
                             "" if np.isnan(acc[j]) else round(float(acc[j]), 4)])
    with open(out / f"{head}_misclassified.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "true", "predicted", "confidence", "top5"])
        wrong = 0
        for i in np.flatnonzero(labelled):
            pred = int(probs[i].argmax())
            if pred != targets[i]:
                wrong += 1
                top5 = np.argsort(-probs[i])[:5]
                try:
                    rel = samples[i].path.relative_to(root).as_posix()
                except ValueError:
                    rel = str(samples[i].path)
                writer.writerow([rel, names[targets[i]], names[pred],
                                 round(float(probs[i, pred]), 4),
                                 " ".join(names[j] for j in top5)])
    report["misclassified"] = wrong
    return report


def compare_precision(
    pack: ModelPack, samples: list[Sample], space: LabelSpace, *, device: str | None,
    batch_size: int | None, precision: str = "auto",
) -> dict[str, Any]:
    """fp32 against ``precision`` (default auto, as the app runs) on the same images: top-1 of
    each softmax head, how often their top-1 agree, the largest probability difference, and
    speed."""
    ref, ref_time = predict_pack(pack, samples, space, precision="fp32", device=device,
                                 batch_size=batch_size)
    fast, fast_time = predict_pack(pack, samples, space, precision=precision, device=device,
                                   batch_size=batch_size)
    report: dict[str, Any] = {"fp32": ref_time, "optimized": fast_time, "heads": {}}
    ok = True
    for head in space.heads:
        a, b = ref.probs[head], fast.probs[head]
        row: dict[str, Any] = {"max_abs_probability_difference": float(np.abs(a - b).max())}
        if HEAD_KINDS[head] == "sigmoid":
            row["mAP_fp32"] = mean_average_precision(a, ref.targets[head])[0]
            row["mAP_optimized"] = mean_average_precision(b, ref.targets[head])[0]
        else:
            t1a = 100 * topk_accuracy(a, ref.targets[head], 1)
            t1b = 100 * topk_accuracy(b, ref.targets[head], 1)
            row.update({"top1_fp32": round(t1a, 3), "top1_optimized": round(t1b, 3),
                        "delta_points": round(t1b - t1a, 3),
                        "top1_agreement": float(np.mean(a.argmax(1) == b.argmax(1)))})
            row["within_tolerance"] = abs(t1b - t1a) <= TOLERANCE_POINTS
            ok = ok and row["within_tolerance"]
        report["heads"][head] = row
    report["tolerance_points"] = TOLERANCE_POINTS
    report["within_tolerance"] = ok
    return report


def evaluate(
    source_path: Path | str,
    *,
    out: Path | str,
    dataset: str | None = None,
    data: str | None = None,
    split: str = "test",
    splits_file: Path | str | None = None,
    compare: bool = False,
    optimize: bool = True,
    precision: str | None = None,
    device: str | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    src = open_source(source_path)
    cfg = src.cfg
    same_data = not dataset and not data
    cfg.dataset = dataset or cfg.dataset
    if src.kind == "pack" and not data:
        # Packs record their data folder by name only (see export.portable_config): a seeded
        # synthetic set is generated again beside the results; real data must be given.
        if cfg.dataset != "synthetic":
            named = f" (it was trained on a folder named {cfg.data!r})" if cfg.data else ""
            raise TrainingError(f"--data PATH is needed to evaluate a pack{named}")
        data = str(Path(out) / "synthetic-data")
    cfg.data = data or cfg.data
    if cfg.data is None and cfg.dataset != "synthetic":
        raise TrainingError("--data PATH is needed (the source does not record its data set)")
    if splits_file is None and same_data and src.kind == "checkpoint":
        splits_file = src.path.parent / "splits.json"
    run = load_run_data(cfg, space=src.space, splits_file=Path(splits_file) if splits_file else None)
    samples = _split_samples(run, split)
    if not samples:
        raise TrainingError(f"the {split} split of {run.ds.root} is empty")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if src.pack is not None and src.pack.multimodal is not None:
        from training.multimodal_evaluate import evaluate_multimodal_pack

        return evaluate_multimodal_pack(src.pack, run, split, samples, out, device=device,
                                        batch_size=batch_size)

    start = time.perf_counter()
    timing: dict[str, Any] = {}
    if src.kind == "pack":
        assert src.pack is not None
        outputs, timing = predict_pack(src.pack, samples, src.space, optimize=optimize,
                                       precision=precision, device=device,
                                       batch_size=batch_size)
    else:
        assert src.checkpoint is not None
        outputs = run_checkpoint(src.checkpoint, samples, src.space, device=device or "cpu",
                                 workers=workers, batch_size=batch_size or 64)
        if run.samples("val") and split != "val" and same_data:
            # A checkpoint has no thresholds yet: use the ones export-pack would choose.
            val = run_checkpoint(src.checkpoint, run.samples("val"), src.space,
                                 device=device or "cpu", workers=workers)
            if "general" in val.probs:
                src.thresholds["general"] = best_f1_thresholds(val.probs["general"],
                                                               val.targets["general"])

    results: dict[str, Any] = {
        "source": {"kind": src.kind, "path": str(src.path)},
        "data": {**run.describe(), "split": split, "evaluated_images": len(samples)},
        "heads": {},
        "seconds": None,
    }
    curves = {}
    for head, names in src.space.heads.items():
        if head not in outputs.probs:
            continue
        if HEAD_KINDS[head] != "sigmoid":
            unknown = int((outputs.targets[head] == IGNORE_INDEX).sum())
            if unknown == len(samples) and any(getattr(s, head) for s in samples):
                print(f"warning: no {head} label of this data set is known to the model",
                      file=sys.stderr)
        results["heads"][head] = head_report(head, names, outputs, src.thresholds[head], samples,
                                             run.ds.root, out)
        curve = (precision_recall_curve if HEAD_KINDS[head] == "sigmoid" else single_label_curve)
        curves[head] = curve(outputs.probs[head], outputs.targets[head])
    plot_pr_curves(curves, out / "pr_curves.png")
    if timing:
        results["timing"] = timing

    if compare:
        pack = src.pack
        with tempfile.TemporaryDirectory(prefix="animesion-eval-") as tmp:
            if pack is None:
                assert src.checkpoint is not None
                from models.pack import write_pack

                pack = write_pack(
                    Path(tmp) / "pack", name="compare", backend="torch",
                    heads=build_heads(src.space, src.thresholds), input_spec=input_spec(cfg),
                    model=model_from_checkpoint(src.checkpoint))
            chosen = precision or ("auto" if optimize else "fp32")
            results["compare_precision"] = compare_precision(
                pack, samples, src.space, device=device, batch_size=batch_size,
                precision="auto" if chosen == "fp32" else chosen)
    results["seconds"] = round(time.perf_counter() - start, 2)
    (out / "results.json").write_text(json.dumps(_finite(results), indent=2) + "\n",
                                      encoding="utf-8")
    return results


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value
