"""LLM judges for answers: clients, a verdict cache, and the files of an agreement report.

A judge reads an answer the way :data:`~thud_metrics.parsing.JUDGE_PROMPT` asks and replies
with one word, which :func:`~thud_metrics.parsing.read_verdict` reads strictly. Build one
from a spec with :func:`make_judge`:

* ``openai:MODEL`` - any OpenAI-compatible chat-completions server (vLLM, SGLang, llama.cpp,
  Ollama, a hosted API) at ``base_url``; plain ``urllib``, no client library. The API key, if
  the server needs one, comes from ``api_key`` or the ``THUD_JUDGE_API_KEY`` /
  ``OPENAI_API_KEY`` environment variables.
* ``transformers:PATH`` - a local causal LM checkpoint, provided by
  :mod:`thud_models.adapters.transformers_judge` (it needs torch: the ``train`` extra), which
  registers itself here; ``thud_models.make_judge`` is this function with it registered.

With ``cache=PATH`` every verdict is appended to a JSON-lines file as soon as it arrives,
keyed by (answer, dimension, judge, prompt version): a re-score asks nothing again and an
interrupted run resumes where it stopped. ``thud score`` keeps that file next to the
predictions (:func:`judge_cache_path`).

Use the judge anywhere a callable judge is accepted::

    judge = make_judge("openai:qwen2.5-7b-instruct", base_url="http://localhost:8000/v1", cache="run.judge-cache")
    score_probes(..., judge=judge)                 # the rules first, the judge on what they cannot read
    score_probes(..., judge=judge, judge_all=True) # the judge on every answer, agreement reported
    evaluate.load(THUD_GAP).compute(..., judge=judge)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from thud_dataset.jsonl import iter_jsonl

from .parsing import JUDGE_PROMPT_VERSION, judge_prompt

__all__ = [
    "CachedJudge",
    "JudgeError",
    "OpenAIJudge",
    "judge_cache_path",
    "make_judge",
    "register_judge_backend",
    "replies_with_progress",
    "write_judge_files",
]

logger = logging.getLogger(__name__)


class JudgeError(RuntimeError):
    """The judge cannot be used: the server is unreachable or refuses, a reply is malformed,
    a spec is wrong. The message is one line saying which and what to do."""


class JudgeClient(Protocol):
    """What a judge backend offers: a name (part of the cache key), one reply per answer,
    and the replies of many answers in order (as they arrive)."""

    name: str

    def __call__(self, answer: str, dimension: str | None) -> str: ...

    def iter_replies(self, items: list[tuple[str, str | None]]) -> Iterator[str]: ...


# -- OpenAI-compatible servers -------------------------------------------------------------

_RETRY_STATUS = frozenset([408, 429, 500, 502, 503, 504])


def _api_base(base_url: str) -> str:
    """``http://host:port`` -> ``http://host:port/v1``; a URL with a path is kept as given."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise JudgeError(f"judge base URL must be http(s)://host[:port][/path]; got {base_url!r}")
    url = base_url.rstrip("/")
    return url + "/v1" if parts.path in ("", "/") else url


class OpenAIJudge:
    """A judge behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Parameters
    ----------
    model : str
        The model name the server knows.
    base_url : str
        The API root (``http://localhost:8000/v1``; a bare ``http://host:port`` gets ``/v1``).
    api_key : str, optional
        Sent as a bearer token; defaults to ``$THUD_JUDGE_API_KEY`` or ``$OPENAI_API_KEY``.
    timeout : float
        Seconds to wait for one reply.
    retries : int
        Extra tries, with a short back-off, for a timeout or a 408/429/5xx status. A refused
        connection, an unknown host or another HTTP error fails at once.
    workers : int
        Requests in flight at once in :meth:`iter_replies` (replies still come in order).
    max_tokens : int
        Reply length limit (the protocol asks for one word).
    """

    def __init__(
        self,
        model: str,
        base_url: str = "http://localhost:8000/v1",
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 2,
        workers: int = 4,
        max_tokens: int = 16,
    ):
        if not model:
            raise JudgeError("openai judge needs a model name: openai:MODEL")
        self.model = model
        self.url = _api_base(base_url) + "/chat/completions"
        self.api_key = api_key or os.environ.get("THUD_JUDGE_API_KEY") or os.environ.get("OPENAI_API_KEY")
        self.timeout = timeout
        self.retries = retries
        self.workers = max(1, workers)
        self.max_tokens = max_tokens
        self.name = f"openai:{model}"
        self.requests = 0  # HTTP requests sent
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAIJudge({self.model!r}, {self.url!r})"

    def __call__(self, answer: str, dimension: str | None) -> str:
        return self._complete(judge_prompt(answer, dimension))

    def judge_many(self, items: list[tuple[str, str | None]]) -> list[str]:
        """The replies for ``items`` in order, with a progress bar."""
        return list(replies_with_progress(self, items))

    def iter_replies(self, items: list[tuple[str, str | None]]) -> Iterator[str]:
        """The replies for ``items`` in order, up to ``workers`` requests at a time."""
        if self.workers == 1 or len(items) < 2:
            yield from (self(a, d) for a, d in items)
            return
        with ThreadPoolExecutor(self.workers, thread_name_prefix="thud-judge") as pool:
            yield from pool.map(lambda item: self(*item), items)

    def _post(self, body: bytes) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with self._lock:
            self.requests += 1
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (a URL the user gave)
            return json.loads(response.read().decode("utf-8"))

    def _complete(self, prompt: str) -> str:
        body = json.dumps(
            {
                "model": self.model,
                "messages": [{"role": "user", "content": prompt}],
                "temperature": 0,
                "max_tokens": self.max_tokens,
            }
        ).encode("utf-8")
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                payload = self._post(body)
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", "replace")[:300].replace("\n", " ")
                if exc.code in _RETRY_STATUS and not last:
                    time.sleep(0.5 * 2**attempt)
                    continue
                raise JudgeError(f"judge {self.name} at {self.url}: HTTP {exc.code}: {detail}") from None
            except urllib.error.URLError as exc:
                reason = exc.reason
                if isinstance(reason, TimeoutError) and not last:
                    continue
                if isinstance(reason, ConnectionRefusedError):
                    raise JudgeError(
                        f"judge server {self.url} refused the connection: is it running? (check --judge-base-url)"
                    ) from None
                raise JudgeError(f"judge server {self.url} cannot be reached: {reason}") from None
            except TimeoutError:
                if not last:
                    continue
                raise JudgeError(f"judge server {self.url} did not answer within {self.timeout:g} s") from None
            except json.JSONDecodeError as exc:
                raise JudgeError(f"judge server {self.url} did not return JSON: {exc}") from None
            try:
                content = payload["choices"][0]["message"]["content"]
            except (KeyError, IndexError, TypeError):
                raise JudgeError(
                    f"judge server {self.url} returned no choices[0].message.content: {str(payload)[:200]}"
                ) from None
            return content if isinstance(content, str) else ""
        raise AssertionError("unreachable")  # the last attempt returns or raises


# -- the verdict cache ---------------------------------------------------------------------


def judge_cache_path(predictions: str | Path) -> Path:
    """Where ``thud score`` keeps the judge's verdicts on a predictions file: beside it,
    ``<file>.judge-cache`` (JSON lines; not ``.jsonl``, so a glob of predictions skips it)."""
    path = Path(predictions)
    return path.with_name(path.name + ".judge-cache")


def _key(judge: str, dimension: str | None, answer: str) -> tuple[str, str, str, str]:
    digest = hashlib.sha256(answer.encode("utf-8")).hexdigest()
    return (judge, JUDGE_PROMPT_VERSION, dimension or "", digest)


class CachedJudge:
    """A judge whose replies are kept in a JSON-lines file, one line per (answer,
    dimension), appended and flushed as each reply arrives.

    Lines of another judge or another prompt version stay in the file and are not used.
    ``requests`` counts the replies this object had to ask for (0 on a re-score).
    """

    def __init__(self, judge: JudgeClient, path: str | Path):
        self.judge = judge
        self.name = judge.name
        self.path = Path(path)
        self.requests = 0
        self.hits = 0
        self._replies: dict[tuple[str, str, str, str], str] = {}
        self._lock = threading.Lock()
        if self.path.is_file():
            for lineno, row in iter_jsonl(self.path, JudgeError, skip_incomplete_last=True):
                try:
                    key = (row["judge"], row["prompt_version"], row["dimension"] or "", row["answer_sha256"])
                    self._replies[key] = row["reply"]
                except KeyError as exc:
                    raise JudgeError(f"{self.path}:{lineno}: a judge cache line without {exc}") from None

    def __repr__(self) -> str:
        return f"CachedJudge({self.judge!r}, {str(self.path)!r})"

    def _store(self, answer: str, dimension: str | None, reply: str) -> None:
        row = {
            "judge": self.name, "prompt_version": JUDGE_PROMPT_VERSION, "dimension": dimension,
            "answer_sha256": _key(self.name, dimension, answer)[3], "answer": answer, "reply": reply,
        }  # fmt: skip
        with self._lock:
            self._replies[_key(self.name, dimension, answer)] = reply
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                fh.flush()

    def __call__(self, answer: str, dimension: str | None) -> str:
        return next(iter(self.iter_replies([(answer, dimension)])))

    def iter_replies(self, items: list[tuple[str, str | None]]) -> Iterator[str]:
        """Replies in order: cached ones at once, the others asked (and stored) as needed."""
        missing = [item for item in dict.fromkeys(items) if _key(self.name, item[1], item[0]) not in self._replies]
        self.hits += len(items) - len(missing)
        fresh = replies_with_progress(self.judge, missing)
        for answer, dimension in missing:
            reply = next(fresh)
            self.requests += 1
            self._store(answer, dimension, reply)
        for answer, dimension in items:
            yield self._replies[_key(self.name, dimension, answer)]

    def judge_many(self, items: list[tuple[str, str | None]]) -> list[str]:
        return list(self.iter_replies(items))


def replies_with_progress(judge: Callable[..., str], items: list[tuple[str, str | None]]) -> Iterator[str]:
    """A judge's replies to ``items``, in order, with a progress bar."""
    from tqdm.auto import tqdm

    many = getattr(judge, "iter_replies", None)
    replies: Iterable[str] = many(items) if callable(many) else (judge(a, d) for a, d in items)
    name = getattr(judge, "name", "judge")
    yield from tqdm(replies, total=len(items), desc=f"judging with {name}", unit="answer", disable=not items)


# -- specs ---------------------------------------------------------------------------------

#: scheme -> factory(target, **options); ``transformers`` is added by thud_models
_BACKENDS: dict[str, Callable[..., JudgeClient]] = {}


def register_judge_backend(scheme: str, factory: Callable[..., JudgeClient]) -> None:
    """Make ``make_judge("<scheme>:<target>")`` call ``factory(target, **options)``."""
    _BACKENDS[scheme] = factory


def _openai(target: str, *, base_url: str | None = None, **options: Any) -> OpenAIJudge:
    return OpenAIJudge(target, base_url or "http://localhost:8000/v1", **options)


register_judge_backend("openai", _openai)


class _Named:
    """A plain callable made into a judge client (a name, replies one at a time)."""

    def __init__(self, fn: Callable[[str, str | None], str], name: str):
        self.fn, self.name = fn, name

    def __call__(self, answer: str, dimension: str | None) -> str:
        return self.fn(answer, dimension)

    def iter_replies(self, items: list[tuple[str, str | None]]) -> Iterator[str]:
        return (self.fn(a, d) for a, d in items)


def make_judge(
    spec: str | Callable[[str, str | None], str],
    *,
    base_url: str | None = None,
    cache: str | Path | None = None,
    **options: Any,
) -> Callable[[str, str | None], str]:
    """A judge from a spec: ``openai:MODEL`` or ``transformers:PATH`` (or a callable,
    given a cache).

    Parameters
    ----------
    spec : str or callable
        ``"openai:MODEL"`` (with ``base_url``), ``"transformers:PATH"`` (needs
        ``thud_models``), or ``judge(answer, dimension) -> reply``.
    base_url : str, optional
        The OpenAI-compatible server (``openai:`` only).
    cache : path, optional
        A JSON-lines file of verdicts, read first and appended to (:class:`CachedJudge`).
    **options
        Passed to the backend (``api_key``, ``timeout``, ``retries``, ``workers`` for openai;
        ``device``, ``max_new_tokens`` for transformers).

    Raises
    ------
    JudgeError
        An unknown scheme, an empty target, or options the backend does not take.

    Examples
    --------
    >>> make_judge("openai:my-judge", base_url="http://127.0.0.1:9/v1").name
    'openai:my-judge'
    >>> make_judge("gpt4")
    Traceback (most recent call last):
    ...
    thud_metrics.judge.JudgeError: judge spec must be 'openai:MODEL' or 'transformers:PATH'; got 'gpt4'
    """
    if callable(spec):
        client = _Named(spec, getattr(spec, "name", None) or getattr(spec, "__qualname__", "judge"))
    else:
        scheme, _, target = str(spec).partition(":")
        if not target or scheme not in ("openai", "transformers", *_BACKENDS):
            raise JudgeError(f"judge spec must be 'openai:MODEL' or 'transformers:PATH'; got {spec!r}")
        if base_url is not None and scheme != "openai":
            raise JudgeError(f"--judge-base-url is for openai: judges, not {scheme}:")
        if scheme not in _BACKENDS:
            raise JudgeError(
                f"the {scheme!r} judge is provided by thud_models (pip install 'thud[train]'): use "
                "thud_models.make_judge, or import thud_models.adapters.transformers_judge first"
            )
        if base_url is not None:
            options["base_url"] = base_url
        try:
            client = _BACKENDS[scheme](target, **options)
        except TypeError as exc:
            raise JudgeError(f"judge {spec!r}: {exc}") from None
    return CachedJudge(client, cache) if cache is not None else client


# -- report files --------------------------------------------------------------------------


def write_judge_files(out_dir: str | Path, results: dict[str, dict]) -> list[Path]:
    """Move each model's judge lists out of ``results`` into files in ``out_dir``.

    ``results`` is ``{model: score_probes(...) result}``; where a result has a ``judge``
    report, its ``disagreements`` (answers the rules and the judge read differently) and
    ``unreadable`` (judge replies that were not a reading) lists go to
    ``judge_disagreements.jsonl`` and ``judge_unreadable.jsonl`` (one line each, with the
    model), and the report keeps their counts. Returns the files written.
    """
    out_dir = Path(out_dir)
    lists: dict[str, list[dict]] = {"disagreements": [], "unreadable": []}
    for model, r in results.items():
        report = r.get("judge")
        if not report:
            continue
        for key in lists:
            rows = report.pop(key, [])
            lists[key] += [{"model": model, **row} for row in rows]
            report[f"{key}_file"] = f"judge_{key}.jsonl"
    if not any(r.get("judge") for r in results.values()):
        return []
    from thud_dataset.jsonl import write_jsonl

    return [write_jsonl(rows, out_dir / f"judge_{key}.jsonl") for key, rows in lists.items()]
