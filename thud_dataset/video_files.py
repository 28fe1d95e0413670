"""Getting a probe's video onto disk, for models and tools that want a file path."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """Thud's cache root: ``$THUD_CACHE``, else ``~/.cache/thud``."""
    return Path(os.environ.get("THUD_CACHE") or Path.home() / ".cache" / "thud")


def video_file(video: dict, cache_dir: str | Path | None = None) -> str:
    """A path to the video of a row's ``video`` column (``{"bytes", "path"}``).

    If ``path`` exists it is returned as is; otherwise the bytes are written once to
    ``cache_dir`` (default ``$THUD_CACHE/videos`` or ``~/.cache/thud/videos``) under the
    row's content-hash name, which reveals nothing of the condition.
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
    root.mkdir(parents=True, exist_ok=True)
    name = os.path.basename(path) if path else None
    if not name:
        import hashlib

        name = hashlib.sha256(data).hexdigest()[:24] + ".mp4"
    target = root / name
    if not target.exists() or target.stat().st_size != len(data):
        tmp = target.with_suffix(target.suffix + f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        tmp.replace(target)
    return str(target)
