"""The HTML report: a static folder that shows the evidence behind the scores.

``write_report(scored, out_dir, dataset=...)`` writes::

    out_dir/
      index.html          summary table with intervals, audio path per model, comparisons,
                          plots, the Clever-Hans view, the explorer, the build's provenance
      data.js             the explorer's data (probes, answers, readings, envelopes)
      assets/explorer.js  the explorer (plain JavaScript, no framework, no network)
      assets/explorer.css
      media/<hash>.mp4    the probe videos, content-hash names
      plots/*.png         :func:`thud_metrics.plots.plot_all`
      results.json        every number (as ``thud score`` writes it; the judge's lists beside it)
      thud_report.json    what made the folder (Thud owns a folder only if it holds this)

Every link is relative and nothing is fetched, so the folder works from ``file://``, from
any static host and as a Hub Space. Videos load only when their card scrolls into view.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from ..plots import model_colors
from ..report import ScoredRuns, load_probes, save_scores, write_json
from . import page
from .media import iter_videos, write_media

logger = logging.getLogger(__name__)

__all__ = ["EXPLORER_COLUMNS", "MARKER", "explorer_data", "write_report"]

#: the probe columns the explorer shows, beyond those scoring needs
EXPLORER_COLUMNS: tuple[str, ...] = (
    "prompt", "visual_event", "visual_time", "audio_event", "audio_time", "category", "edited_audio_time",
    "duration_s", "donor_clip_id",
)  # fmt: skip
#: the file that marks a folder as a Thud report
MARKER = "thud_report.json"
_ASSETS = ("explorer.js", "explorer.css")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("thud")
    except PackageNotFoundError:
        return "unknown"


def _number(v: object) -> float | None:
    return None if v is None or v != v else round(float(v), 4)


def explorer_data(
    scored: ScoredRuns, rows: dict[str, list], names: dict[str, str], files: dict[str, dict]
) -> dict:
    """The explorer's data: probes, clips, couples, and per model its answers, readings and
    Clever-Hans couples (``data.js``; the format is read by ``explorer.js`` alone).

    ``rows`` holds :data:`EXPLORER_COLUMNS` aligned with ``scored.probes``; ``names`` and
    ``files`` are :func:`~thud_metrics.explorer.media.write_media`'s.
    """
    colors = model_colors(scored.names)
    probes = scored.probes
    file_index = {name: i for i, name in enumerate(sorted(files))}
    clips: dict[str, dict] = {}
    out_probes = []
    for i, pid in enumerate(probes["probe_id"]):
        clip = probes["clip_id"][i]
        clips.setdefault(clip, {
            "visual_event": rows["visual_event"][i], "visual_time": _number(rows["visual_time"][i]),
            "audio_event": rows["audio_event"][i], "audio_time": _number(rows["audio_time"][i]),
            "category": rows["category"][i],
        })  # fmt: skip
        name = names[pid]
        out_probes.append({
            "id": pid, "clip": clip, "dimension": probes["dimension"][i], "condition": probes["condition"][i],
            "label": probes["label"][i], "prompt": rows["prompt"][i], "offset_s": _number(probes["offset_s"][i]),
            "donor": rows["donor_clip_id"][i], "edited_audio_time": _number(rows["edited_audio_time"][i]),
            "duration_s": _number(rows["duration_s"][i]), "video": f"media/{name}", "file": file_index[name],
        })  # fmt: skip
    readings = sorted({str(v) for r in scored.readings for v in r.labels.tolist()})
    code = {label: j for j, label in enumerate(readings)}
    models = []
    for name, read in zip(scored.names, scored.readings, strict=True):
        r = scored.results[name]
        check = r["run"]["meta"].get("audio_check")
        models.append({
            "name": name, "color": colors[name],
            "verdict": check.get("verdict") if isinstance(check, dict) else None,
            "refusal_rate": _number(r.get("refusal_rate")), "unparseable_rate": _number(r.get("unparseable_rate")),
            "answers": [
                [a, code[str(label)], int(ok), _number(s)]
                for a, label, ok, s in zip(read.answers, read.labels.tolist(), read.correct.tolist(),
                                           read.stated.tolist(), strict=True)
            ],
            "clever_hans": read.clever_hans(scored.couples),
        })  # fmt: skip
    return {
        "version": 1,
        "dataset": scored.dataset,
        "readings": readings,
        "models": models,
        "clips": clips,
        "probes": out_probes,
        "couples": [list(c) for c in scored.couples],
        "files": [
            {"name": n, "duration": _number(files[n]["duration"]), "envelope": files[n]["envelope"],
             "error": files[n]["error"]}
            for n in sorted(files)
        ],  # fmt: skip
    }


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
        raise ValueError(
            f"{out_dir}: the folder holds files Thud did not write (no {MARKER}); "
            "choose an empty or new folder for the report"
        )


def _load_build_report(dataset: str | Path | None) -> tuple[dict | None, str]:
    if dataset is None:
        return None, "no dataset folder given"
    path = Path(dataset) / "build_report.json"
    if not path.is_file():
        return None, f"{path} does not exist"
    try:
        return json.loads(path.read_text(encoding="utf-8")), str(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable build report ({exc})") from exc


def write_report(
    scored: ScoredRuns,
    out_dir: str | Path,
    *,
    dataset: str | Path | None = None,
    cache_dir: str | Path | None = None,
) -> Path:
    """Write the HTML report of ``scored`` into ``out_dir``; returns ``out_dir/index.html``.

    Parameters
    ----------
    scored : ScoredRuns
        :func:`thud_metrics.report.score_predictions` of the models to show.
    out_dir : path
        A new or empty folder, or an earlier report (which is replaced). The folder is
        written next to it first and moved in place at the end, so a failure leaves the
        earlier report untouched.
    dataset : path or Hub id, optional
        Where the probes' videos and columns come from (default ``scored.dataset``); its
        ``build_report.json`` (a local folder) gives the provenance.
    cache_dir : path, optional
        ``datasets`` cache for loading it.

    Raises
    ------
    ValueError
        ``out_dir`` holds files that are not a Thud report; the dataset's probes are not
        the scored ones; a probe without video bytes.
    """
    out_dir = Path(out_dir)
    dataset = dataset if dataset is not None else scored.dataset
    _check_out_dir(out_dir)
    rows = load_probes(dataset, cache_dir=cache_dir, columns=EXPLORER_COLUMNS)
    if rows["probe_id"] != list(scored.probes["probe_id"]):
        raise ValueError(f"dataset {str(dataset)!r}: its probes are not the ones that were scored")
    build_report, source = _load_build_report(dataset if Path(str(dataset)).is_dir() else None)
    colors = model_colors(scored.names)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    work.chmod(0o755)  # mkdtemp's 0700 would hide the report from a web server's user
    try:
        names, files = write_media(iter_videos(dataset, cache_dir), work / "media", set(rows["probe_id"]))
        from ..plots import plot_all

        save_scores(scored, work, plots=False)  # results.json (and the judge's lists, if any)
        plot_paths = plot_all(scored.results, work / "plots")
        (work / "data.js").write_text(page.data_script(explorer_data(scored, rows, names, files)), encoding="utf-8")
        (work / "assets").mkdir()
        for asset in _ASSETS:
            shutil.copyfile(page.STATIC / asset, work / "assets" / asset)
        n_clips = len(set(scored.probes["clip_id"]))
        html = page.render_page({
            "TITLE": page.esc(f"Thud report: {Path(str(scored.dataset)).name or scored.dataset}"),
            "DATASET": page.esc(scored.dataset),
            "COUNTS": page.esc(f"{len(rows['probe_id'])} probes of {n_clips} clips, {len(scored.couples)} pairs, "
                               f"{len(scored.names)} model{'s' if len(scored.names) != 1 else ''}"),
            "AUDIO_PATH": page.audio_path(scored, colors),
            "SUMMARY": page.summary_table(scored, colors),
            "COMPARISONS": page.comparisons_table(scored) or "<p>One model: nothing to compare.</p>",
            "PLOTS": page.plots(plot_paths),
            "PROVENANCE": page.provenance(build_report, source, _version(), scored),
        })  # fmt: skip
        (work / "index.html").write_text(html, encoding="utf-8")
        write_json(work / MARKER, {"thud_report": 1, "thud_version": _version(), "dataset": scored.dataset,
                                   "models": scored.names})  # fmt: skip
        _check_out_dir(out_dir)  # again: nothing may have appeared meanwhile
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(old)
            work.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            work.rename(out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out_dir / "index.html"
