"""A loopback OpenAI-compatible server that plays an LLM judge, for the judge tests.

:class:`JudgeServer` is the :class:`~tests.helpers.wire.LoopbackServer` (a ``http.server``
on 127.0.0.1, a free port, real sockets, every request kept in ``requests``) serving a
scripted judge instead of a listening model: it reads the answer out of the judge prompt
(between the ``<<<`` / ``>>>`` fences of ``JUDGE_PROMPT``) and replies ``script(answer)``.
``fail_after`` makes it answer HTTP 400 once that many requests were served (a run that
breaks midway).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.helpers.wire import LoopbackServer

_FENCED = re.compile(r"<<<\n(.*)\n>>>", re.S)


class JudgeServer(LoopbackServer):
    def __init__(self, script: Callable[[str], str], fail_after: int | None = None):
        super().__init__()
        self.script = script
        self.fail_after = fail_after
        self.answers: list[str] = []  # the answers the judge was asked about

    def answer_request(self, body: dict[str, Any]) -> str:
        with self.lock:
            if self.fail_after is not None and len(self.requests) > self.fail_after:
                raise RuntimeError("the judge server broke down")
        m = _FENCED.search(body["messages"][-1]["content"])
        answer = m.group(1) if m else ""
        with self.lock:
            self.answers.append(answer)
        return self.script(answer)

    def __enter__(self) -> JudgeServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
