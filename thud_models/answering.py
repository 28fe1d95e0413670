"""Ask an answerer many probes: one at a time, ``N`` calls in flight, or in batches.

:func:`answer_all` is what ``thud run`` and the audio-path check share. It yields one
:class:`Completion` per query **as each finishes** (not in input order), so a caller can
write every answer the moment it exists:

* an answerer with ``answer_many(items)`` (the transformers adapter) gets all the queries
  at once and batches them itself (``batch_size``), preparing inputs ahead of the model;
* otherwise, with ``concurrency > 1`` (an HTTP adapter), that many ``answer`` calls run at
  once on worker threads;
* otherwise the calls run one after another in the caller's thread.

A failing call is a :class:`Completion` with its ``error``; the run goes on. Two things end
it instead, raised from the generator: :class:`~thud_models.base.AnswererUnavailable` (the
model cannot be reached: asking the next probe cannot help) and a ``BaseException`` such as
``KeyboardInterrupt``. Calls still in flight are then abandoned (worker threads are daemons,
so an interrupted process exits without waiting for them).

Video paths are resolved in the dispatching thread, one query at a time, just before the
call: writing a probe's video to the cache is never done by two threads at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .base import Answerer, AnswererUnavailable

log = logging.getLogger(__name__)

__all__ = ["Completion", "Query", "answer_all", "concurrency_of"]


@dataclass(frozen=True)
class Query:
    """One question for the answerer.

    ``key`` is whatever the caller knows it by (a probe id, a canary); ``video`` is a path,
    or a zero-argument function returning one (called in the dispatching thread; what it
    raises is recorded as the query's error).
    """

    key: Any
    prompt: str
    video: str | Callable[[], str]

    def video_path(self) -> str:
        return self.video() if callable(self.video) else self.video


@dataclass(frozen=True)
class Completion:
    """The outcome of one :class:`Query`: an ``answer`` or an ``error`` (``"Type: message"``),
    and the seconds it took (a batch's time is shared out equally among its queries)."""

    query: Query
    answer: str | None
    error: str | None
    seconds: float


def concurrency_of(answerer: Answerer, concurrency: int | None = None) -> int:
    """``concurrency`` if given, else the answerer's own ``concurrency`` attribute, else 1.

    >>> class Api:
    ...     name, concurrency = "api", 8
    >>> concurrency_of(Api()), concurrency_of(Api(), 2), concurrency_of(object())
    (8, 2, 1)
    """
    n = concurrency if concurrency is not None else getattr(answerer, "concurrency", 1)
    n = int(n or 1)
    if n < 1:
        raise ValueError(f"concurrency must be >= 1, got {n}")
    return n


def _error_text(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def _checked(answer: Any) -> str | None:
    if answer is not None and not isinstance(answer, str):
        raise TypeError(f"answer() returned {type(answer).__name__}, not str")
    return answer


def _ask(answerer: Answerer, q: Query) -> Completion:
    """One call; an ``Exception`` is recorded, fatal ones propagate."""
    t0 = time.perf_counter()
    try:
        answer, error = _checked(answerer.answer(q.video_path(), q.prompt)), None
    except AnswererUnavailable:
        raise
    except Exception as e:  # one probe's failure is recorded, not fatal
        answer, error = None, _error_text(e)
    return Completion(q, answer, error, time.perf_counter() - t0)


def answer_all(
    answerer: Answerer, queries: Iterable[Query], *, concurrency: int | None = None
) -> Iterator[Completion]:
    """Every query's :class:`Completion`, in the order they finish (see the module docstring).

    Parameters
    ----------
    answerer : anything with ``answer(video_path, prompt) -> str``
    queries : the questions; consumed lazily (at most ``concurrency`` ahead of the answers)
        except by a batching answerer, which needs them all to group them by length
    concurrency : calls in flight at once (default: the answerer's ``concurrency``, else 1);
        ignored by a batching answerer

    Raises
    ------
    AnswererUnavailable
        The model cannot be reached (the first such failure ends the iteration).
    """
    if hasattr(answerer, "answer_many"):
        yield from _batched(answerer, list(queries))
    elif concurrency_of(answerer, concurrency) > 1:
        yield from _threaded(answerer, queries, concurrency_of(answerer, concurrency))
    else:
        for q in queries:
            yield _ask(answerer, q)


def _batched(answerer: Any, queries: list[Query]) -> Iterator[Completion]:
    """Through ``answer_many(items) -> iter((index, answer or exception, seconds))``."""
    ready: list[tuple[int, str, str]] = []
    for i, q in enumerate(queries):
        try:
            ready.append((i, q.video_path(), q.prompt))
        except Exception as e:  # this probe's video cannot be written: its failure alone
            yield Completion(q, None, _error_text(e), 0.0)
    items = [(path, prompt) for _, path, prompt in ready]
    for j, result, seconds in answerer.answer_many(items):
        q = queries[ready[j][0]]
        if isinstance(result, AnswererUnavailable):
            raise result
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            yield Completion(q, None, _error_text(result), seconds)
        else:
            try:
                yield Completion(q, _checked(result), None, seconds)
            except TypeError as e:
                yield Completion(q, None, _error_text(e), seconds)


_STOP = object()


def _threaded(answerer: Answerer, queries: Iterable[Query], n: int) -> Iterator[Completion]:
    """``n`` daemon worker threads; the caller's thread dispatches and collects."""
    tasks: queue.Queue = queue.Queue()
    results: queue.Queue = queue.Queue()

    def work() -> None:
        while True:
            q = tasks.get()
            if q is _STOP:
                return
            t0 = time.perf_counter()
            try:
                answer, error, fatal = _checked(answerer.answer(q.video_path(), q.prompt)), None, None
            except AnswererUnavailable as e:
                answer, error, fatal = None, None, e
            except Exception as e:  # recorded on the probe's line
                answer, error, fatal = None, _error_text(e), None
            except BaseException as e:  # an interrupt inside the answerer: ends the run
                answer, error, fatal = None, None, e
            results.put((Completion(q, answer, error, time.perf_counter() - t0), fatal))

    workers = [
        threading.Thread(target=work, name=f"thud-answer-{i}", daemon=True) for i in range(n)
    ]
    for w in workers:
        w.start()
    source = iter(queries)
    in_flight = 0

    def dispatch() -> Completion | None:
        """Hand the next query to a worker; a video that cannot be written fails here."""
        nonlocal in_flight
        for q in source:
            if callable(q.video):
                try:
                    q = Query(q.key, q.prompt, q.video())
                except Exception as e:
                    return Completion(q, None, _error_text(e), 0.0)
            tasks.put(q)
            in_flight += 1
            return None
        return None

    try:
        exhausted = False
        while not exhausted or in_flight:
            while not exhausted and in_flight < n:
                before = in_flight
                failed = dispatch()
                if failed is not None:
                    yield failed
                elif in_flight == before:
                    exhausted = True
            if not in_flight:
                continue
            completion, fatal = results.get()
            in_flight -= 1
            if fatal is not None:
                raise fatal
            yield completion
    finally:
        while True:  # queries handed over but not started are dropped, not asked
            try:
                tasks.get_nowait()
            except queue.Empty:
                break
        for _ in workers:  # idle workers exit; busy ones finish their call and exit
            tasks.put(_STOP)
