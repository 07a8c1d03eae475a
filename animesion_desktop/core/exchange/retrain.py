"""Retraining from the user's own decisions: export the accepted labels (``ours``), train in a
separate process (``animesion-train train --dataset export``), turn the best checkpoint into a
pack, install it, and report its figures beside the pack it may replace.

The library is touched only by the install at the end (and activation, when asked), after the
last point where the job can be cancelled: a cancelled retrain leaves it exactly as it was,
and removes its work folder.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from animesion_desktop.core.errors import UserError
from animesion_desktop.core.exchange.child import run_child
from animesion_desktop.core.exchange.export_job import export
from animesion_desktop.core.exchange.options import ExportOptions
from animesion_desktop.core.exchange.plan import ExportSummary
from animesion_desktop.core.jobs import Job, Progress
from animesion_desktop.core.library import Library


class RetrainError(UserError):
    """A retrain that cannot go on (too few labels, a failed training run); one clear line."""


@dataclass
class RetrainOptions:
    minutes: float = 10.0
    from_pack: str | None = None  # fine-tune this pack (default: an active one sharing characters)
    name: str | None = None  # of the new pack (default: retrained-<date>-<time>)
    work: Path | None = None  # default: retrain/<name> beside the library's packs
    query: str = ""  # train on what this search finds (default: every image)
    min_per_class: int = 3
    activate: bool = False
    train_args: tuple[str, ...] = ()  # further `animesion-train train` flags
    python: str = sys.executable


@dataclass
class RetrainResult:
    name: str | None = None
    work: Path | None = None
    export: ExportSummary | None = None
    base: str | None = None  # the pack fine-tuned from, if any
    compared: str | None = None  # the pack whose figures are shown beside the new one's
    new_metrics: dict[str, Any] = field(default_factory=dict)
    old_metrics: dict[str, Any] = field(default_factory=dict)
    old_on_test: tuple[int, int] | None = None  # (right, images): its stored predictions
    activated: bool = False
    cancelled: bool = False
    train_summary: dict[str, Any] = field(default_factory=dict)


def pack_characters(lib: Library) -> dict[str, set[str]]:
    """Character vocabulary of every installed pack."""
    out: dict[str, set[str]] = {}
    with lib.read() as s:
        for pack, name in s.execute(text(
                "SELECT k.name, t.name FROM packs k JOIN pack_tags pt ON pt.pack_id = k.id "
                "JOIN tags t ON t.id = pt.tag_id WHERE t.category = 'character'")):
            out.setdefault(pack, set()).add(name)
    return out


def choose_base(lib: Library, from_pack: str | None, classes: set[str]) -> tuple[str | None, str | None]:
    """(pack to fine-tune from, pack to compare with). An explicit --from-pack is both; else the
    active pack sharing most characters with the export, else any active character pack (shown
    for comparison only; training then starts from the default recipe)."""
    from animesion_desktop.core.tagging import packs_registry as registry

    if from_pack is not None:
        registry.get_summary(lib, from_pack)  # names the installed packs if it is not one
        return from_pack, from_pack
    vocab = pack_characters(lib)
    active = [p.name for p in registry.list_packs(lib) if p.active and p.name in vocab]
    overlap = sorted(((len(vocab[p] & classes), p) for p in active), reverse=True)
    if overlap and overlap[0][0] > 0:
        return overlap[0][1], overlap[0][1]
    return None, (active[0] if active else None)


def transfer_args(lib: Library, name: str) -> list[str]:
    from animesion_desktop.core.tagging import packs_registry as registry

    info = registry.pack_details(lib, name)
    arch = info.get("architecture") or {}
    weights = Path(info["path"]) / "weights.safetensors"
    if info.get("backend") != "torch" or not arch.get("name") or not weights.is_file():
        raise RetrainError(f"pack {name!r} cannot be fine-tuned (only torch packs with "
                           "weights.safetensors can); retrain without --from-pack")
    args = ["--transfer", str(weights), "--model", str(arch["name"])]
    if arch.get("image_size"):
        args += ["--image-size", str(arch["image_size"])]
    if arch.get("ifa"):
        args.append("--ifa")
    return args


def _stored_top1(lib: Library, pack: str, split_of: dict[int, str]) -> tuple[int, int] | None:
    """How often ``pack``'s stored best character prediction matches the accepted character on
    the test images of this export (images it has not run on are not counted)."""
    test = [i for i, s in split_of.items() if s == "test"]
    if not test:
        return None
    right = seen = 0
    with lib.read() as s:
        conn = s.connection()
        for image_id in test:
            best = conn.exec_driver_sql(
                "SELECT t.name FROM predictions p JOIN packs k ON k.id = p.pack_id "
                "JOIN tags t ON t.id = p.tag_id WHERE k.name = ? AND p.image_id = ? "
                "AND t.category = 'character' ORDER BY p.score DESC LIMIT 1", (pack, image_id)).scalar()
            if best is None:
                continue
            truth = {n for (n,) in conn.exec_driver_sql(
                "SELECT t.name FROM labels l JOIN tags t ON t.id = l.tag_id WHERE l.image_id = ? "
                "AND l.state = 'accepted' AND t.category = 'character'", (image_id,))}
            seen += 1
            right += best in truth
    return (right, seen) if seen else None


def describe_record(record: dict[str, Any]) -> str:
    """One log.jsonl record as the progress bar's message."""
    val = record.get("val") or {}
    top1 = (val.get("character") or {}).get("top1")
    parts = [f"epoch {record.get('epoch')}", f"step {record.get('step')}"]
    if record.get("train_loss") is not None:
        parts.append(f"loss {record['train_loss']:.3f}")
    if top1 is not None:
        parts.append(f"val top-1 {top1:.1%}")
    return ", ".join(parts)


def retrain(lib: Library, opts: RetrainOptions, cancel: threading.Event) -> Job[RetrainResult]:
    from animesion_desktop.core.tagging import packs_registry as registry

    if opts.minutes <= 0:
        raise RetrainError("--minutes must be more than 0")
    name = opts.name or time.strftime("retrained-%Y%m%d-%H%M%S")
    work = opts.work or lib.location.packs_dir.parent / "retrain" / name
    result = RetrainResult(name=name, work=work)
    installing = False
    if work.exists() and any(work.iterdir()):
        raise RetrainError(f"{work}: work folder is not empty")
    try:
        yield Progress("exporting", 0, None)
        exp = yield from export(lib, ExportOptions(
            format="ours", dest=work / "data", query=opts.query, labels="accepted",
            min_per_class=opts.min_per_class), cancel)
        result.export = exp
        if exp.cancelled or cancel.is_set():
            result.cancelled = True
            return result
        classes = _export_classes(work / "data")
        if len(classes) < 2:
            raise RetrainError(
                f"training needs at least two characters with {opts.min_per_class}+ accepted "
                f"images each; your labels give {len(classes)} (label more, or lower --min-per-class)")
        base, result.compared = choose_base(lib, opts.from_pack, classes)
        result.base = base
        run = work / "run"
        cmd = [opts.python, "-m", "training.cli", "train", "--dataset", "export",
               "--data", str(work / "data"), "--max-minutes", f"{opts.minutes:g}", "--out", str(run)]
        if base is not None:
            cmd += transfer_args(lib, base)
        cmd += list(opts.train_args)
        yield from run_child(cmd, cancel, stage="training", total_seconds=opts.minutes * 60,
                             log=run / "log.jsonl", describe=describe_record)
        if cancel.is_set():
            result.cancelled = True
            return result
        result.train_summary = _read_json(run / "summary.json")
        pack_dir = work / "pack"
        yield from run_child(
            [opts.python, "-m", "training.cli", "export-pack", str(run / "best.pt"), "--out",
             str(pack_dir), "--name", name], cancel, stage="export-pack")
        if cancel.is_set():
            result.cancelled = True
            return result
        # The one point of no return: from here on the library changes.
        installing = True
        yield Progress("installing", 0, None, name)
        registry.install(lib, pack_dir, name=name)
        if opts.activate:
            registry.set_active(lib, name, True)
            if result.compared is not None and result.compared != name:
                registry.set_active(lib, result.compared, False)
            result.activated = True
        else:
            registry.set_active(lib, name, False)
        result.new_metrics = registry.pack_details(lib, name).get("metrics", {})
        if result.compared is not None:
            result.old_metrics = registry.pack_details(lib, result.compared).get("metrics", {})
            result.old_on_test = _stored_top1(lib, result.compared, exp.split_of)
        return result
    except (KeyboardInterrupt, GeneratorExit):
        # Ctrl-C struck inside the job, or its driver closed it: the same as a cancel.
        cancel.set()
        raise
    finally:
        if not installing and cancel.is_set():
            result.cancelled = True
            shutil.rmtree(work, ignore_errors=True)


def _read_json(path: Path) -> dict[str, Any]:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _export_classes(data: Path) -> set[str]:
    import csv

    with open(data / "classes.csv", newline="", encoding="utf-8") as f:
        return {row["character"] for row in csv.DictReader(f)}


def figure_lines(result: RetrainResult) -> list[str]:
    """The new pack's character figures beside the old pack's, as the CLI prints them."""
    def fig(metrics: dict[str, Any], split: str) -> str:
        head = (metrics.get(split) or {}).get("character") or {}
        if "top1" not in head:
            return "-"
        return f"top-1 {head['top1']:.1%}, top-5 {head.get('top5', 0):.1%} ({head.get('images', '?')} images)"

    lines = [f"new pack {result.name}: validation {fig(result.new_metrics, 'val')}; "
             f"test {fig(result.new_metrics, 'test')}"]
    if result.compared is not None:
        lines.append(f"old pack {result.compared}: validation {fig(result.old_metrics, 'val')}; "
                     f"test {fig(result.old_metrics, 'test')} (measured on its own split when it was made)")
        if result.old_on_test is not None:
            right, n = result.old_on_test
            lines.append(f"  on this export's test images (its stored predictions): top-1 "
                         f"{right / n:.1%} ({right}/{n})")
    return lines
