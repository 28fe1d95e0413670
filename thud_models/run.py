"""Run an answerer over a built dataset's probes and write a predictions file.

The predictions file (what ``thud score`` reads) is JSON lines::

    {"_meta": {"model": ..., "dataset": ..., "started": ..., "thud_version": ..., "audio_check": {...} | null, ...}}
    {"probe_id": "3f2a...", "answer": "C. The audio is delayed.", "error": null, "seconds": 0.41}
    {"probe_id": "91bc...", "answer": null, "error": "TimeoutError: ...", "seconds": 120.0}

Every line is appended and flushed as soon as its probe is answered, so an interrupted run
loses at most the probe in flight. Running again with the same file resumes: probes with
an answer are skipped, failed ones too unless ``retry_errors`` (their old lines are then
dropped, so a probe id never appears twice). A failure of one probe (an exception in the
answerer) is recorded on its line and the run goes on.

Before the probes, the audio path is checked (:func:`thud_models.audio_check.check_audio`):
a model that never receives the sound fails Thud like a model that does not listen, so
the verdict is recorded in ``_meta`` and printed.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thud_dataset.vocab import CONDITIONS
from thud_metrics.predictions.thud_jsonl import append_line, read_thud_jsonl, write_thud_jsonl

from .base import Answerer

log = logging.getLogger(__name__)

__all__ = ["RunReport", "run_probes"]


@dataclass
class RunReport:
    """What :func:`run_probes` did.

    Attributes
    ----------
    out_path : the predictions file
    total : probes selected (all splits asked for, after ``limit``)
    done_before : probes already answered in the file when the run started
    answered : probes answered by this run
    failed : probes whose call failed in this run (recorded with their error)
    audio_check : the audio-path verdict recorded in ``_meta`` (None if not checked)
    seconds : wall time of this run
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
    stopped_early: bool = False
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"predictions: {self.out_path}",
            f"  {self.total} probes: {self.done_before} already done, {self.answered} answered now, "
            f"{self.failed} failed ({self.seconds:.1f} s)",
        ]
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


def _probe_rows(
    dataset: str | Path, splits: Sequence[str], cache_dir: str | None
) -> Iterator[dict]:
    import datasets

    for split in splits:
        try:
            ds = datasets.load_dataset(str(dataset), "probes", split=split, cache_dir=cache_dir)
        except ValueError as e:
            raise ValueError(f"cannot load split {split!r} of the probes of {dataset}: {e}") from e
        yield from ds


def _audio_check(answerer: Answerer, work_dir: str | Path | None, echo: bool) -> dict | None:
    try:
        from .audio_check import check_audio
    except ModuleNotFoundError as e:
        if e.name != "thud_models.audio_check":
            raise
        warnings.warn(
            "thud_models.audio_check is not available: the audio path was not checked",
            stacklevel=3,
        )
        return None
    try:
        result = check_audio(answerer, work_dir=work_dir)
    except Exception as e:  # the check must not stop the run; its absence is recorded
        warnings.warn(f"the audio-path check failed ({type(e).__name__}: {e}); not recorded", stacklevel=3)
        return None
    if echo:
        log.info("%s", result.summary())
        if result.verdict == "does_not_reach":
            log.warning(
                "WARNING: the sound of the canary clips does not reach this model; its Thud scores "
                "will measure the picture only (see docs: the audio-path check)."
            )
    return result.to_dict()


def _dataset_name(dataset: str | Path) -> str:
    """A local folder as its absolute path (so ``./thud`` and ``thud`` are one dataset), a
    Hub id as it is."""
    path = Path(dataset)
    return str(path.resolve()) if path.exists() else str(dataset)


def _meta(answerer: Answerer, dataset: str, splits: Sequence[str], audio_check: dict | None) -> dict:
    meta: dict[str, Any] = {
        "model": getattr(answerer, "name", type(answerer).__name__),
        "answerer": f"{type(answerer).__module__}.{type(answerer).__qualname__}",
        "dataset": str(dataset),
        "splits": list(splits),
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "thud_version": _thud_version(),
    }
    describe = getattr(answerer, "metadata", None)
    if callable(describe):
        try:
            meta["answerer_settings"] = describe()
        except Exception as e:  # metadata is a courtesy; never fail a run on it
            meta["answerer_settings"] = {"error": f"{type(e).__name__}: {e}"}
    meta["audio_check"] = audio_check
    return meta


def run_probes(
    answerer: Answerer,
    dataset_dir: str | Path,
    out_path: str | Path,
    *,
    splits: Sequence[str] = CONDITIONS,
    limit: int | None = None,
    check_audio: bool = True,
    retry_errors: bool = False,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    dataset_cache_dir: str | None = None,
    echo: bool = True,
    max_consecutive_failures: int | None = 25,
) -> RunReport:
    """Answer every probe of ``dataset_dir`` with ``answerer``; append to ``out_path``.

    Parameters
    ----------
    answerer : anything with ``name`` and ``answer(video_path, prompt) -> str``
    dataset_dir : a built Thud dataset (local folder or Hub id)
    out_path : the predictions file; an existing one is resumed
    splits : probe splits to run, in this order
    limit : run only the first ``limit`` probes (in split, then dataset order)
    check_audio : check the audio path first and record the verdict in ``_meta`` (only when
        the file is new, or its ``_meta`` has no verdict yet)
    retry_errors : ask again the probes whose earlier call failed
    progress : show a tqdm progress bar
    cache_dir : where probe videos are written for the answerer (default ``$THUD_CACHE``)
    dataset_cache_dir : ``datasets`` cache for loading ``dataset_dir``
    echo : print the audio-path verdict to stderr
    max_consecutive_failures : stop after this many failed probes in a row (a server that
        is down would otherwise fail every probe, slowly); None or 0 never stops. The
        failures are recorded; rerun with ``retry_errors`` once the cause is fixed

    Returns
    -------
    RunReport

    Raises
    ------
    ValueError
        The file was written by another model or for another dataset, or is not a run file.

    Examples
    --------
    >>> from thud_models import PriorBaseline
    >>> report = run_probes(PriorBaseline(), "thud", "prior.jsonl", check_audio=False)  # doctest: +SKIP
    >>> print(report.summary())  # doctest: +SKIP
    predictions: prior.jsonl
      96 probes: 0 already done, 96 answered now, 0 failed (0.3 s)
    """
    from tqdm.auto import tqdm

    from thud_dataset import video_file

    t_start = time.perf_counter()
    unknown = [s for s in splits if s not in CONDITIONS]
    if unknown:
        raise ValueError(f"unknown splits {unknown}; expected some of {CONDITIONS}")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    model = getattr(answerer, "name", type(answerer).__name__)
    dataset = _dataset_name(dataset_dir)
    if out.exists():
        before = read_thud_jsonl(out, partial_ok=True, allow_empty=True)
        meta, previous = (before.meta or None), before.rows
    else:
        meta, previous = None, {}
    if meta is not None:
        if meta.get("model") != model:
            raise ValueError(
                f"{out} holds predictions of model {meta.get('model')!r}, not {model!r}; "
                "write to another file"
            )
        if str(meta.get("dataset")) != dataset:
            raise ValueError(
                f"{out} holds predictions for dataset {meta.get('dataset')!r}, not {dataset!r}; "
                "write to another file"
            )
    failed_before = {pid for pid, row in previous.items() if row.get("error") is not None}
    rewrite = out.exists() and not out.read_bytes().endswith(b"\n") and out.stat().st_size > 0
    if retry_errors and failed_before:
        previous = {pid: row for pid, row in previous.items() if pid not in failed_before}
        rewrite = True
    if meta is None or (check_audio and meta.get("audio_check") is None):
        work_dir = Path(cache_dir) / "canaries" if cache_dir else None
        check = _audio_check(answerer, work_dir, echo) if check_audio else None
        if meta is None:
            meta = _meta(answerer, dataset, splits, check)
        else:
            meta["audio_check"] = check
        rewrite = True
    if rewrite:  # a fresh file, a new _meta, dropped error lines or a half-written last line
        write_thud_jsonl(out, meta, list(previous.values()))

    selected = []
    for row in _probe_rows(dataset_dir, splits, dataset_cache_dir):
        if limit is not None and len(selected) >= limit:
            break
        selected.append(row)
    done_before = sum(1 for r in selected if r["probe_id"] in previous)
    pending = [r for r in selected if r["probe_id"] not in previous]
    check_verdict = (meta.get("audio_check") or {}).get("verdict")
    report = RunReport(out, total=len(selected), done_before=done_before, audio_check=check_verdict)
    bar = tqdm(pending, desc=f"thud run {model}", unit="probe", disable=not progress)
    in_a_row = 0
    with out.open("a", encoding="utf-8") as f:
        for row in bar:
            t0 = time.perf_counter()
            answer: str | None = None
            error: str | None = None
            try:
                path = video_file(row["video"], cache_dir)
                answer = answerer.answer(path, row["prompt"])
                if answer is not None and not isinstance(answer, str):
                    raise TypeError(f"answer() returned {type(answer).__name__}, not str")
            except Exception as e:  # one probe's failure is recorded, not fatal
                answer, error = None, f"{type(e).__name__}: {e}"
            line = {
                "probe_id": row["probe_id"],
                "answer": answer,
                "error": error,
                "seconds": round(time.perf_counter() - t0, 3),
            }
            append_line(f, line)
            if error is None:
                report.answered += 1
                in_a_row = 0
            else:
                report.failed += 1
                in_a_row += 1
                report.errors.append(f"{row['probe_id']}: {error}")
                bar.set_postfix(failed=report.failed)
                if max_consecutive_failures and in_a_row >= max_consecutive_failures:
                    report.stopped_early = True
                    break
    bar.close()
    report.seconds = time.perf_counter() - t_start
    return report
