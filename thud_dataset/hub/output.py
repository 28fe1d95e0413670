"""The output folder of a build: owned by Thud, written beside, swapped in whole.

A build never writes into ``--out`` while it works. :func:`check_output` refuses a
destination that would lose someone's files (a file, a folder holding the sources, a
folder that is neither empty nor a Thud build unless ``overwrite``) before anything is
created; :class:`OutputTransaction` then takes a lock beside the folder (a second build
into the same folder fails at once), makes a staging folder beside it, and
:meth:`~OutputTransaction.commit` swaps the complete staging folder in with one atomic
exchange of directory entries (Linux ``renameat2(RENAME_EXCHANGE)``). Until that moment
the previous folder is untouched; a build that fails, is interrupted or killed leaves it
as it was, and the next build removes what the dead one left beside it — except a
resumable build's folder (``resume_key``, the Ray engine), which the next build with the
same key picks up where it stopped.

What the folder held besides the build's own entries (:data:`OWNED`) — e.g. the
``predictions/`` and ``scores/`` that ``thud demo`` writes — is kept: hard-linked into
the new folder before the swap, so it exists on both sides at every moment.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["OWNED", "BuildError", "BuildStopped", "EngineUnavailable", "OutputLocked", "OutputRefused", "OutputTransaction", "check_output"]

#: the entries of a build folder that a build writes (and a rebuild replaces)
OWNED = ("README.md", "build_report.json", "data")


class BuildError(ValueError):
    """A build that cannot start or could not finish; the message says why, and what
    became of the output folder."""


class OutputRefused(BuildError):
    """``--out`` names a place a build must not write to."""


class OutputLocked(BuildError):
    """Another build is writing the same output folder."""


class BuildStopped(BuildError):
    """The machine stopped the build (disk full or read-only…); the output folder is as it was."""


class EngineUnavailable(BuildError):
    """The engine asked for cannot run here (its package is not installed); nothing was
    created. The message says how to install it."""


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output(
    out: str | Path,
    *,
    protected: Mapping[str, str | Path | None] | None = None,
    sources: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Validate a build's output folder without creating anything; return its real path.

    Parameters
    ----------
    out
        The output folder (need not exist).
    protected
        ``{what: path}`` of inputs the folder must not hold (e.g. ``{"annotations file":
        ...}``); ``None`` values are ignored.
    sources
        The folder of the source videos: ``out`` may not be it, hold it, or lie inside it.
    overwrite
        Allow an existing folder that is not a Thud build (its ``README.md``,
        ``build_report.json`` and ``data/`` are then replaced; everything else is kept).

    Raises
    ------
    OutputRefused
        With one line saying what is wrong and what to do.
    """
    from .report import is_thud_build

    real = _real(out)
    if real.exists() and not real.is_dir():
        raise OutputRefused(f"--out {out}: is a file, not a folder; give a folder for the build")
    cwd = Path.cwd().resolve()
    if _inside(cwd, real):
        raise OutputRefused(
            f"--out {out}: is the current folder or holds it; a build replaces its folder as a "
            f"whole, so give a folder of its own (e.g. --out {Path(out) / 'thud'})"
        )
    if real.exists() and os.path.ismount(real):
        raise OutputRefused(
            f"--out {out}: is a mount point; a build replaces its folder as a whole, so give a "
            f"folder inside it (e.g. --out {Path(out) / 'thud'})"
        )
    if sources is not None:
        src = _real(sources)
        if _inside(src, real) or _inside(real, src):
            raise OutputRefused(
                f"--out {out}: {'holds' if _inside(src, real) else 'lies inside'} the source "
                f"folder {sources}; the build must be written outside the source videos"
            )
    for what, path in (protected or {}).items():
        if path is not None and _inside(_real(path), real):
            raise OutputRefused(f"--out {out}: holds the {what} {path}; choose an output folder outside it")
    if real.is_dir() and not overwrite and not is_thud_build(real):
        entries = sorted(p.name + ("/" if p.is_dir() else "") for p in real.iterdir())
        if entries:
            shown = ", ".join(entries[:8]) + (", …" if len(entries) > 8 else "")
            raise OutputRefused(
                f"--out {out}: is not empty and is not a Thud build (it holds {shown}); a build "
                f"replaces a folder's {', '.join(OWNED)} and keeps the rest: pass --overwrite to "
                "allow that, or choose an empty or new folder"
            )
    return real


# -- the atomic exchange -------------------------------------------------------------------

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap the directory entries ``a`` and ``b``; False where the system or
    the filesystem cannot (then the caller falls back to two renames)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, f"cannot swap {b} into place: {os.strerror(err)}")


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entries to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_tree(src: Path, dst: Path) -> None:
    """``dst`` becomes a copy of ``src`` made of hard links (a plain copy where a link is
    not possible); symlinks are copied as links."""
    def link(s: str, d: str) -> None:
        try:
            os.link(s, d, follow_symlinks=False)
        except OSError:
            shutil.copy2(s, d, follow_symlinks=False)

    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, symlinks=True, copy_function=link)
    else:
        link(str(src), str(dst))


def _remove(path: Path) -> None:
    """Remove a file, link or folder."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class OutputTransaction:
    """Lock, staging folder and atomic swap of one build's output folder.

    ::

        with OutputTransaction(out) as tx:
            ...write everything into tx.staging...
            tx.commit()   # out is now the new build; before this line it is the old one

    Leaving the ``with`` block without :meth:`commit` (an exception, Ctrl-C) removes the
    staging folder and leaves ``out`` as it was. The lock is ``.<name>.thud-lock`` beside
    ``out`` (an advisory ``flock``: the kernel releases it when the process dies, even by
    ``kill -9``); the staging folder is ``.<name>.thud-staging-*`` beside ``out``.

    With a ``resume_key`` the transaction is resumable: the staging folder is
    ``.<name>.thud-resume-<key>/build`` beside ``out``, with ``state`` (:attr:`state`) next to
    it for the build's own progress records. Both outlive a failed or killed build (unless
    :attr:`keep_for_resume` is set to False), so the next transaction with the same key
    finds what was finished; a transaction with another key (or none) removes them. Only
    ``data/`` is kept from an earlier attempt: everything else in the staging folder is
    made again. ``out`` itself follows the same rules as without a key.
    """

    def __init__(self, out: str | Path, resume_key: str | None = None) -> None:
        self.out = _real(out)
        self.parent = self.out.parent
        self.name = self.out.name
        self.resume_key = resume_key
        self.staging: Path | None = None
        #: a resumable build's progress records (None without a ``resume_key``)
        self.state: Path | None = None
        #: keep a resumable staging folder when the build fails (False: remove it)
        self.keep_for_resume = resume_key is not None
        self._lock_fd: int | None = None
        self._made: list[Path] = []
        self.committed = False

    @property
    def _resume_folder(self) -> Path | None:
        return self.parent / f".{self.name}.thud-resume-{self.resume_key}" if self.resume_key else None

    # -- lock and staging -------------------------------------------------------------

    def __enter__(self) -> OutputTransaction:
        # the folders this build creates above ``out``: removed again if it fails
        self._made = [p for p in (self.parent, *self.parent.parents) if not p.exists()]
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.parent / f".{self.name}.thud-lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise BuildError(
                f"cannot write beside --out in {self.parent} ({exc.strerror}); a build writes "
                "its files there first and swaps them in when complete"
            ) from None
        self._lock_fd = fd
        try:
            self._lock(fd)
            self._clean_leftovers()
            if self._resume_folder is not None:
                self._open_resumable(self._resume_folder)
            else:
                self.staging = Path(tempfile.mkdtemp(prefix=f".{self.name}.thud-staging-", dir=self.parent))
            mode = stat.S_IMODE(self.out.stat().st_mode) if self.out.is_dir() else 0o777 & ~_umask()
            os.chmod(self.staging, mode)
        except BaseException:
            self._release()
            raise
        return self

    def _lock(self, fd: int) -> None:
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise OutputLocked(
                f"another thud build (pid {holder}) is writing {self.out}; wait for it to "
                "finish or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)

    def _open_resumable(self, folder: Path) -> None:
        """The staging and state folders of a resumable build; an earlier attempt's ``data/``
        stays (its shards are checked before reuse), the rest of its staging goes."""
        self.staging, self.state = folder / "build", folder / "state"
        if self.staging.is_dir():
            logger.info("%s: resuming the interrupted build kept in %s", self.out, folder)
            for entry in self.staging.iterdir():
                if entry.name != "data":
                    _remove(entry)
        self.staging.mkdir(parents=True, exist_ok=True)
        self.state.mkdir(exist_ok=True)

    def _clean_leftovers(self) -> None:
        """Remove what an interrupted build left beside ``out`` (we hold the lock, so no
        live build owns it), except the resumable folder of this transaction's key. A swap
        interrupted between its two renames (filesystems without an atomic exchange) is
        undone: the previous build comes back."""
        old = self.parent / f".{self.name}.thud-old"
        if old.exists():
            if not self.out.exists():
                os.rename(old, self.out)
                logger.warning("%s: restored the previous build after an interrupted swap", self.out)
            else:
                shutil.rmtree(old)
        for kind in ("staging", "resume"):
            pattern = os.path.join(glob.escape(str(self.parent)), f".{glob.escape(self.name)}.thud-{kind}-*")
            for leftover in glob.glob(pattern):
                if Path(leftover) != self._resume_folder:
                    shutil.rmtree(leftover, ignore_errors=True)

    def __exit__(self, *exc) -> None:
        try:
            resumable = self._resume_folder
            if resumable is not None and not self.committed and self.keep_for_resume:
                if self.staging is not None:
                    logger.info("%s: the unfinished build is kept in %s; the same command resumes it", self.out, resumable)
                return
            if self.staging is not None and self.staging.exists():
                shutil.rmtree(self.staging, ignore_errors=True)
            if resumable is not None:
                shutil.rmtree(resumable, ignore_errors=True)
            if not self.committed and self._made:
                # a failed first build into a new place leaves no folders behind
                (self.parent / f".{self.name}.thud-lock").unlink(missing_ok=True)
                for folder in self._made:
                    with contextlib.suppress(OSError):
                        folder.rmdir()
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    # -- the swap ---------------------------------------------------------------------

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.parent).free

    def kept_entries(self) -> list[str]:
        """What the current folder holds besides the build's own entries (kept on commit)."""
        if not self.out.is_dir():
            return []
        return sorted(p.name + ("/" if p.is_dir() else "") for p in self.out.iterdir() if p.name not in OWNED)

    def commit(self) -> None:
        """Swap the staging folder in as ``out``; keep what ``out`` held besides the build."""
        assert self.staging is not None and not self.committed
        staging = self.staging
        if self.out.is_dir():
            for entry in self.out.iterdir():
                if entry.name not in OWNED:
                    _link_tree(entry, staging / entry.name)
        for path in [staging, *(p for p in staging.rglob("*") if p.is_dir() and not p.is_symlink())]:
            fsync_path(path)
        if not self.out.exists():
            os.rename(staging, self.out)
            old = None
        elif _exchange(staging, self.out):
            old = staging  # the staging name now holds the previous folder
        else:
            old = self.parent / f".{self.name}.thud-old"
            os.rename(self.out, old)
            os.rename(staging, self.out)
        self.committed = True
        fsync_path(self.parent)
        if old is not None:
            # anything that appeared in the old folder after it was linked is moved over
            for entry in old.iterdir():
                if entry.name not in OWNED and not (self.out / entry.name).exists():
                    os.rename(entry, self.out / entry.name)
            shutil.rmtree(old, ignore_errors=True)
        self.staging = None
