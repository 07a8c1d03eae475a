"""Precision policy: fp32 unless a faster path has been shown to agree with it.

``auto`` (the default) answers in fp32 while it compares each candidate fast path (on the CPU
int8, on CUDA fp16 then bf16 autocast) with fp32 on the first ``CHECK_IMAGES`` images a
predictor is given (the user's own pictures of this run, or a pack's validation images when
``animesion-train evaluate`` runs it). A candidate is kept only if the top-1 of every softmax
head is identical on at least 99 % of them and no score differs by more than 0.02; otherwise
the next candidate (a milder int8, or bf16's wider range) is tried, and fp32 stays when none
agrees. The decision and its measurements are written beside the installed pack (its
cache folder, named by the weights' hash), so later runs start on the chosen path at once and
``animesion packs info`` can show them.

``fp32``, ``int8``, ``bf16`` and ``fp16`` are explicit choices and are not checked (int8 is a
CPU path and fp16 a CUDA one: elsewhere the backend runs fp32 and says so).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

PRECISIONS = ("auto", "fp32", "int8", "bf16", "fp16")
MIN_TOP1_AGREEMENT = 0.99
MAX_SCORE_DIFF = 0.02
CHECK_IMAGES = 64  # also what a CNN's int8 graph is calibrated on
MIN_CHECK_IMAGES = 16  # a run that ends sooner decides nothing (too few images to tell)
RECORD_FORMAT = 1

# What each path is called where the user sees it.
LABELS = {
    "fp32": "fp32",
    "int8": "int8",
    "int8-partial": "int8 (first half of the blocks; the rest fp32)",
    # bf16 is autocast on the CPU (asked for) and on CUDA (asked for, or kept by auto); the
    # device is named beside it wherever it is shown
    "bf16": "bf16 (autocast)",
    "fp16": "fp16 (CUDA autocast)",
    "checking": "fp32 (checking a faster path against it)",
}

Output = tuple[np.ndarray | None, dict[str, np.ndarray]]  # (embedding [N, D], probs per head)
Runner = Callable[[np.ndarray], Output]
CandidateBuilder = Callable[[np.ndarray], Runner | None]  # samples -> runner, None: unavailable


def check_precision(value: str | None) -> str:
    if value is None:
        return "auto"
    if value not in PRECISIONS:
        raise ValueError(f"precision: expected one of {', '.join(PRECISIONS)}, got {value!r}")
    return value


@dataclass
class Agreement:
    """One candidate measured against fp32 on the same images."""

    precision: str
    images: int
    top1_agreement: float  # the lowest over softmax heads (1.0 when there are none)
    max_score_diff: float  # over every head and class

    @property
    def passed(self) -> bool:
        return (self.top1_agreement >= MIN_TOP1_AGREEMENT
                and self.max_score_diff <= MAX_SCORE_DIFF)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "top1_agreement": round(self.top1_agreement, 4),
                "max_score_diff": round(self.max_score_diff, 5), "passed": self.passed}


def measure(precision: str, reference: Mapping[str, np.ndarray],
            candidate: Mapping[str, np.ndarray], activations: Mapping[str, str]) -> Agreement:
    """Compare per-head probabilities [N, C] of a candidate with fp32's."""
    top1 = 1.0
    diff = 0.0
    images = 0
    for head, ref in reference.items():
        fast = candidate[head]
        images = len(ref)
        if ref.size:
            # A NaN score (fp16 overflow) must fail, not vanish: NaN compares false, so max()
            # below would drop it. 1.0 is as far as a probability can move (plain JSON too).
            gap = np.nan_to_num(np.abs(ref - fast), nan=1.0, posinf=1.0)
            diff = max(diff, float(gap.max()))
        if activations.get(head) == "softmax" and len(ref):
            top1 = min(top1, float(np.mean(ref.argmax(1) == fast.argmax(1))))
    return Agreement(precision, images, top1, diff)


def describe_agreement(checked: list[dict[str, Any]]) -> str:
    """'int8: top-1 100.0 % identical, max score diff 0.004 on 64 images' for each check."""
    parts = []
    for a in checked:
        if a.get("skipped"):
            parts.append(f"{a['precision']}: not available here")
            continue
        verdict = "kept" if a.get("passed") else "rejected"
        parts.append(f"{a['precision']} {verdict}: top-1 {100 * a['top1_agreement']:.1f} % "
                     f"identical, max score diff {a['max_score_diff']:.3f} on {a['images']} "
                     "images")
    return "; ".join(parts)


class AgreementGate:
    """Answers with ``reference`` until it has seen ``window`` images, then picks the first
    candidate that agrees with it on them (or keeps the reference) and answers with that."""

    def __init__(self, reference: Runner, candidates: list[tuple[str, CandidateBuilder]],
                 activations: Mapping[str, str], *, window: int = CHECK_IMAGES,
                 on_decided: Callable[[str, list[dict[str, Any]]], None] | None = None,
                 batch: int = 16) -> None:
        self.reference = reference
        self.candidates = candidates
        self.activations = dict(activations)
        self.window = window
        self.on_decided = on_decided
        self.batch = batch
        self.runner: Runner | None = None
        self.precision = "checking"
        self.checked: list[dict[str, Any]] = []
        self._samples: list[np.ndarray] = []
        self._probs: list[dict[str, np.ndarray]] = []

    @property
    def decided(self) -> bool:
        return self.runner is not None

    def __call__(self, x: np.ndarray) -> Output:
        if self.runner is not None:
            return self.runner(x)
        out = self.reference(x)
        self._samples.append(np.array(x, copy=True))
        self._probs.append({h: np.array(p, copy=True) for h, p in out[1].items()})
        if sum(len(s) for s in self._samples) >= self.window:
            self.decide()
        return out

    def decide(self) -> None:
        """Choose now, on the images seen so far (nothing happens below MIN_CHECK_IMAGES)."""
        if self.runner is not None or sum(len(s) for s in self._samples) < MIN_CHECK_IMAGES:
            return
        samples = np.concatenate(self._samples)
        reference = {h: np.concatenate([p[h] for p in self._probs]) for h in self._probs[0]}
        self._samples, self._probs = [], []
        chosen, runner = "fp32", self.reference
        for name, build in self.candidates:
            try:
                candidate = build(samples)
            except Exception:  # a backend gap on this platform: that path is not available
                candidate = None
            if candidate is None:
                self.checked.append({"precision": name, "skipped": True, "passed": False})
                continue
            fast = self._run(candidate, samples)
            agreement = measure(name, reference, fast, self.activations)
            self.checked.append(agreement.to_dict())
            if agreement.passed:
                chosen, runner = name, candidate
                break
        self.runner, self.precision = runner, chosen
        if self.on_decided is not None:
            self.on_decided(chosen, self.checked)

    def _run(self, runner: Runner, samples: np.ndarray) -> dict[str, np.ndarray]:
        parts: dict[str, list[np.ndarray]] = {}
        for lo in range(0, len(samples), self.batch):
            for head, p in runner(samples[lo:lo + self.batch])[1].items():
                parts.setdefault(head, []).append(p)
        return {h: np.concatenate(v) for h, v in parts.items()}


# -- the record kept beside an installed pack ------------------------------------------------


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def record_path(cache_dir: Path, pack_name: str, digest: str) -> Path:
    return cache_dir / f"{pack_name}-{digest[:20]}-precision.json"


def write_record(path: Path, *, chosen: str, device: str, checked: list[dict[str, Any]]) -> None:
    data = {"format": RECORD_FORMAT, "precision": chosen, "device": device, "checked": checked,
            "thresholds": {"min_top1_agreement": MIN_TOP1_AGREEMENT,
                           "max_score_diff": MAX_SCORE_DIFF},
            "measured_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    try:  # atomic; a read-only folder only means the check runs again next time
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def read_record(path: Path | None) -> dict[str, Any] | None:
    """A record written by :func:`write_record`, or None (absent, damaged or another format)."""
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        return None
    if data.get("precision") not in (*LABELS, "int8-partial"):
        return None
    return data


def installed_pack_record(pack_dir: Path, pack_name: str) -> dict[str, Any] | None:
    """The record of an installed torch pack (its cache folder is ``.cache`` beside it, as the
    tagging job opens it), or None when auto has not decided yet."""
    weights = Path(pack_dir) / "weights.safetensors"
    if not weights.is_file():
        return None
    cache_dir = Path(pack_dir).parent / ".cache"
    return read_record(record_path(cache_dir, pack_name, file_digest(weights)))


# -- what the UI shows ------------------------------------------------------------------------


def status_text(device_type: str, precision: str, device_name: str | None = None) -> str:
    """Short text for a status bar or a settings page: 'CPU · int8', 'CUDA · RTX 4090 · fp32'."""
    device = {"cpu": "CPU", "cuda": "CUDA", "mps": "MPS"}.get(device_type, device_type.upper())
    shown = "int8 (partly)" if precision == "int8-partial" else precision
    if precision == "checking":
        shown = "fp32 (checking autocast)" if device_type == "cuda" else "fp32 (checking int8)"
    return " · ".join([device, *([device_name] if device_name else []), shown])


def predictor_status(predictor: object) -> str:
    """:func:`status_text` of any open predictor (backends without a choice report fp32); a
    CUDA device is named, since a machine may have several."""
    device = getattr(predictor, "device", None)
    device_type = getattr(device, "type", None) or str(device or "cpu").split(":")[0]
    return status_text(device_type, str(getattr(predictor, "precision", "fp32")),
                       _cuda_name(device) if device_type == "cuda" else None)


def _cuda_name(device: object) -> str | None:
    try:
        import torch

        return str(torch.cuda.get_device_name(device))  # type: ignore[arg-type]
    except Exception:  # a string device, a driver gone since: the type alone still says it
        return None
