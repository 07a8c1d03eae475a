"""Registers the shared builders tests/core/tagging_kit.py, library_kit.py and exchange_kit.py
as modules.

pytest's importlib mode puts no test folder on sys.path, so the builders the tests share (tiny
packs, fake predictors, image folders, libraries without the scanner) are loaded here once,
before any test module.
"""

import importlib.util
import sys
from pathlib import Path

for _name in ("tagging_kit", "library_kit", "exchange_kit", "similar_kit"):
    if _name not in sys.modules:
        _spec = importlib.util.spec_from_file_location(_name, Path(__file__).with_name(f"{_name}.py"))
        assert _spec is not None and _spec.loader is not None
        _module = importlib.util.module_from_spec(_spec)
        sys.modules[_name] = _module
        _spec.loader.exec_module(_module)
