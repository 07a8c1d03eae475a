"""Opening the window does not load torch into the app's interpreter: importing it holds the
interpreter lock for a second or more, and the GUI thread waited for it at start-up (a
350-450 ms stall in the first scroll of benchmarks/bench_gui.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys, time
from PySide6.QtWidgets import QApplication
from animesion_desktop.core.library import Library
from animesion_desktop.ui.main_window import MainWindow
app = QApplication([])
lib = Library.open(sys.argv[1])
window = MainWindow(lib)
window.show()
window.grid_controller.run_search("")
end = time.monotonic() + 120
while time.monotonic() < end and "CPU" not in window.device_status.text():
    app.processEvents()
    time.sleep(0.01)
while time.monotonic() < end and not window.lanes.idle():
    app.processEvents()
    time.sleep(0.01)
print(window.device_status.text())
print("torch loaded" if "torch" in sys.modules else "torch not loaded")
window.close()
lib.close()
"""


def test_the_window_shows_its_device_without_loading_torch(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "lib.sqlite")],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-2] == "CPU · auto · no active pack"
    assert lines[-1] == "torch not loaded"
