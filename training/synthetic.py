"""Synthetic "toy characters": a deterministic stand-in for a labelled anime data set.

Each character is a fixed combination of drawn attributes (hair colour and style, eye colour,
accessories, shirt colour) and belongs to a series. Every image redraws that character with a
different pose, scale, background, expression and noise, so recognising the character needs the
attributes rather than the pixels of one picture. Each image carries Danbooru-style tags for
what is actually drawn (blue_hair, twintails, glasses, smile, striped_background, ...) and a
rating (general, or sensitive when the shoulders are bare).

Everything is seeded: characters depend on `seed` only, images on (image_seed, character,
index), so a fresh test set is the same characters drawn with another image seed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from training.data.export_format import write_export

HAIR_COLOURS: dict[str, tuple[int, int, int]] = {
    "blue_hair": (50, 90, 220),
    "red_hair": (200, 40, 40),
    "pink_hair": (250, 150, 190),
    "blonde_hair": (245, 215, 90),
    "black_hair": (30, 30, 40),
    "brown_hair": (120, 75, 40),
    "green_hair": (60, 170, 80),
    "purple_hair": (140, 80, 200),
    "white_hair": (235, 235, 240),
    "orange_hair": (245, 140, 40),
    "aqua_hair": (70, 210, 210),
    "grey_hair": (135, 135, 145),
}
EYE_COLOURS: dict[str, tuple[int, int, int]] = {
    "blue_eyes": (40, 80, 230),
    "red_eyes": (210, 30, 40),
    "green_eyes": (40, 170, 60),
    "yellow_eyes": (235, 200, 30),
    "purple_eyes": (140, 60, 200),
    "brown_eyes": (110, 60, 25),
    "aqua_eyes": (40, 200, 200),
}
HAIR_STYLES = ("short_hair", "long_hair", "twintails", "ponytail", "side_ponytail", "double_bun")
# At most one thing on top of the head; glasses and a ribbon combine with anything.
TOP_ACCESSORIES = (None, "hat", "cat_ears", "hairband", "ahoge")
BACKGROUNDS = ("white", "solid", "gradient", "stripes", "dots")
BACKGROUND_TAGS = {
    "white": ("white_background", "simple_background"),
    "solid": ("simple_background",),
    "gradient": ("gradient_background",),
    "stripes": ("striped_background",),
    "dots": ("polka_dot_background",),
}
RATINGS = ("general", "sensitive")

_SYLLABLES = (
    *("a", "ka", "ki", "ku", "ke", "ko", "sa", "shi", "su", "se", "so", "ta", "chi", "tsu"),
    *("te", "to", "na", "ni", "nu", "ne", "no", "ha", "hi", "fu", "he", "ho", "ma", "mi", "mu"),
    *("me", "mo", "ya", "yu", "yo", "ra", "ri", "ru", "re", "ro", "wa", "n"),
)
_SERIES_SUFFIXES = ("academy", "quest", "chronicle", "online", "days", "story")
_SKIN = (252, 226, 205)


@dataclass(frozen=True)
class ToyCharacter:
    name: str
    series: str
    hair_colour: str
    hair_style: str
    eye_colour: str
    accessories: tuple[str, ...]
    shirt: tuple[int, int, int]

    def tags(self) -> list[str]:
        """The tags that belong to the character whatever the picture."""
        return [self.hair_colour, self.hair_style, self.eye_colour, *self.accessories]


@dataclass(frozen=True)
class ToyImage:
    image: Image.Image
    character: ToyCharacter
    tags: tuple[str, ...]
    rating: str


def _word(rng: np.random.Generator, syllables: int) -> str:
    return "".join(str(rng.choice(_SYLLABLES[:-1])) for _ in range(syllables))


def make_characters(n: int, seed: int = 0) -> list[ToyCharacter]:
    """`n` distinct characters; any two differ in at least two attributes while that is possible."""
    if n < 1:
        raise ValueError("need at least one character")
    rng = np.random.default_rng([seed, 0xC4A2])
    n_series = max(1, math.ceil(n / 4))
    series: list[str] = []
    while len(series) < n_series:
        name = f"{_word(rng, 3)}_{_SERIES_SUFFIXES[len(series) % len(_SERIES_SUFFIXES)]}"
        if name not in series:
            series.append(name)
    chosen: list[tuple] = []
    names: set[str] = set()
    characters: list[ToyCharacter] = []
    min_distance, attempts = 3, 0
    while len(characters) < n:
        attempts += 1
        if attempts % 2000 == 0 and min_distance > 1:
            min_distance -= 1  # the attribute space is getting crowded: accept closer pairs
        combo = (
            str(rng.choice(list(HAIR_COLOURS))),
            str(rng.choice(HAIR_STYLES)),
            str(rng.choice(list(EYE_COLOURS))),
            TOP_ACCESSORIES[int(rng.integers(len(TOP_ACCESSORIES)))],
            bool(rng.random() < 0.3),  # glasses
            bool(rng.random() < 0.3),  # hair ribbon
        )
        if any(sum(a != b for a, b in zip(combo, other, strict=True)) < min_distance for other in chosen):
            continue
        name = f"{_word(rng, 2)}_{_word(rng, 3)}"
        if name in names:
            continue
        chosen.append(combo)
        names.add(name)
        hair, style, eyes, top, glasses, ribbon = combo
        accessories = tuple(
            a for a, on in ((top, top is not None), ("glasses", glasses), ("hair_ribbon", ribbon)) if on
        )
        shirt = tuple(int(v) for v in rng.integers(30, 230, size=3))
        characters.append(
            ToyCharacter(
                name=name,
                series=series[len(characters) % n_series],
                hair_colour=hair,
                hair_style=style,
                eye_colour=eyes,
                accessories=accessories,  # type: ignore[arg-type]
                shirt=shirt,  # type: ignore[arg-type]
            )
        )
    return characters


def _jitter(colour: tuple[int, int, int], rng: np.random.Generator, amount: int) -> tuple:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)


def _background(size: int, kind: str, rng: np.random.Generator) -> Image.Image:
    c1 = tuple(int(v) for v in rng.integers(0, 256, size=3))
    c2 = tuple(int(v) for v in rng.integers(0, 256, size=3))
    if kind == "white":
        return Image.new("RGB", (size, size), (255, 255, 255))
    if kind == "solid":
        return Image.new("RGB", (size, size), c1)
    if kind == "gradient":
        t = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
        rows = (1 - t) * np.array(c1, np.float32) + t * np.array(c2, np.float32)
        return Image.fromarray(np.repeat(rows, size, axis=1).astype(np.uint8), "RGB")
    img = Image.new("RGB", (size, size), c1)
    draw = ImageDraw.Draw(img)
    step = max(4, size // int(rng.integers(4, 9)))
    if kind == "stripes":
        for x in range(-size, size * 2, step):
            draw.polygon([(x, 0), (x + step // 2, 0), (x + step // 2 + size, size), (x + size, size)], c2)
    else:  # dots
        r = max(1, step // 4)
        for y in range(step // 2, size, step):
            for x in range(step // 2, size, step):
                draw.ellipse([x - r, y - r, x + r, y + r], c2)
    return img


def _draw_character(
    layer: Image.Image,
    ch: ToyCharacter,
    rng: np.random.Generator,
    *,
    cx: float,
    cy: float,
    r: float,
    mouth: str,
    blush: bool,
    bare: bool,
) -> None:
    """Draw onto an RGBA layer; the head is a unit circle at (cx, cy) of radius r pixels."""
    d = ImageDraw.Draw(layer)
    hair = _jitter(HAIR_COLOURS[ch.hair_colour], rng, 12)
    eye = _jitter(EYE_COLOURS[ch.eye_colour], rng, 10)
    skin = _jitter(_SKIN, rng, 6)

    def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [cx + x0 * r, cy + y0 * r, cx + x1 * r, cy + y1 * r]

    def pts(*xy: tuple[float, float]) -> list[tuple[float, float]]:
        return [(cx + x * r, cy + y * r) for x, y in xy]

    # Hair behind the head.
    style = ch.hair_style
    if style == "long_hair":
        d.rounded_rectangle(box(-1.22, -1.0, 1.22, 2.0), radius=r * 0.5, fill=hair)
    elif style == "twintails":
        d.ellipse(box(-1.75, -0.7, -0.85, 2.0), fill=hair)
        d.ellipse(box(0.85, -0.7, 1.75, 2.0), fill=hair)
    elif style == "ponytail":
        d.ellipse(box(0.55, -1.2, 1.55, 1.7), fill=hair)
    elif style == "side_ponytail":
        d.ellipse(box(-1.7, -0.5, -0.8, 1.8), fill=hair)
    elif style == "double_bun":
        d.ellipse(box(-1.25, -1.45, -0.45, -0.65), fill=hair)
        d.ellipse(box(0.45, -1.45, 1.25, -0.65), fill=hair)
    # Neck and shoulders: a shirt, or bare shoulders (the one thing that changes the rating).
    d.rectangle(box(-0.3, 0.8, 0.3, 1.4), fill=skin)
    d.rounded_rectangle(box(-1.7, 1.2, 1.7, 3.2), radius=r * 0.6, fill=skin if bare else ch.shirt)
    if not bare:
        d.polygon(pts((-0.35, 1.2), (0.35, 1.2), (0.0, 1.65)), fill=skin)  # neckline
    # Face.
    d.ellipse(box(-1.0, -1.0, 1.0, 1.1), fill=skin)
    if "cat_ears" in ch.accessories:
        for s in (-1, 1):
            d.polygon(pts((s * 0.35, -0.85), (s * 0.95, -0.6), (s * 0.8, -1.65)), fill=hair)
            d.polygon(pts((s * 0.5, -0.85), (s * 0.85, -0.7), (s * 0.75, -1.35)), fill=(250, 170, 190))
    # Hair in front: a cap and a fringe, side locks for long styles.
    d.pieslice(box(-1.1, -1.2, 1.1, 0.55), 180, 360, fill=hair)
    for i in range(5):
        x = -0.9 + i * 0.45
        d.polygon(pts((x - 0.28, -0.4), (x + 0.28, -0.4), (x, -0.05)), fill=hair)
    if style in ("long_hair", "twintails", "side_ponytail"):
        d.rectangle(box(-1.1, -0.4, -0.85, 0.9), fill=hair)
        d.rectangle(box(0.85, -0.4, 1.1, 0.9), fill=hair)
    if "ahoge" in ch.accessories:
        d.line(pts((0.0, -1.1), (0.25, -1.6), (0.05, -1.85)), fill=hair, width=max(1, int(r * 0.12)))
    if "hairband" in ch.accessories:
        d.arc(box(-1.05, -1.15, 1.05, 0.9), 200, 340, fill=(230, 40, 90), width=max(1, int(r * 0.16)))
    if "hat" in ch.accessories:
        hat = (40, 40, 60) if ch.hair_colour != "black_hair" else (200, 30, 30)
        d.rectangle(box(-0.75, -1.85, 0.75, -0.85), fill=hat)
        d.ellipse(box(-1.45, -1.1, 1.45, -0.7), fill=hat)
    if "hair_ribbon" in ch.accessories:
        rib = (220, 20, 60) if ch.hair_colour not in ("red_hair", "pink_hair") else (40, 60, 220)
        d.polygon(pts((0.75, -0.85), (0.35, -1.25), (0.35, -0.45)), fill=rib)
        d.polygon(pts((0.75, -0.85), (1.15, -1.25), (1.15, -0.45)), fill=rib)
    # Eyes: white, iris in the eye colour, pupil, highlight.
    for s in (-1, 1):
        x = s * 0.4
        d.ellipse(box(x - 0.2, -0.05, x + 0.2, 0.4), fill=(255, 255, 255))
        d.ellipse(box(x - 0.15, 0.0, x + 0.15, 0.4), fill=eye)
        d.ellipse(box(x - 0.06, 0.12, x + 0.06, 0.3), fill=(20, 20, 30))
        d.ellipse(box(x - 0.1, 0.04, x - 0.02, 0.13), fill=(255, 255, 255))
    if "glasses" in ch.accessories:
        w = max(1, int(r * 0.07))
        for s in (-1, 1):
            d.ellipse(box(s * 0.4 - 0.3, -0.12, s * 0.4 + 0.3, 0.5), outline=(25, 25, 25), width=w)
        d.line(pts((-0.1, 0.15), (0.1, 0.15)), fill=(25, 25, 25), width=w)
    if blush:
        for s in (-1, 1):
            d.ellipse(box(s * 0.55 - 0.17, 0.45, s * 0.55 + 0.17, 0.6), fill=(245, 140, 150))
    if mouth == "smile":
        d.arc(box(-0.22, 0.45, 0.22, 0.8), 20, 160, fill=(120, 30, 30), width=max(1, int(r * 0.06)))
    else:
        d.ellipse(box(-0.12, 0.6, 0.12, 0.85), fill=(150, 30, 40))


def render(
    character: ToyCharacter, rng: np.random.Generator, size: int = 64, supersample: int = 2
) -> ToyImage:
    """One picture of `character`; pose, background, expression and noise come from `rng`."""
    big = size * supersample
    background = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    mouth = "smile" if rng.random() < 0.5 else "open_mouth"
    blush = bool(rng.random() < 0.3)
    bare = bool(rng.random() < 0.25)
    canvas = _background(big, background, rng)
    layer = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    scale = float(rng.uniform(0.8, 1.15))
    cx = big * (0.5 + rng.uniform(-0.08, 0.08))
    cy = big * (0.47 + rng.uniform(-0.06, 0.06))
    _draw_character(
        layer, character, rng, cx=cx, cy=cy, r=big * 0.2 * scale, mouth=mouth, blush=blush, bare=bare
    )
    angle = float(rng.uniform(-20, 20))
    layer = layer.rotate(angle, resample=Image.Resampling.BILINEAR, center=(cx, cy))
    canvas.paste(layer, (0, 0), layer)
    img = canvas.resize((size, size), Image.Resampling.BOX) if supersample > 1 else canvas
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.2, 0.8))))
    sigma = float(rng.uniform(0.0, 10.0))
    if sigma > 1.0:
        arr = np.asarray(img, dtype=np.int16) + rng.normal(0.0, sigma, (size, size, 3)).astype(np.int16)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    tags = [*character.tags(), mouth, *BACKGROUND_TAGS[background]]
    if blush:
        tags.append("blush")
    if bare:
        tags.append("bare_shoulders")
    return ToyImage(img, character, tuple(sorted(tags)), RATINGS[1] if bare else RATINGS[0])


def all_tags() -> list[str]:
    """Every general tag the generator can emit, sorted."""
    tags = {*HAIR_COLOURS, *HAIR_STYLES, *EYE_COLOURS, "glasses", "hair_ribbon", "smile"}
    tags |= {a for a in TOP_ACCESSORIES if a} | {"open_mouth", "blush", "bare_shoulders"}
    tags |= {t for group in BACKGROUND_TAGS.values() for t in group}
    return sorted(tags)


def generate(
    n_characters: int,
    per_character: int,
    *,
    size: int = 64,
    seed: int = 0,
    image_seed: int | None = None,
) -> Iterator[ToyImage]:
    """Images in character order; each image has its own seed so any subset is reproducible."""
    image_seed = seed if image_seed is None else image_seed
    for c, character in enumerate(make_characters(n_characters, seed)):
        for i in range(per_character):
            yield render(character, np.random.default_rng([image_seed, c, i]), size)


GENERATOR_NAME = "toy-characters"


@dataclass(frozen=True)
class SyntheticSpec:
    """Parameters that fully determine a generated data set (recorded in export.json)."""

    n_characters: int = 20
    per_character: int = 50
    size: int = 64
    seed: int = 0
    image_seed: int | None = None


def write_dataset(out_dir: Path, spec: SyntheticSpec) -> Path:
    """Write `spec` in the library export format (images/, labels.csv, export.json).

    Reuses the folder when its export.json records the same parameters, so repeated runs of
    `animesion-train train --dataset synthetic` do not redraw the images.
    """
    out_dir = Path(out_dir)
    meta_path = out_dir / "export.json"
    params = asdict(spec)
    if meta_path.is_file():
        try:
            if json.loads(meta_path.read_text()).get("generator", {}).get("params") == params:
                return out_dir
        except (OSError, ValueError):
            pass  # unreadable: write it again
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    counters: dict[str, int] = {}
    for toy in generate(
        spec.n_characters, spec.per_character, size=spec.size, seed=spec.seed,
        image_seed=spec.image_seed,
    ):
        index = counters.get(toy.character.name, 0)
        counters[toy.character.name] = index + 1
        rel = f"images/{toy.character.name}/{index:05d}.png"
        (out_dir / rel).parent.mkdir(exist_ok=True)
        toy.image.save(out_dir / rel, compress_level=1)
        rows.append([rel, toy.character.name, " ".join(toy.tags), toy.character.series, toy.rating])
    write_export(
        out_dir,
        rows,
        {
            "generator": {"name": GENERATOR_NAME, "params": params},
            "images": len(rows),
            "characters": [c.name for c in make_characters(spec.n_characters, spec.seed)],
            "tags": all_tags(),
        },
    )
    return out_dir
