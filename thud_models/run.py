"""Run an answerer over a built dataset's probes and write a predictions file.

The predictions file (what ``thud score`` reads; its format, reader and resume rules are
:mod:`thud_metrics.predictions.thud_jsonl`) is JSON lines::

    {"_meta": {"model": ..., "dataset": ..., "probes_fingerprint": {...}, "audio_check": {...} | null, ...}}
    {"probe_id": "3f2a...", "answer": "C. The audio is delayed.", "error": null, "seconds": 0.41}
    {"probe_id": "91bc...", "answer": null, "error": "TimeoutError: ...", "seconds": 120.0}

A run is a :class:`ProbeRun` whose steps read in order:

1. **open** — take the file's lock (a second run into the same file fails at once), load
   the probe splits and read what the file already holds; refuse a file written by another
   model, for another dataset, or for another *build* of it (each split's
   ``probes_fingerprint``, a hash of its probe ids, labels, prompts and video names, must
   match: a dataset rebuilt with another seed or other settings never gets its answers
   appended to stale ones);
2. **check the audio path** (:func:`thud_models.audio_check.check_audio`) when the file has
   no verdict yet: a model that never receives the sound fails Thud like a model that does
   not listen, so the verdict is recorded in ``_meta`` and logged;
3. **select** the probes still to answer: those without a line, and failed ones too with
   ``retry_errors`` (their old lines are then dropped: a probe id appears once);
4. **answer** them through :func:`thud_models.answering.answer_all` — one at a time,
   ``concurrency`` requests in flight, or in batches for a batching answerer — appending
   one complete, flushed line per probe **as each finishes**: a run killed at any moment
   (even ``kill -9``) loses at most the probes in flight and duplicates none, and the rerun
   resumes. A failure of one probe is recorded on its line and the run goes on; a model
   that cannot be reached at all (:class:`~thud_models.base.AnswererUnavailable`) ends the
   run at once;
5. **report** (:class:`RunReport`).

:func:`run_probes` is that run as one function call; :class:`RunSettings` holds its options.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thud_dataset.vocab import CONDITIONS
from thud_metrics.predictions.thud_jsonl import append_line, read_thud_jsonl, write_thud_jsonl

from .answering import Query, answer_all, concurrency_of
from .base import Answerer, AnswererUnavailable

log = logging.getLogger(__name__)

__all__ = ["ProbeRun", "RunInProgress", "RunReport", "RunSettings", "probes_fingerprint", "run_probes"]


class RunInProgress(RuntimeError):
    """Another process is writing the same predictions file."""


@dataclass
class RunReport:
    """What a run did.

    Attributes
    ----------
    out_path : the predictions file
    total : probes selected (all splits asked for, after ``limit``)
    done_before : probes already answered in the file when the run started
    answered : probes answered by this run
    failed : probes whose call failed in this run (recorded with their error)
    audio_check : the audio-path verdict recorded in ``_meta`` (None if not checked)
    seconds : wall time of this run
    answer_seconds : wall time of the answering step alone (what ``probes_per_s`` divides)
    concurrency, batch_size : calls in flight at once, and probes per batch
    stopped_early : the run stopped after ``max_consecutive_failures`` failures in a row
    errors : ``"probe_id: error"`` of each failure of this run
    """

    out_path: Path
    total: int
    done_before: int
    answered: int = 0
    failed: int = 0
    audio_check: str | None = None
    seconds: float = 0.0
    answer_seconds: float = 0.0
    concurrency: int = 1
    batch_size: int = 1
    stopped_early: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def probes_per_s(self) -> float:
        """Probes finished (answered or failed) per second of the answering step."""
        n = self.answered + self.failed
        return n / self.answer_seconds if self.answer_seconds > 0 else 0.0

    def summary(self) -> str:
        lines = [
            f"predictions: {self.out_path}",
            f"  {self.total} probes: {self.done_before} already done, {self.answered} answered now, "
            f"{self.failed} failed ({self.seconds:.1f} s)",
        ]
        if self.answered + self.failed:
            if self.batch_size > 1:
                how = f"batches of {self.batch_size}"
            elif self.concurrency > 1:
                how = f"{self.concurrency} in flight"
            else:
                how = "one at a time"
            lines.append(f"  answering: {self.probes_per_s:.2f} probes/s ({how})")
        if self.audio_check:
            lines.append(f"  audio-path check: {self.audio_check}")
        if self.errors:
            lines.append(f"  first error: {self.errors[0]}")
        if self.stopped_early:
            lines.append(
                "  stopped early: too many probes failed in a row. Fix the cause, then rerun "
                "with --retry-errors (answered probes are kept)"
            )
        return "\n".join(lines)


def _thud_version() -> str:
    try:
        from importlib.metadata import version

        return version("thud")
    except Exception:  # not installed (running from a source tree)
        return "unknown"


def _dataset_name(dataset: str | Path) -> str:
    """A local folder as its absolute path (so ``./thud`` and ``thud`` are one dataset), a
    Hub id as it is."""
    path = Path(dataset)
    return str(path.resolve()) if path.exists() else str(dataset)


def _ends_with_newline(path: Path) -> bool:
    """True for an empty file or one whose last byte is a newline."""
    with path.open("rb") as fh:
        if fh.seek(0, 2) == 0:
            return True
        fh.seek(-1, 2)
        return fh.read(1) == b"\n"


def probes_fingerprint(split: Any) -> str:
    """A hash of one probe split's build: its probe ids, labels, prompts and video names.

    Video names are content hashes of the probe files, so another seed, other offsets, other
    media or other prompts all change it; reading it touches no video bytes. ``split`` is a
    ``datasets.Dataset`` of the ``probes`` config.
    """
    import pyarrow.compute as pc

    # a zero-copy slice of the memory-mapped table (respects any selection of rows)
    table = split.with_format("arrow", columns=["probe_id", "label", "prompt", "video"])[:]
    h = hashlib.sha256()
    columns = {
        "probe_id": table.column("probe_id"),
        "label": table.column("label"),
        "prompt": table.column("prompt"),
        "video": pc.struct_field(table.column("video"), "path"),
    }
    for name, column in columns.items():
        h.update(name.encode() + b"\x1e")
        for value in column.to_pylist():
            h.update(str(value).encode("utf-8") + b"\x1f")
    return "sha256:" + h.hexdigest()[:32]


@dataclass(frozen=True)
class RunSettings:
    """How a run goes (the keyword arguments of :func:`run_probes`).

    Attributes
    ----------
    splits : probe splits to run, in this order
    limit : run only the first ``limit`` probes (in split, then dataset order)
    check_audio : check the audio path first and record the verdict in ``_meta`` (only when
        the file is new, or its ``_meta`` has no verdict yet)
    retry_errors : ask again the probes whose earlier call failed
    progress : show a tqdm progress bar (it counts completions)
    cache_dir : Thud's cache root for this run: probe videos go to ``cache_dir/videos``,
        canary clips to ``cache_dir/canaries`` (default ``$THUD_CACHE``)
    dataset_cache_dir : ``datasets`` cache for loading the dataset
    echo : log the audio-path verdict
    max_consecutive_failures : stop after this many failed probes in a row (a server that
        is down would otherwise fail every probe, slowly); None or 0 never stops. The
        failures are recorded; rerun with ``retry_errors`` once the cause is fixed
    concurrency : calls in flight at once (default: the answerer's ``concurrency``, e.g. 8
        for the OpenAI-compatible adapter, else 1); a batching answerer batches instead
    """

    splits: Sequence[str] = CONDITIONS
    limit: int | None = None
    check_audio: bool = True
    retry_errors: bool = False
    progress: bool = True
    cache_dir: str | Path | None = None
    dataset_cache_dir: str | None = None
    echo: bool = True
    max_consecutive_failures: int | None = 25
    concurrency: int | None = None

    def __post_init__(self) -> None:
        unknown = [s for s in self.splits if s not in CONDITIONS]
        if unknown:
            raise ValueError(f"unknown splits {unknown}; expected some of {CONDITIONS}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        object.__setattr__(self, "splits", tuple(self.splits))


class ProbeRun:
    """One ``thud run``: answer ``dataset_dir``'s probes with ``answerer`` into ``out_path``.

    :meth:`run` takes the steps in order (module docstring); after it, :attr:`report` says
    what happened.
    """

    def __init__(
        self,
        answerer: Answerer,
        dataset_dir: str | Path,
        out_path: str | Path,
        settings: RunSettings | None = None,
    ) -> None:
        self.answerer = answerer
        self.dataset_dir = dataset_dir
        self.out = Path(out_path)
        self.settings = settings = settings or RunSettings()
        self.cache_dir = Path(settings.cache_dir) if settings.cache_dir else None
        self.concurrency = concurrency_of(answerer, settings.concurrency)
        self.model = getattr(answerer, "name", type(answerer).__name__)
        self.dataset = _dataset_name(dataset_dir)
        # filled by the steps
        self.probes: dict[str, Any] = {}
        self.fingerprints: dict[str, str] = {}
        self.meta: dict | None = None
        self.previous: dict[str, dict] = {}
        self.rewrite = False
        self.report = RunReport(self.out, total=0, done_before=0)

    # -- the steps, in order ------------------------------------------------------------

    def run(self) -> RunReport:
        """Open, check the audio path, select, answer; returns the :class:`RunReport`.

        Raises
        ------
        ValueError
            The file was written by another model, for another dataset or another build of
            it, or is not a run file; a split cannot be loaded.
        RunInProgress
            Another process is writing the same file.
        AnswererUnavailable
            The model cannot be reached (nothing is recorded for the probes not asked).
        """
        t_start = time.perf_counter()
        with self._locked():
            self.open()
            self.check_audio_path()
            pending = self.select()
            self.answer(pending)
        self.report.seconds = time.perf_counter() - t_start
        return self.report

    def open(self) -> None:
        """Load the probe splits; read and validate what the predictions file holds."""
        self.probes = self._load_splits()
        self.fingerprints = {s: probes_fingerprint(ds) for s, ds in self.probes.items()}
        if self.out.exists():
            before = read_thud_jsonl(self.out, partial_ok=True, allow_empty=True)
            self.meta, self.previous = (before.meta or None), before.rows
            # a half-written last line (a run killed mid-write) is dropped by rewriting
            self.rewrite = not _ends_with_newline(self.out)
        if self.meta is not None:
            self._validate_meta(self.meta)
        failed_before = {pid for pid, row in self.previous.items() if row.get("error") is not None}
        if self.settings.retry_errors and failed_before:
            self.previous = {p: r for p, r in self.previous.items() if p not in failed_before}
            self.rewrite = True

    def check_audio_path(self) -> None:
        """Check the audio path if the file has no verdict yet; write the header if it changed."""
        if self.meta is None or (self.settings.check_audio and self.meta.get("audio_check") is None):
            check = self._audio_check() if self.settings.check_audio else None
            if self.meta is None:
                self.meta = self._new_meta(check)
            else:
                self.meta["audio_check"] = check
            self.rewrite = True
        if self.rewrite:  # a fresh file, a new _meta, dropped error lines or a half-written line
            write_thud_jsonl(self.out, self.meta, list(self.previous.values()))
            self.rewrite = False

    def select(self) -> list[Query]:
        """The probes still to answer, in split then dataset order (after ``limit``)."""
        pending: list[Query] = []
        total = done = 0
        for split, ds in self.probes.items():
            ids, prompts = ds["probe_id"], ds["prompt"]
            for i, (pid, prompt) in enumerate(zip(ids, prompts, strict=True)):
                if self.settings.limit is not None and total >= self.settings.limit:
                    break
                total += 1
                if pid in self.previous:
                    done += 1
                else:
                    pending.append(Query(pid, prompt, self._video(split, i)))
        check = (self.meta or {}).get("audio_check") or {}
        self.report = RunReport(
            self.out,
            total=total,
            done_before=done,
            audio_check=check.get("verdict"),
            concurrency=self.concurrency,
            batch_size=int(getattr(self.answerer, "batch_size", 1) or 1),
        )
        return pending

    def answer(self, pending: list[Query]) -> None:
        """Ask the pending probes; append one line per probe as each finishes."""
        from tqdm.auto import tqdm

        report = self.report
        bar = tqdm(total=len(pending), desc=f"thud run {self.model}", unit="probe", disable=not self.settings.progress)
        in_a_row = 0
        t0 = time.perf_counter()
        try:
            with self.out.open("a", encoding="utf-8") as f:
                for done in answer_all(self.answerer, pending, concurrency=self.concurrency):
                    append_line(
                        f,
                        {
                            "probe_id": done.query.key,
                            "answer": done.answer,
                            "error": done.error,
                            "seconds": round(done.seconds, 3),
                        },
                    )
                    bar.update(1)
                    if done.error is None:
                        report.answered += 1
                        in_a_row = 0
                        continue
                    report.failed += 1
                    in_a_row += 1
                    report.errors.append(f"{done.query.key}: {done.error}")
                    bar.set_postfix(failed=report.failed)
                    limit = self.settings.max_consecutive_failures
                    if limit and in_a_row >= limit:
                        report.stopped_early = True
                        break
        finally:
            report.answer_seconds = time.perf_counter() - t0
            bar.close()

    # -- helpers --------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold ``<out>.lock`` for the run; another holder makes this run fail at once.

        An OS file lock (``filelock``): a killed run's lock is released with its process.
        """
        from filelock import FileLock, Timeout

        self.out.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.out.with_name(self.out.name + ".lock")
        lock = FileLock(str(lock_path), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise RunInProgress(
                f"another thud run is writing {self.out} (it holds {lock_path}); wait for it to "
                "finish, or write to another --out"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _load_splits(self) -> dict[str, Any]:
        from thud_dataset.hub.load import load_config

        out = {}
        for split in self.settings.splits:
            try:
                out[split] = load_config(
                    self.dataset_dir, "probes", split=split, cache_dir=self.settings.dataset_cache_dir
                )
            except ValueError as e:
                raise ValueError(
                    f"cannot load split {split!r} of the probes of {self.dataset_dir}: {e}"
                ) from e
        return out

    def _validate_meta(self, meta: dict) -> None:
        where = f"{self.out} holds predictions"
        if meta.get("model") != self.model:
            raise ValueError(
                f"{where} of model {meta.get('model')!r}, not {self.model!r}; write to another file"
            )
        if str(meta.get("dataset")) != self.dataset:
            raise ValueError(
                f"{where} for dataset {meta.get('dataset')!r}, not {self.dataset!r}; "
                "write to another file"
            )
        recorded = meta.get("probes_fingerprint")
        if recorded is None:
            if self.previous:
                log.warning(
                    "%s was written before runs recorded the dataset's fingerprint: its answers "
                    "cannot be checked against this build of %s", self.out, self.dataset
                )
            recorded = meta["probes_fingerprint"] = {}
        for split, fp in self.fingerprints.items():
            if split not in recorded:
                recorded[split] = fp
                self.rewrite = True
            elif recorded[split] != fp:
                raise ValueError(
                    f"{where} for another build of {self.dataset} (the probes of split "
                    f"{split!r} differ: the dataset was rebuilt, e.g. with another seed or other "
                    "settings), so its answers do not belong to these probes; write to another "
                    "--out, or delete the file to start afresh"
                )
        listed = list(meta.get("splits") or [])
        if any(s not in listed for s in self.settings.splits):
            meta["splits"] = listed + [s for s in self.settings.splits if s not in listed]
            self.rewrite = True

    def _new_meta(self, audio_check: dict | None) -> dict:
        meta: dict[str, Any] = {
            "model": self.model,
            "answerer": f"{type(self.answerer).__module__}.{type(self.answerer).__qualname__}",
            "dataset": self.dataset,
            "splits": list(self.settings.splits),
            "probes_fingerprint": dict(self.fingerprints),
            "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "thud_version": _thud_version(),
        }
        describe = getattr(self.answerer, "metadata", None)
        if callable(describe):
            try:
                meta["answerer_settings"] = describe()
            except Exception as e:  # metadata is a courtesy; never fail a run on it
                meta["answerer_settings"] = {"error": f"{type(e).__name__}: {e}"}
        meta["audio_check"] = audio_check
        return meta

    def _audio_check(self) -> dict | None:
        try:
            from .audio_check import check_audio
        except ModuleNotFoundError as e:
            if e.name != "thud_models.audio_check":
                raise
            warnings.warn(
                "thud_models.audio_check is not available: the audio path was not checked",
                stacklevel=4,
            )
            return None
        work_dir = self.cache_dir / "canaries" if self.cache_dir else None
        try:
            result = check_audio(self.answerer, work_dir=work_dir, concurrency=self.concurrency)
        except AnswererUnavailable:
            raise
        except Exception as e:  # the check must not stop the run; its absence is recorded
            warnings.warn(
                f"the audio-path check failed ({type(e).__name__}: {e}); not recorded", stacklevel=4
            )
            return None
        if self.settings.echo:
            log.info("%s", result.summary())
            if result.verdict == "does_not_reach":
                log.warning(
                    "WARNING: the sound of the canary clips does not reach this model; its Thud "
                    "scores will measure the picture only (see docs: the audio-path check)."
                )
        return result.to_dict()

    def _video(self, split: str, index: int):
        """How to get probe ``index`` of ``split`` onto disk (called when it is dispatched)."""
        from thud_dataset import video_file

        videos = self.cache_dir / "videos" if self.cache_dir else None
        return lambda: video_file(self.probes[split][index]["video"], videos)


def run_probes(
    answerer: Answerer, dataset_dir: str | Path, out_path: str | Path, **settings: Any
) -> RunReport:
    """Answer every probe of ``dataset_dir`` with ``answerer``; append to ``out_path``.

    Parameters
    ----------
    answerer : anything with ``name`` and ``answer(video_path, prompt) -> str``
    dataset_dir : a built Thud dataset (local folder or Hub id)
    out_path : the predictions file; an existing one is resumed
    settings : the fields of :class:`RunSettings` (``splits``, ``limit``, ``check_audio``,
        ``retry_errors``, ``progress``, ``cache_dir``, ``dataset_cache_dir``, ``echo``,
        ``max_consecutive_failures``, ``concurrency``)

    Returns
    -------
    RunReport

    Raises
    ------
    ValueError
        A bad setting; the file was written by another model, for another dataset or
        another build of it, or is not a run file.
    RunInProgress
        Another ``thud run`` is writing ``out_path``.
    AnswererUnavailable
        The model cannot be reached at all.

    Examples
    --------
    >>> from thud_models import PriorBaseline
    >>> report = run_probes(PriorBaseline(), "thud", "prior.jsonl", check_audio=False)  # doctest: +SKIP
    >>> print(report.summary())  # doctest: +SKIP
    predictions: prior.jsonl
      96 probes: 0 already done, 96 answered now, 0 failed (0.3 s)
      answering: 320.00 probes/s (one at a time)
    """
    return ProbeRun(answerer, dataset_dir, out_path, RunSettings(**settings)).run()
