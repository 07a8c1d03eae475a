"""``animesion packs``: install, list, inspect, activate and remove model packs."""

from __future__ import annotations

import argparse
import json
import time

from animesion_desktop.core.library import Library
from animesion_desktop.core.tagging import packs_registry as registry


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("packs", help="manage model packs (install, list, info, activate, remove)")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    a = actions.add_parser("list", help="installed packs")
    a.set_defaults(run=run_list)

    a = actions.add_parser(
        "install",
        help="install a pack, or import and install a model",
        description="PATH: a pack folder or .zip; an Animesion checkpoint (.ckpt/.pth with "
        "classid_classname.csv beside it, or --classes); a WD tagger folder (model.onnx + "
        "selected_tags.csv); a Hugging Face image classifier folder (config.json + "
        "model.safetensors).",
    )
    a.add_argument("path", metavar="PATH")
    a.add_argument("--replace", action="store_true",
                   help="swap out an installed pack of the same name (its results are dropped)")
    a.add_argument("--name", help="install under this name")
    a.add_argument("--classes", metavar="CSV", help="class list of an Animesion checkpoint")
    a.set_defaults(run=run_install)

    a = actions.add_parser("remove", help="uninstall a pack and drop its results")
    a.add_argument("name", metavar="NAME")
    a.set_defaults(run=run_remove)

    a = actions.add_parser("info", help="everything recorded about a pack")
    a.add_argument("name", metavar="NAME")
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(run=run_info)

    a = actions.add_parser("activate", help="let a pack's predictions count (no rerun needed)")
    a.add_argument("name", metavar="NAME")
    a.add_argument("--only", action="store_true", help="and deactivate every other pack")
    a.set_defaults(run=run_activate)

    a = actions.add_parser("deactivate", help="keep a pack's results but stop using them")
    a.add_argument("name", metavar="NAME")
    a.set_defaults(run=run_deactivate)

    a = actions.add_parser(
        "threshold", help="set a threshold: one tag, a category, or every tag of a pack",
        description="animesion packs threshold NAME [TAG|category:C] VALUE. Thresholds apply "
        "when the library is read: effective tags follow at once, nothing is rerun.")
    a.add_argument("name", metavar="NAME")
    a.add_argument("args", nargs="+", metavar="[TAG|category:C] VALUE")
    a.set_defaults(run=run_threshold)


def _heads(summary: registry.PackSummary) -> str:
    return ", ".join(f"{name} {n}" for name, n in summary.heads) or "-"


def run_list(args: argparse.Namespace) -> int:
    with Library.open(args.library) as lib:
        packs = registry.list_packs(lib)
    if not packs:
        print("no packs installed; install one with `animesion packs install PATH`")
        return 0
    rows = [("NAME", "VERSION", "BACKEND", "ACTIVE", "IMAGES", "HEADS")]
    rows += [(p.name, p.version, p.backend, "yes" if p.active else "no", str(p.images),
              _heads(p)) for p in packs]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
    return 0


def run_install(args: argparse.Namespace) -> int:
    with Library.open(args.library) as lib:
        p = registry.install(lib, args.path, name=args.name, replace=args.replace,
                             classes=args.classes)
    state = "active" if p.active else "inactive"
    print(f"installed {p.name} {p.version} ({p.backend}; {_heads(p)}; {state}) at {p.path}")
    print("run `animesion tag` to tag your images with it")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    with Library.open(args.library) as lib:
        p = registry.get_summary(lib, args.name)
        registry.remove(lib, args.name)
    print(f"removed {p.name} and its results for {p.images} images")
    return 0


def run_info(args: argparse.Namespace) -> int:
    with Library.open(args.library) as lib:
        info = registry.pack_details(lib, args.name)
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info["installed_at"]))
    print(f"{info['name']} {info['version']}  ({info.get('backend', '?')}, "
          f"{'active' if info['active'] else 'inactive'}, installed {when})")
    print(f"  path:    {info['path']}")
    print(f"  weights: sha256 {info['sha256']}")
    arch = info.get("architecture")
    if arch:
        print(f"  model:   {arch.get('name')} at {arch.get('image_size')} px"
              + (" with IFA" if arch.get("ifa") else ""))
    spec = info.get("input") or {}
    if spec:
        print(f"  input:   {spec.get('size')} px, {spec.get('resize')}, "
              f"{spec.get('channel_order')} {spec.get('layout')}")
    for head in info.get("heads", []):
        print(f"  head:    {head['name']} ({head['activation']}, {head['labels']} labels)")
    by_cat = ", ".join(f"{c} {n}" for c, n in info["vocabulary_by_category"].items())
    print(f"  vocabulary: {info['vocabulary']} tags ({by_cat})")
    print(f"  images: {info['images_run']} run, {info['images_failed']} failed")
    print(f"  precision: {_precision_line(info.get('precision'))}")
    for key in ("metrics", "provenance"):
        if info.get(key):
            print(f"  {key}: {json.dumps(info[key], ensure_ascii=False)}")
    return 0


def _precision_line(record: dict | None) -> str:
    """What `--precision auto` runs for this pack, and the agreement it measured."""
    if not record:
        return ("auto: fp32 until a faster path has agreed with it on the first images "
                "(not measured yet)")
    from models.precision import describe_agreement, status_text

    shown = status_text(str(record.get("device", "cpu")), str(record.get("precision")))
    checked = describe_agreement(list(record.get("checked") or []))
    return f"auto runs {shown}" + (f" ({checked})" if checked else "")


def run_activate(args: argparse.Namespace) -> int:
    with Library.open(args.library) as lib:
        registry.set_active(lib, args.name, True, only=args.only)
    print(f"{args.name} is active" + (" (and the only active pack)" if args.only else ""))
    return 0


def run_deactivate(args: argparse.Namespace) -> int:
    with Library.open(args.library) as lib:
        registry.set_active(lib, args.name, False)
    print(f"{args.name} is inactive; its results are kept")
    return 0


def run_threshold(args: argparse.Namespace) -> int:
    from animesion_desktop.core.errors import UserError
    from animesion_desktop.core.thresholds import set_thresholds

    if len(args.args) > 2:
        raise UserError(f"packs threshold: expected [TAG|category:C] VALUE, got {args.args}")
    target = args.args[0] if len(args.args) == 2 else None
    try:
        value = float(args.args[-1])
    except ValueError:
        raise UserError(f"packs threshold: VALUE must be a number between 0 and 1, "
                        f"got {args.args[-1]!r}") from None
    with Library.open(args.library) as lib:
        change = set_thresholds(lib, args.name, target, value)
    olds = sorted(set(change.previous.values()))
    was = f"{olds[0]:g}" if len(olds) == 1 else f"{olds[0]:g}–{olds[-1]:g}"
    what = target or "every tag"
    print(f"{args.name}: {what} threshold {value:g} on {change.tags} tag"
          f"{'s' if change.tags != 1 else ''} (was {was}); effective tags updated, nothing rerun")
    return 0
