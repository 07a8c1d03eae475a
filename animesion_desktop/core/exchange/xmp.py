"""XMP sidecars: writing our keywords and reading anyone's (digiKam, Lightroom, exiftool).

Written: ``dc:subject`` (every tag name, the keywords every tool shows), digiKam's
``digiKam:TagsList`` and Lightroom's ``lr:hierarchicalSubject`` with the category as the
parent (``Characters/hatsune_miku``, ``Characters|hatsune_miku``), and the image's content
hash as ``animesion:hash`` so a sidecar finds its image even where the image is not beside it.

Read: the hierarchies first (they carry the category), then the plain keywords. Documents with
a DOCTYPE are refused: XMP never needs one, and entity expansion is how XML files attack.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "animesion": "https://animesion.invalid/ns/1.0/",
}
# Category <-> the parent keyword in hierarchies.
PARENTS = {"character": "Characters", "copyright": "Copyrights", "artist": "Artists",
           "meta": "Meta", "rating": "Rating", "general": "Tags"}
CATEGORY_OF = {v.lower(): k for k, v in PARENTS.items()} | {
    "character": "character", "copyright": "copyright", "series": "copyright",
    "people": "character", "artist": "artist", "rating": "rating"}


class XmpError(ValueError):
    """A sidecar that is not readable XMP."""


def _items(kind: str, values: list[str]) -> str:
    lis = "".join(f"\n     <rdf:li>{escape(v)}</rdf:li>" for v in values)
    return f"<rdf:{kind}>{lis}\n    </rdf:{kind}>"


def write_xmp(tags: list[tuple[str, str]], image_hash: str | None = None) -> str:
    """An XMP packet for ``tags`` ((category, name) pairs)."""
    subjects = sorted({n for _, n in tags})
    tree = sorted(f"{PARENTS[c]}/{n}" for c, n in tags)
    hash_attr = f"\n    animesion:hash={quoteattr(image_hash)}" if image_hash else ""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        f'<x:xmpmeta xmlns:x="{NS["x"]}">\n'
        f' <rdf:RDF xmlns:rdf="{NS["rdf"]}">\n'
        '  <rdf:Description rdf:about=""\n'
        f'    xmlns:dc="{NS["dc"]}"\n'
        f'    xmlns:digiKam="{NS["digiKam"]}"\n'
        f'    xmlns:lr="{NS["lr"]}"\n'
        f'    xmlns:animesion="{NS["animesion"]}"{hash_attr}>\n'
        f"   <dc:subject>\n    {_items('Bag', subjects)}\n   </dc:subject>\n"
        f"   <digiKam:TagsList>\n    {_items('Seq', tree)}\n   </digiKam:TagsList>\n"
        f"   <lr:hierarchicalSubject>\n    {_items('Bag', [t.replace('/', '|', 1) for t in tree])}\n"
        "   </lr:hierarchicalSubject>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>\n'
    )


@dataclass
class XmpTags:
    tags: list[tuple[str, str]] = field(default_factory=list)  # (category, raw name)
    image_hash: str | None = None


def _list_items(desc: ET.Element, tag: str) -> list[str]:
    out = []
    for prop in desc.iter(tag):
        for li in prop.iter(f"{{{NS['rdf']}}}li"):
            if li.text and li.text.strip():
                out.append(li.text.strip())
    return out


def read_xmp(data: bytes) -> XmpTags:
    """Keywords of an XMP sidecar. Raises :class:`XmpError` naming the line of a parse error."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise XmpError("has a DOCTYPE/ENTITY declaration, which XMP never needs; not read")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        raise XmpError(f"line {line}, column {column + 1}: not well-formed XML") from None
    result = XmpTags()
    hierarchical: set[str] = set()
    for sep, tag in (("/", f"{{{NS['digiKam']}}}TagsList"), ("|", f"{{{NS['lr']}}}hierarchicalSubject")):
        for item in _list_items(root, tag):
            parts = [p.strip() for p in item.split(sep) if p.strip()]
            if not parts:
                continue
            leaf = parts[-1]
            hierarchical.add(leaf)
            category = CATEGORY_OF.get(parts[0].lower(), "general") if len(parts) > 1 else "general"
            result.tags.append((category, leaf))
    for item in _list_items(root, f"{{{NS['dc']}}}subject"):
        if item not in hierarchical:
            result.tags.append(("general", item))
    for desc in root.iter(f"{{{NS['rdf']}}}Description"):
        value = desc.get(f"{{{NS['animesion']}}}hash")
        if value:
            result.image_hash = value.strip().lower()
    result.tags = list(dict.fromkeys(result.tags))
    return result
