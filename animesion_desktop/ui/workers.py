"""Kept for the widgets that still import it: threading lives in ui/lanes.py."""

from animesion_desktop.ui.lanes import TaskRunner
from animesion_desktop.ui.lanes import describe as _describe

__all__ = ["TaskRunner", "_describe"]
