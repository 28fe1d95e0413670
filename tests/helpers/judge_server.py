"""A loopback OpenAI-compatible server that plays an LLM judge, for the judge tests.

:class:`JudgeServer` is a ``http.server`` on 127.0.0.1 (a free port, real sockets) answering
``POST /v1/chat/completions``. It reads the answer out of the judge prompt (between the
``<<<`` / ``>>>`` fences of ``JUDGE_PROMPT``) and replies with ``script(answer)``: a scripted
judge. Every request is counted and kept (``requests``); ``fail_after`` makes it answer
HTTP 400 once that many requests were served (a run that breaks midway).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_FENCED = re.compile(r"<<<\n(.*)\n>>>", re.S)


class JudgeServer:
    def __init__(self, script: Callable[[str], str], fail_after: int | None = None):
        self.script = script
        self.fail_after = fail_after
        self.requests: list[dict[str, Any]] = []
        self.answers: list[str] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    broken = server.fail_after is not None and len(server.requests) > server.fail_after
                if broken:
                    self._send(400, {"error": {"message": "the judge server broke down"}})
                    return
                prompt = body["messages"][-1]["content"]
                m = _FENCED.search(prompt)
                answer = m.group(1) if m else ""
                with server.lock:
                    server.answers.append(answer)
                reply = server.script(answer)
                self._send(200, {
                    "id": f"chatcmpl-{len(server.requests)}", "object": "chat.completion", "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": reply}}],
                })  # fmt: skip

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> JudgeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
