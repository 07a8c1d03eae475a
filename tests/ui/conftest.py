import os

# No display on CI: every UI test renders offscreen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
