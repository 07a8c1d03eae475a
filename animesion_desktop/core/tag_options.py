"""The device and precision of every tag job the app starts: the settings' choice.

Each job that runs a pack (Tag new images, tagging the library with one pack, a folder added
and tagged in one pass, the watcher's new arrivals) asks :func:`tag_options` when it starts, on
the job's thread, and passes the answer on::

    tag_images(lib, pack, cancel, **tag_options(lib))
    index_and_tag(lib, roots, cancel, **tag_options(lib))

So the settings saved by the dialog decide the next job, and a job queued before a change runs
with the choice in force when it starts. The command line takes its own flags instead.
"""

from __future__ import annotations

from typing import TypedDict

from animesion_desktop.core import settings as st
from animesion_desktop.core.library import Library


class TagOptions(TypedDict):
    device: str | None  # None: the best device there is (CUDA > MPS > CPU)
    precision: str  # models.precision: auto | fp32 | int8 | bf16 | fp16


def options_from(settings: st.Settings) -> TagOptions:
    return {"device": None if settings.device == "auto" else settings.device,
            "precision": settings.precision}


def tag_options(lib: Library) -> TagOptions:
    """The options the library's saved settings give (defaults where the file has none; a bad
    value is its default, as the window reported when it opened)."""
    settings, _problems = st.load(lib.location.config_dir)
    return options_from(settings)
