"""A pytest plugin that records every file or folder the tests open under forbidden roots.

Used by ``tests/test_self_contained.py``: it runs part of the suite in a copy of the
repository with ``-p tests.helpers.outside_reads`` and these environment variables:

* ``THUD_FORBIDDEN_ROOTS``: folders no test may read (``os.pathsep``-separated);
* ``THUD_ALLOWED_ROOTS``: folders inside those that may be read (the Python installation);
* ``THUD_OUTSIDE_READS``: the JSON-lines file each recorded access is appended to
  (``{"test", "event", "path"}``).

The record comes from an audit hook (:func:`sys.addaudithook`): ``open`` (also what
``import`` reads), directory listings and copies, so it sees every read, whatever path
expression a test used to get there.
"""

from __future__ import annotations

import json
import os
import sys

_EVENTS = {"open": 0, "os.listdir": 0, "os.scandir": 0, "shutil.copyfile": 0, "shutil.copytree": 0, "os.chdir": 0}


def _roots(name: str) -> tuple[str, ...]:
    return tuple(os.path.realpath(p) + os.sep for p in os.environ.get(name, "").split(os.pathsep) if p)


def pytest_configure(config) -> None:
    forbidden = _roots("THUD_FORBIDDEN_ROOTS")
    allowed = _roots("THUD_ALLOWED_ROOTS")
    log = os.environ.get("THUD_OUTSIDE_READS")
    if not forbidden or not log:
        return
    seen: set[tuple[str, str]] = set()
    busy = [False]

    def hook(event: str, args: tuple) -> None:
        if event not in _EVENTS or busy[0] or not args:
            return
        path = args[_EVENTS[event]]
        if isinstance(path, int) or path is None:
            return
        busy[0] = True  # the hook's own work (realpath, the log) must not re-enter it
        try:
            full = os.path.realpath(os.fsdecode(path)) + os.sep
            if full.startswith(forbidden) and not full.startswith(allowed):
                test = os.environ.get("PYTEST_CURRENT_TEST", "(collection)").split(" ")[0]
                key = (test, full)
                if key not in seen:
                    seen.add(key)
                    with open(log, "a", encoding="utf-8") as f:
                        f.write(json.dumps({"test": test, "event": event, "path": full.rstrip(os.sep)}) + "\n")
        except (TypeError, ValueError):
            pass
        finally:
            busy[0] = False

    sys.addaudithook(hook)
