"""A pytest plugin for mutation runs: functions that run at import time count for every test.

mutmut (``bench/mutation.py``) first records which tests call each function, then runs
only those tests against that function's mutants. A function called while the modules are
imported (``_rule`` compiling the claim patterns, ``_rows`` building the precedence
tables) is recorded before any test starts, so mutmut gives it to the first test alone, and
that one test rarely notices a broken pattern. Everything such a function builds is used by
every test, so this plugin gives it to every test of the session: it takes the functions
recorded before the first test and adds them again before each test.

Inactive outside mutmut's stats collection (``MUTANT_UNDER_TEST=stats``).
"""

from __future__ import annotations

import os

_import_time: set[str] = set()


def _mutmut_state():
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return None
    try:
        from mutmut.state import state
    except ImportError:
        return None
    return state()


def pytest_collection_finish(session) -> None:
    s = _mutmut_state()
    if s is not None:
        _import_time.update(s._stats)


def pytest_runtest_setup(item) -> None:
    s = _mutmut_state()
    if s is not None:
        s._stats.update(_import_time)
