"""Exchange: exports of the library (training sets, captions, sidecars, tables), imports of
labels people already have, and retraining from the user's decisions.

Each is a core job — a generator yielding :class:`~animesion_desktop.core.jobs.Progress`,
cancelled by a ``threading.Event``, configured by one options dataclass and returning a summary
— so the CLI, the app's dialogs and tests drive them the same way::

    summary = run_to_end(export(lib, ExportOptions("ours", dest), cancel))
    summary = run_to_end(import_labels(lib, ImportOptions("folders", src), cancel))
    result = run_to_end(retrain(lib, RetrainOptions(minutes=10), cancel))
"""

from animesion_desktop.core.exchange.child import ChildError
from animesion_desktop.core.exchange.export_job import export
from animesion_desktop.core.exchange.import_job import (
    ImportSourceError,
    ImportSummary,
    import_labels,
)
from animesion_desktop.core.exchange.options import (
    EXPORT_FORMATS,
    IMPORT_FORMATS,
    ExportOptions,
    ImportOptions,
)
from animesion_desktop.core.exchange.plan import ExportSummary
from animesion_desktop.core.exchange.retrain import (
    RetrainError,
    RetrainOptions,
    RetrainResult,
    figure_lines,
    retrain,
)
from animesion_desktop.core.exchange.writer import ExportError

__all__ = [
    "EXPORT_FORMATS", "IMPORT_FORMATS", "ChildError", "ExportError", "ExportOptions",
    "ExportSummary", "ImportSourceError", "ImportOptions", "ImportSummary", "RetrainError",
    "RetrainOptions", "RetrainResult", "export", "figure_lines", "import_labels", "retrain",
]
