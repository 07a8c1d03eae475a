"""The precision chosen in the settings dialog reaches every tag job the app starts, and the
status bar shows the device and precision that ran.

The pack is a tiny ViT + IFA whose head is dominated by one class, so int8 agrees with fp32:
``auto`` keeps int8 after measuring it, ``fp32`` never measures anything. What the tests read
is what the job's predictor used (each PackRun's precision, agreement and status) and the
label in the status bar, after real tag jobs started from the window's own actions.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from animesion_desktop.core import settings as st
from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.scan import scan_roots
from animesion_desktop.core.tagging import packs_registry as registry

pytestmark = pytest.mark.skipif(torch.backends.quantized.engine == "none",
                                reason="no quantized engine on this platform")
T = 60_000
TINY_IFA = dict(hidden_size=64, num_layers=4, num_attention_heads=2, mlp_dim=128, patch_size=8)
IMAGES = 20  # >= models.precision.MIN_CHECK_IMAGES: auto decides at the end of the run


def _calm_pack(folder: Path) -> Path:
    from models.labels import Label
    from models.pack import write_pack
    from models.registry import create_model
    from models.spec import HeadSpec, InputSpec

    torch.manual_seed(0)
    model = create_model("vit_b16", heads={"character": 10}, image_size=32, ifa=True, **TINY_IFA)
    with torch.no_grad():  # one class wins by far: int8 noise cannot change the answers
        fc = model.head.heads["character"]
        fc.weight.mul_(0.01)
        fc.bias.zero_()
        fc.bias[3] = 8.0
    labels = tuple(Label(f"girl_{i}", "character", 0.5) for i in range(10))
    write_pack(folder, name="calm", backend="torch",
               heads=[HeadSpec("character", "softmax", labels)], input_spec=InputSpec(size=32),
               model=model)
    return folder


@pytest.fixture
def lib(tmp_path: Path):
    pics = tmp_path / "pics"
    pics.mkdir()
    rng = np.random.default_rng(0)
    for i in range(IMAGES):
        blobs = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
        Image.fromarray(blobs).resize((32, 32), Image.NEAREST).save(pics / f"{i:03d}.png")
    library = Library.open(tmp_path / "lib.sqlite")
    library.add_root(pics)
    run_to_end(scan_roots(library, [pics], threading.Event()))
    registry.install(library, _calm_pack(tmp_path / "calm"))
    yield library
    library.close()


def choose_precision(qtbot, window, value: str) -> None:
    """File ▸ Settings…, type the precision into its combo box, OK."""
    window.menus.act_settings.trigger()
    dialog = window.prefs.dialog
    qtbot.waitExposed(dialog)
    dialog.precision.setFocus()
    qtbot.keyClicks(dialog.precision, value)  # keyboard search picks the item
    assert dialog.precision.currentText() == value
    with qtbot.waitSignal(window.prefs.changed, timeout=T):
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok),
                         Qt.MouseButton.LeftButton)


def run_job(qtbot, window, start) -> object:
    """Start a job the way the window does and return its summary."""
    with qtbot.waitSignal(window.lanes.jobs.finished, timeout=T) as finished:
        start(qtbot, window)
    return finished.args[1]


def tag_new(qtbot, window) -> None:
    window.act_tag.trigger()  # the toolbar's "Tag new images"


def tag_from_packs_dialog(qtbot, window) -> None:
    window.menus.act_packs.trigger()  # Models ▸ Packs and thresholds…
    dialog = window.menus.packs_dialog
    qtbot.waitUntil(lambda: dialog.current_pack() == "calm" and dialog.tag_button.isEnabled(),
                    timeout=T)
    qtbot.mouseClick(dialog.tag_button, Qt.MouseButton.LeftButton)


def tag_arrivals(qtbot, window) -> None:
    window.jobs.tag_arrivals()  # what the watcher asks for when new images appear


@pytest.mark.parametrize("start", [tag_new, tag_from_packs_dialog, tag_arrivals])
def test_fp32_chosen_in_settings_is_what_every_tag_job_runs(qtbot, lib, ui, start) -> None:
    window = ui.open_window(qtbot, lib)
    qtbot.waitUntil(lambda: window.device_status.text() == "CPU · auto · calm", timeout=T)

    choose_precision(qtbot, window, "fp32")
    assert st.load(lib.location.config_dir)[0].precision == "fp32"  # saved where jobs read it
    qtbot.waitUntil(lambda: window.device_status.text() == "CPU · fp32 · calm", timeout=T)

    summary = run_job(qtbot, window, start)
    (run,) = summary.runs
    assert run.tagged == IMAGES
    assert run.precision == "fp32" and run.agreement is None  # asked fp32: nothing measured
    assert run.status == "CPU · fp32"
    ui.settle(qtbot, window)
    assert window.device_status.text() == "CPU · fp32 · calm"
    assert not list(lib.location.packs_dir.rglob("*precision.json"))  # auto never ran


def test_auto_in_settings_runs_the_auto_policy_and_the_status_bar_says_int8(qtbot, lib, ui):
    window = ui.open_window(qtbot, lib)
    choose_precision(qtbot, window, "fp32")
    choose_precision(qtbot, window, "auto")  # back to auto, through the dialog again
    qtbot.waitUntil(lambda: window.device_status.text() == "CPU · auto · calm", timeout=T)

    summary = run_job(qtbot, window, tag_new)
    (run,) = summary.runs
    assert run.tagged == IMAGES
    # auto compared int8 with fp32 on the run's images and kept it
    assert run.precision == "int8" and run.status == "CPU · int8"
    assert run.agreement and run.agreement[0]["precision"] == "int8"
    assert run.agreement[0]["passed"] and run.agreement[0]["images"] == IMAGES
    qtbot.waitUntil(lambda: window.device_status.text() == "CPU · int8 · calm", timeout=T)
    assert "int8 kept: top-1 100.0 % identical" in window.device_status.toolTip()
    assert list(lib.location.packs_dir.rglob("*precision.json"))  # the decision is kept

    # a settings change shows what the next job would run, until it runs
    choose_precision(qtbot, window, "bf16")
    qtbot.waitUntil(lambda: window.device_status.text() == "CPU · bf16 · calm", timeout=T)
