"""A pytest plugin for mutation runs: every pytest session gets caches of its own.

``bench/mutation.py`` (mutmut) runs the tests once per mutant, in the same checkout. A
mutant of the media code that wrote into a shared ``$THUD_CACHE`` or ``datasets`` cache
could serve its wrong files to the next mutant, or to the unmutated code: a kill or a
survival that is not the mutant's own. Loaded with ``-p tests.helpers.fresh_caches``, it
points ``THUD_CACHE``, ``HF_DATASETS_CACHE`` and ``HF_HOME`` at a fresh folder for the
session and removes it afterwards.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

_VARIABLES = ("THUD_CACHE", "HF_DATASETS_CACHE", "HF_HOME")
_state: dict = {}


def pytest_configure(config) -> None:
    root = tempfile.mkdtemp(prefix="thud-mutation-caches-")
    _state["root"] = root
    _state["before"] = {name: os.environ.get(name) for name in _VARIABLES}
    for name in _VARIABLES:
        os.environ[name] = os.path.join(root, name.lower())
    # a forked mutmut worker has imported ``datasets`` already: its cache path is a constant
    hf_config = sys.modules.get("datasets.config")
    if hf_config is not None:
        _state["datasets_cache"] = hf_config.HF_DATASETS_CACHE
        hf_config.HF_DATASETS_CACHE = Path(os.environ["HF_DATASETS_CACHE"])


def pytest_unconfigure(config) -> None:
    for name, value in _state.pop("before", {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    hf_config = sys.modules.get("datasets.config")
    if hf_config is not None and "datasets_cache" in _state:
        hf_config.HF_DATASETS_CACHE = _state.pop("datasets_cache")
    root = _state.pop("root", None)
    if root:
        shutil.rmtree(root, ignore_errors=True)
