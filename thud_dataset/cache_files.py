"""Files in Thud's caches that cannot lie: atomic writes, verified content, rebuilt JSON.

One rule for every cache (materialized media, clip scans, the video files ``thud run``
hands to models):

* a file appears under its final name only when complete (written to a temporary file
  beside it, then renamed), so a killed process never leaves half a file behind;
* a content-addressed file (named by the SHA-256 of its bytes, :func:`content_name`) is
  verified before use — its hash on first use in a process, then its size and mtime —
  and a file that fails is removed and reported once (a warning naming it), so the
  caller makes it again;
* a JSON entry that cannot be read back is removed and reported the same way, naming
  the file, and the caller rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

#: hex digits of the SHA-256 in a content name
NAME_DIGITS = 24

#: path → (size, mtime_ns) of the files whose content matched their name in this process
_verified: dict[str, tuple[int, int]] = {}


def content_name(data: bytes, extension: str = ".mp4") -> str:
    """An opaque file name from the content: it reveals nothing of the condition.

    >>> content_name(b"")
    'e3b0c44298fc1c149afbf4c8.mp4'
    """
    return hashlib.sha256(data).hexdigest()[:NAME_DIGITS] + extension


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def content_ok(path: str | Path) -> bool:
    """Whether the content-addressed file ``path`` exists and its bytes match its name.

    The SHA-256 is computed on first use in a process; after that a matching size and
    mtime are enough. A file whose bytes do not match is removed with a warning (so the
    caller remakes it); a missing file is just ``False``.
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    key = str(path)
    if _verified.get(key) == (st.st_size, st.st_mtime_ns):
        return True
    digest = _sha256_file(path)
    expected = path.name.split(".", 1)[0]
    if digest.startswith(expected) and len(expected) == NAME_DIGITS:
        _verified[key] = (st.st_size, st.st_mtime_ns)
        return True
    _verified.pop(key, None)
    logger.warning(
        "%s: cached file is corrupt (%d bytes whose SHA-256 starts %s, not its name): removed, "
        "it will be made again",
        path, st.st_size, digest[:NAME_DIGITS],
    )
    path.unlink(missing_ok=True)
    return False


def verified_bytes(path: str | Path) -> bytes | None:
    """The bytes of content-addressed ``path`` if they match its name, else ``None``.

    A mismatch is removed and reported as in :func:`content_ok`; the check is on the bytes
    returned, so nothing can change between the check and the use.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if content_name(data, "") == path.name.split(".", 1)[0]:
        return data
    logger.warning(
        "%s: cached file is corrupt (%d bytes whose SHA-256 is not its name): removed",
        path, len(data),
    )
    _verified.pop(str(path), None)
    path.unlink(missing_ok=True)
    return None


def record_digest(path: str | Path) -> None:
    """Record the SHA-256 of a file whose name cannot carry it (``<name>.sha256`` beside it,
    written atomically), so :func:`matches_record` can check the file before reuse."""
    path = Path(path)
    digest = _sha256_file(path)
    atomic_write(_record(path), digest.encode("ascii"))
    st = path.stat()
    _verified[str(path)] = (st.st_size, st.st_mtime_ns)


def matches_record(path: str | Path) -> bool:
    """Whether ``path`` exists and its bytes match the SHA-256 :func:`record_digest` wrote.

    Checked by hash on first use in a process, then by size and mtime. A file without a
    record, or whose bytes do not match it (truncated, damaged), is removed with a warning
    naming it, so the caller makes it again; a missing file is just ``False``.
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    try:
        want = _record(path).read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        want = ""
    if want and _verified.get(str(path)) == (st.st_size, st.st_mtime_ns):
        return True
    if want and _sha256_file(path) == want:
        _verified[str(path)] = (st.st_size, st.st_mtime_ns)
        return True
    logger.warning(
        "%s: cached file %s (%d bytes): removed, it will be made again",
        path, "does not match its recorded SHA-256" if want else "has no recorded SHA-256", st.st_size,
    )
    _verified.pop(str(path), None)
    path.unlink(missing_ok=True)
    _record(path).unlink(missing_ok=True)
    return False


def _record(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def read_json(path: str | Path, what: str) -> object | None:
    """The JSON value in ``path``; ``None`` when it is missing or unreadable.

    An unreadable entry (half-written, not JSON, not UTF-8) is removed with a warning
    naming the file and ``what`` it holds, so the caller rebuilds it.
    """
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        discard(path, what, e)
        return None


def discard(path: str | Path, what: str, reason: object) -> None:
    """Remove a bad cache entry, with the warning that names it."""
    logger.warning("%s: unreadable %s in the cache (%s): removed, it will be rebuilt", path, what, reason)
    Path(path).unlink(missing_ok=True)


def write_json(path: str | Path, value: object) -> None:
    """``value`` as JSON in ``path``, atomically (see :func:`atomic_write`)."""
    atomic_write(path, json.dumps(value, sort_keys=True).encode("utf-8"))


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
