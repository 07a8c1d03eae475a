"""Exchange: exports of the library (training sets, captions, sidecars, tables) and imports of
labels people already have. Both are core jobs: generators yielding progress, cancelled by an
Event, configured by an options dataclass, so the CLI, the app's dialogs and tests drive them
the same way. Retraining (export, train in a separate process, install) lives in retrain.py.
"""

from animesion_desktop.core.exchange.export_job import export
from animesion_desktop.core.exchange.options import (
    EXPORT_FORMATS,
    IMPORT_FORMATS,
    ExportOptions,
    ImportOptions,
)
from animesion_desktop.core.exchange.plan import ExportSummary
from animesion_desktop.core.exchange.writer import ExportError

__all__ = ["EXPORT_FORMATS", "IMPORT_FORMATS", "ExportError", "ExportOptions", "ExportSummary",
           "ImportOptions", "export"]
