"""Getting a probe's video onto disk, for models and tools that want a file path."""

from __future__ import annotations

import os
from pathlib import Path

from .cache_files import atomic_write, content_name, content_ok

#: extensions kept from a row's ``path`` when its bytes are written out (else ``.mp4``)
_VIDEO_EXTENSIONS = frozenset({".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".mpg", ".mpeg", ".ogv", ".ts"})


def default_cache_dir() -> Path:
    """Thud's cache root: ``$THUD_CACHE``, else ``~/.cache/thud``."""
    return Path(os.environ.get("THUD_CACHE") or Path.home() / ".cache" / "thud")


def video_file(video: dict, cache_dir: str | Path | None = None) -> str:
    """A path to the video of a row's ``video`` column (``{"bytes", "path"}``).

    If ``path`` is absolute and exists it is returned as is; otherwise the bytes are
    written to ``cache_dir`` (default ``$THUD_CACHE/videos`` or ``~/.cache/thud/videos``)
    under their content-hash name, which reveals nothing of the condition. A file already
    there is reused only if its content matches its name (checked once per process, see
    :mod:`.cache_files`); a damaged one is written again.
    """
    if not isinstance(video, dict) or ("bytes" not in video and "path" not in video):
        raise TypeError(f"expected a video column value {{'bytes', 'path'}}, got {type(video).__name__}")
    path = video.get("path")
    if path and os.path.isabs(path) and os.path.exists(path):
        return path
    data = video.get("bytes")
    if data is None:
        if path and os.path.exists(path):
            return os.path.abspath(path)
        raise FileNotFoundError(f"video {path!r} has no bytes and is not on disk")
    root = Path(cache_dir or default_cache_dir() / "videos")
    suffix = Path(path).suffix.lower() if path else ""
    target = root / content_name(data, suffix if suffix in _VIDEO_EXTENSIONS else ".mp4")
    if not content_ok(target):
        atomic_write(target, data)
    return str(target)
