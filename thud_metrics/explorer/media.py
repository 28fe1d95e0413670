"""The probe videos a report shows: copied next to the page, with their sound's envelope.

A video's bytes come from the dataset's ``video`` column and are written once under a
content-hash name (so an original shared by three dimensions is one file, and a name never
tells the condition). The envelope is what the strip under each pair draws: the peak
absolute amplitude of the decoded audio in equal time bins.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["ENVELOPE_BINS", "envelope", "iter_videos", "write_media"]

#: bins of an envelope (one strip is about 600 px wide)
ENVELOPE_BINS = 300
#: containers a browser plays, by the file extension a probe has
_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm")


def envelope(samples: np.ndarray, bins: int = ENVELOPE_BINS) -> list[int]:
    """Peak absolute amplitude per time bin, in thousandths of full scale (0-1000).

    Parameters
    ----------
    samples : ndarray, shape (channels, n) or (n,)
        Decoded audio, float in [-1, 1].
    bins : int
        Equal-length bins over the whole signal (empty bins of a short signal are 0).

    Examples
    --------
    >>> envelope(np.array([[0.0, 0.5, -1.0, 0.25]]), bins=2)
    [500, 1000]
    >>> envelope(np.zeros((2, 10)), bins=3)
    [0, 0, 0]
    """
    mono = np.abs(np.asarray(samples, dtype=np.float64))
    if mono.ndim == 2:
        mono = mono.max(axis=0) if mono.shape[0] else np.zeros(0)
    if mono.size == 0:
        return [0] * bins
    edges = np.linspace(0, mono.size, bins + 1).astype(np.int64)
    starts = np.minimum(edges[:-1], mono.size - 1)
    peaks = np.maximum.reduceat(mono, starts)
    peaks[edges[1:] <= edges[:-1]] = 0.0  # a bin with no sample
    return np.rint(np.clip(peaks, 0.0, 1.0) * 1000).astype(int).tolist()


def iter_videos(dataset: str | Path, cache_dir: str | Path | None = None) -> Iterator[tuple[str, dict]]:
    """``(probe_id, {"bytes", "path"})`` for every probe of a built dataset, one batch of rows
    in memory at a time."""
    from thud_dataset.hub.load import load_config

    dd = load_config(dataset, "probes", columns=["probe_id", "video"], cache_dir=cache_dir)
    for split in dd:
        for batch in dd[split].data.to_batches(max_chunksize=16):
            ids = batch.column("probe_id").to_pylist()
            videos = batch.column("video").to_pylist()
            yield from zip(ids, videos, strict=True)


def _extension(video: dict) -> str:
    suffix = Path(str(video.get("path") or "")).suffix.lower()
    return suffix if suffix in _EXTENSIONS else ".mp4"


def write_media(
    videos: Iterable[tuple[str, dict]], media_dir: Path, wanted: set[str]
) -> tuple[dict[str, str], dict[str, dict]]:
    """Write the videos of the ``wanted`` probes into ``media_dir`` and measure each file.

    Returns
    -------
    names : dict
        ``probe_id -> file name`` in ``media_dir``.
    files : dict
        ``file name -> {"duration": s | None, "envelope": list | None, "error": str | None}``:
        the container duration and audio envelope as decoded with PyAV (``error`` says why
        a file could not be read; the report shows it instead of a strip).
    """
    from thud_dataset.media import MediaError, content_name, probe_and_decode

    media_dir.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    files: dict[str, dict] = {}
    for probe_id, video in videos:
        if probe_id not in wanted:
            continue
        data = video.get("bytes") if isinstance(video, dict) else None
        if data is None:
            raise ValueError(f"probe {probe_id!r}: its video has no bytes in the dataset")
        name = content_name(data, _extension(video))
        names[probe_id] = name
        if name in files:
            continue
        path = media_dir / name
        path.write_bytes(data)
        try:
            info, audio = probe_and_decode(path)
            files[name] = {"duration": info.duration, "envelope": envelope(audio.samples), "error": None}
        except MediaError as exc:
            logger.warning("report: %s (probe %s): %s", name, probe_id, exc)
            files[name] = {"duration": None, "envelope": None, "error": str(exc).replace(str(path), name)}
    missing = wanted - set(names)
    if missing:
        raise ValueError(f"{len(missing)} probes have no video in the dataset (first: {sorted(missing)[0]!r})")
    return names, files
