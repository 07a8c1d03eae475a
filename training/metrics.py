"""Metrics on numpy arrays of probabilities: accuracy, precision/recall, mAP, F1, calibration.

Single-label heads take probabilities [N, C] and integer targets [N] (-100 = unlabelled, left
out). The multi-label head takes probabilities [N, T] and multi-hot targets [N, T] (rows of -1 =
tags unknown, left out).
"""

from __future__ import annotations

import numpy as np

from training.data.labels import IGNORE_INDEX


def labelled(probs: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if targets.ndim == 1:
        keep = targets != IGNORE_INDEX
    else:
        keep = targets[:, 0] >= 0
    return probs[keep], targets[keep]


def topk_accuracy(probs: np.ndarray, targets: np.ndarray, k: int) -> float:
    """Fraction of images whose class is among the k most probable (0 when there are none)."""
    probs, targets = labelled(probs, targets)
    if len(targets) == 0:
        return 0.0
    k = min(k, probs.shape[1])
    top = np.argpartition(-probs, k - 1, axis=1)[:, :k]
    return float(np.mean(np.any(top == targets[:, None], axis=1)))


def per_class_accuracy(probs: np.ndarray, targets: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(accuracy per class, support per class); classes without images get NaN accuracy."""
    probs, targets = labelled(probs, targets)
    pred = probs.argmax(axis=1)
    support = np.bincount(targets, minlength=n_classes)
    correct = np.bincount(targets[pred == targets], minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(support > 0, correct / np.maximum(support, 1), np.nan)
    return acc, support


def macro_accuracy(probs: np.ndarray, targets: np.ndarray, n_classes: int) -> float:
    acc, support = per_class_accuracy(probs, targets, n_classes)
    return float(np.nanmean(acc)) if (support > 0).any() else 0.0


def single_label_precision_recall(probs: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    """Macro precision and recall of the arg-max prediction over classes that occur."""
    probs, targets = labelled(probs, targets)
    if len(targets) == 0:
        return 0.0, 0.0
    n = probs.shape[1]
    pred = probs.argmax(axis=1)
    tp = np.bincount(targets[pred == targets], minlength=n).astype(float)
    predicted = np.bincount(pred, minlength=n).astype(float)
    actual = np.bincount(targets, minlength=n).astype(float)
    present = actual > 0
    precision = np.divide(tp, predicted, out=np.zeros(n), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros(n), where=actual > 0)
    return float(precision[present].mean()), float(recall[present].mean())


def expected_calibration_error(probs: np.ndarray, targets: np.ndarray, bins: int = 15) -> float:
    """ECE of the top-1 confidence: sum over equal-width confidence bins of
    |accuracy - mean confidence| weighted by the bin's share of images."""
    probs, targets = labelled(probs, targets)
    if len(targets) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == targets
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            ece += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(ece)


def confused_pairs(
    probs: np.ndarray, targets: np.ndarray, names: list[str], top: int = 10
) -> list[dict]:
    """The most frequent (true, predicted) mistakes."""
    probs, targets = labelled(probs, targets)
    pred = probs.argmax(axis=1)
    wrong = pred != targets
    if wrong.any():
        pairs, counts = np.unique(np.stack([targets[wrong], pred[wrong]], axis=1), axis=0,
                                  return_counts=True)
    else:
        pairs, counts = np.zeros((0, 2), int), np.zeros(0, int)
    order = np.argsort(-counts, kind="stable")[:top]
    return [
        {"true": names[int(pairs[i][0])], "predicted": names[int(pairs[i][1])], "count": int(counts[i])}
        for i in order
    ]


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """AP of one label: mean of the precision at the rank of each positive (NaN: no positives)."""
    n_pos = int(positives.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    hits = positives[order].astype(bool)
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at[hits].sum() / n_pos)


def mean_average_precision(probs: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """(mAP over tags with at least one positive, AP per tag with NaN for the others)."""
    probs, targets = labelled(probs, targets)
    ap = np.array([average_precision(probs[:, j], targets[:, j]) for j in range(probs.shape[1])])
    return (float(np.nanmean(ap)) if np.isfinite(ap).any() else 0.0), ap


def f1_at(probs: np.ndarray, targets: np.ndarray, thresholds: np.ndarray | float) -> dict[str, float]:
    """Micro and macro precision / recall / F1 of `probs >= thresholds` (macro over tags that
    occur in the targets or are predicted)."""
    probs, targets = labelled(probs, targets)
    pred = probs >= np.asarray(thresholds)
    truth = targets > 0.5
    tp = (pred & truth).sum(axis=0).astype(float)
    fp = (pred & ~truth).sum(axis=0).astype(float)
    fn = (~pred & truth).sum(axis=0).astype(float)

    def prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, ...]:
        p = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
        r = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
        f = np.divide(2 * p * r, p + r, out=np.zeros_like(tp), where=(p + r) > 0)
        return p, r, f

    mp, mr, mf = prf(np.array([tp.sum()]), np.array([fp.sum()]), np.array([fn.sum()]))
    p, r, f = prf(tp, fp, fn)
    active = (tp + fp + fn) > 0

    def macro(a: np.ndarray) -> float:
        return float(a[active].mean()) if active.any() else 0.0

    return {
        "micro_precision": float(mp[0]), "micro_recall": float(mr[0]), "micro_f1": float(mf[0]),
        "macro_precision": macro(p), "macro_recall": macro(r), "macro_f1": macro(f),
    }


def best_f1_thresholds(
    probs: np.ndarray, targets: np.ndarray, default: float = 0.5, floor: float = 0.01
) -> np.ndarray:
    """Per tag, the threshold with the highest F1 on these (validation) images.

    Candidate thresholds are the scores themselves; the chosen one is moved halfway to the next
    lower score so a slightly lower score at prediction time still counts. Tags without a
    positive here keep `default` (nothing to tune on)."""
    probs, targets = labelled(probs, targets)
    thresholds = np.full(probs.shape[1], default, dtype=np.float64)
    for j in range(probs.shape[1]):
        truth = targets[:, j] > 0.5
        n_pos = int(truth.sum())
        if n_pos == 0:
            continue
        order = np.argsort(-probs[:, j], kind="stable")
        scores = probs[order, j]
        tp = np.cumsum(truth[order])
        k = np.arange(1, len(scores) + 1)
        f1 = 2 * tp / (k + n_pos)  # precision = tp/k, recall = tp/n_pos
        # Only cut between distinct scores: the threshold decides a whole tie group at once.
        last_of_group = np.r_[scores[1:] != scores[:-1], True]
        f1 = np.where(last_of_group, f1, -1.0)
        best = int(np.argmax(f1))
        below = scores[best + 1] if best + 1 < len(scores) else 0.0
        thresholds[j] = max(floor, (scores[best] + below) / 2.0)
    return np.clip(thresholds, floor, 1.0)


def precision_recall_curve(probs: np.ndarray, targets: np.ndarray, points: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Micro precision and recall over a sweep of one shared threshold (for plots)."""
    probs, targets = labelled(probs, targets)
    truth = targets > 0.5
    precision, recall = [], []
    for t in np.linspace(0.0, 1.0, points, endpoint=False)[1:]:
        pred = probs >= t
        tp = float((pred & truth).sum())
        precision.append(tp / max(1.0, float(pred.sum())))
        recall.append(tp / max(1.0, float(truth.sum())))
    return np.array(precision), np.array(recall)


def single_label_curve(probs: np.ndarray, targets: np.ndarray, points: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall of "top-1 if its probability >= t" over t: how Illustration2Vec
    trades recall for precision on its softmax heads."""
    probs, targets = labelled(probs, targets)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == targets
    precision, recall = [], []
    for t in np.linspace(0.0, 1.0, points, endpoint=False):
        kept = confidence >= t
        precision.append(float(correct[kept].mean()) if kept.any() else 1.0)
        recall.append(float((correct & kept).sum() / max(1, len(targets))))
    return np.array(precision), np.array(recall)


def head_summary(kind: str, probs: np.ndarray, targets: np.ndarray, threshold: float | np.ndarray = 0.5) -> dict[str, float]:
    """The per-epoch numbers of one head (what log.jsonl and curves.png show)."""
    if kind == "sigmoid":
        m, _ = mean_average_precision(probs, targets)
        f = f1_at(probs, targets, threshold)
        return {"mAP": m, "precision": f["micro_precision"], "recall": f["micro_recall"],
                "f1": f["micro_f1"]}
    p, r = single_label_precision_recall(probs, targets)
    return {"top1": topk_accuracy(probs, targets, 1), "top5": topk_accuracy(probs, targets, 5),
            "precision": p, "recall": r}
