"""Registers tests/core/tagging_kit.py as the module ``tagging_kit``.

pytest's importlib mode puts no test folder on sys.path, so the tagging tests' shared builders
(tiny packs, fake predictors, image folders) are loaded here once, before any test module.
"""

import importlib.util
import sys
from pathlib import Path

if "tagging_kit" not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        "tagging_kit", Path(__file__).with_name("tagging_kit.py")
    )
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["tagging_kit"] = _module
    _spec.loader.exec_module(_module)
