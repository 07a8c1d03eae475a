"""The inspector says which mode of a multimodal pack produced an image's guess: image only
until the user accepts tags in the panel and the tagging job runs again, then conditioned."""

from __future__ import annotations

import threading

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.tagging import tag_images
from animesion_desktop.core.tagging.packs_registry import install


def test_inspector_shows_the_mode_of_a_vilt_guess(qtbot, ui, lib: Library, tmp_path) -> None:
    import vilt_kit as vk

    install(lib, vk.make_vilt_pack(tmp_path / "vilt-pack"))
    run_to_end(tag_images(lib, None, threading.Event()))
    window = ui.open_window(qtbot, lib)
    ui.search_for(qtbot, window, "path:red*")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    image = window.model.image_id(0)
    ui.click_image(qtbot, window, image)
    title = window.detail.title
    qtbot.waitUntil(lambda: "vilt: image only, tags generated" in title.text())

    ui.add_tags(qtbot, window, "smile glasses")  # typed in the panel, as a user does
    qtbot.waitUntil(lambda: ui.user_labels(lib, [image]) == {
        (image, "smile"): "accepted", (image, "glasses"): "accepted"})
    window.act_tag.trigger()  # "Tag new images": the guess is out of date with the tags
    ui.settle(qtbot, window)
    ui.click_image(qtbot, window, image)
    qtbot.waitUntil(lambda: "vilt: conditioned on 2 tags" in title.text(), timeout=20_000)
    assert "image only" not in title.text()
