"""The tests need nothing outside the repository.

* Statically: every path a test builds from ``__file__`` stays inside the repository, no
  test names an existing absolute path outside it (or a ``..`` that leaves it), and the
  README, the docs and the test data point at nothing outside it (``../x``, ``shared/…``).
* Dynamically: part of the suite (the tests of real clips, the built card, the trainer's
  configs) runs in a copy of the repository in a folder with no siblings, with an audit hook
  recording every file it opens under the original checkout and the folders around it
  (``../shared`` included). A planted test that reads the original checkout shows the hook
  sees such a read; no other test may make one.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_FILES = sorted(p for p in (REPO / "tests").rglob("*.py") if "__pycache__" not in p.parts)
TEXT_FILES = [REPO / "README.md", REPO / ".ci" / "run", REPO / "pyproject.toml"] + sorted(
    [*(REPO / "docs").glob("*.md"), *(REPO / "tests").rglob("*.md")]
)
#: absolute paths a test may name: the system's, never a checkout's neighbours
SYSTEM = ("/dev", "/proc", "/sys", "/usr", "/bin", "/etc", "/tmp", "/var/tmp")


def _inside(path: Path, repo: Path = REPO) -> bool:
    path = Path(os.path.normpath(path))
    return path == repo or repo in path.parents


def _file_path(node: ast.AST, here: Path) -> Path | None:
    """The path an expression built from ``__file__`` denotes, when it can be read statically."""
    if isinstance(node, ast.Name) and node.id == "__file__":
        return here
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id == "Path" and node.args:
            return _file_path(node.args[0], here)
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("resolve", "absolute"):
            return _file_path(node.func.value, here)
        if isinstance(node.func, ast.Attribute) and node.func.attr == "joinpath":
            base = _file_path(node.func.value, here)
            parts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            return base.joinpath(*parts) if base is not None and len(parts) == len(node.args) else base
        return None
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        base = _file_path(node.value, here)
        return base.parent if base is not None else None
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "parents":
        base = _file_path(node.value.value, here)
        if base is not None and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int):
            return base.parents[node.slice.value] if node.slice.value < len(base.parents) else Path("/")
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        base = _file_path(node.left, here)
        if base is not None and isinstance(node.right, ast.Constant) and isinstance(node.right.value, str):
            return base / node.right.value
        return base
    return None


def outside_paths(files: list[Path], repo: Path = REPO, system: tuple[str, ...] = SYSTEM) -> list[str]:
    """``file:line: what`` for every path in ``files`` that leaves the repository ``repo``
    (one finding per line: the outermost expression)."""
    found: dict[str, str] = {}
    for path in files:
        here = path.resolve()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            where = f"{path.relative_to(repo)}:{getattr(node, 'lineno', '?')}"
            if where in found:
                continue
            target = _file_path(node, here) if isinstance(node, (ast.Subscript, ast.BinOp, ast.Attribute, ast.Call)) else None
            if target is not None and not _inside(target, repo):
                found[where] = f"{ast.unparse(node)} is {os.path.normpath(target)}, outside the repository"
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" not in node.value:
                text = node.value
                absolute = text.startswith("/") and len(Path(text).parts) > 1 and not text.startswith(system)
                if absolute and Path(text).exists() and not _inside(Path(text), repo):
                    found[where] = f"{text!r} is an existing path outside the repository"
                elif re.search(r"(^|/)\.\.(/|$)", text) and not _inside(repo / text, repo):
                    found[where] = f"{text!r} leaves the repository (from its root, where the tests run)"
    return [f"{where}: {what}" for where, what in found.items()]


def test_no_test_path_leaves_the_repository():
    assert outside_paths(TEST_FILES) == []


def test_the_path_check_catches_a_test_that_reads_next_to_the_repository(tmp_path):
    repo = tmp_path / "checkout"
    shared = tmp_path / "shared" / "media" / "real"
    shared.mkdir(parents=True)
    planted = repo / "tests" / "thud_dataset" / "test_planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text(
        "from pathlib import Path\n"
        "REAL = Path(__file__).resolve().parents[3] / 'shared' / 'media' / 'real'\n"
        "MEDIA = '../shared/media/real'\n"
        f"ABSOLUTE = {str(shared)!r}\n"
        "INSIDE = Path(__file__).resolve().parents[2] / 'data' / 'real'\n"
    )
    found = outside_paths([planted], repo, system=("/dev",))
    assert sorted(f.split(":")[1] for f in found) == ["2", "3", "4"], found


#: a relative path in prose that names a folder next to the checkout (a `shared/` folder is
#: not part of the repository)
_PROSE_PATH = re.compile(r"(?<![\w./-])((?:\.\./)+[\w.-]+(?:/[\w.-]+)*|shared/[\w.-]+(?:/[\w.-]+)*)")


def test_readme_docs_and_test_data_name_nothing_outside_the_repository():
    found = []
    for path in TEXT_FILES:
        if not path.is_file():
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in _PROSE_PATH.finditer(line):
                token = m.group(1)
                if not (REPO / token).exists():
                    found.append(f"{path.relative_to(REPO)}:{n}: {token}")
    assert found == [], "paths outside the repository:\n" + "\n".join(found)


# -------------------------------------------------------------- the suite, in a lonely copy

#: tests that read the repository's own files: the real clips (as sources, in a build, in
#: the card) and the trainer's configs; run in the copy with the audit hook
SUBSET = (
    "tests/thud_dataset/sources/test_local.py",
    "tests/thud_dataset/test_build_real.py",
    "tests/thud_dataset/hub/test_card.py",
    "tests/thud_train/test_config_and_data.py",
)
PLANTED = "tests/test_zz_planted_outside_read.py"


def _repository_files() -> list[str]:
    """What a clone holds: the tracked files and those git does not ignore."""
    try:
        done = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"not a git checkout ({e}): cannot tell the repository's files")
    return [f for f in done.stdout.decode().split("\0") if f and (REPO / f).is_file()]


def _forbidden_roots() -> list[Path]:
    """The original checkout and the folders around it, up to (not including) the home
    folder or the file system's root: other checkouts, ``../shared``, …"""
    roots = [REPO, REPO.parent / "shared"]
    stop = {Path("/"), Path.home().resolve()}
    ancestor = REPO
    for _ in range(2):
        ancestor = ancestor.parent
        if ancestor in stop:
            break
        roots += [p for p in ancestor.iterdir() if p.is_dir() and p not in REPO.parents and p != REPO]
    return roots


def _allowed_roots(tmp_path: Path) -> list[Path]:
    """What tests legitimately read inside those: the Python installation, caches and this
    test's own folder (not the whole temporary folder: a checkout may live in it, as a CI
    clone in /tmp does, and its siblings are then forbidden)."""
    places = [sys.prefix, sys.base_prefix, sys.exec_prefix, tmp_path, Path.home() / ".cache"]
    places += [p for p in sys.path if p and Path(p).is_dir() and not _inside(Path(p).resolve())]
    return [Path(p).resolve() for p in places]


def test_part_of_the_suite_passes_in_a_lonely_copy_and_reads_nothing_outside_it(tmp_path):
    copy = tmp_path / "lonely" / REPO.name
    for rel in _repository_files():
        dest = copy / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, dest)
    (copy / PLANTED).write_text(
        "from pathlib import Path\n\n\n"
        "def test_reads_the_checkout_it_was_copied_from():\n"
        f"    assert Path({str(REPO / 'README.md')!r}).read_text()\n"
    )
    log = tmp_path / "outside_reads.jsonl"
    # no cache folder of the caller's (HF_DATASETS_CACHE=/tmp/x…): HF_HOME below holds them all
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "THUD_", "HF_"))}
    env.update(
        PYTHONPATH=str(copy),
        HF_HOME=str(tmp_path / "hf"),
        THUD_FORBIDDEN_ROOTS=os.pathsep.join(map(str, _forbidden_roots())),
        THUD_ALLOWED_ROOTS=os.pathsep.join(map(str, _allowed_roots(tmp_path))),
        THUD_OUTSIDE_READS=str(log),
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.helpers.outside_reads",
         "--basetemp", str(tmp_path / "basetemp"), *SUBSET, PLANTED],
        cwd=copy, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    reads = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    planted = [r for r in reads if r["test"].startswith(PLANTED)]
    assert [r["path"] for r in planted] == [str(REPO / "README.md")], "the audit hook saw no planted read"
    others = [f"{r['test']}: {r['event']} {r['path']}" for r in reads if r not in planted]
    assert others == [], "tests read outside the repository:\n" + "\n".join(others)
    assert re.search(r"\b(\d+) passed", done.stdout) and " skipped" not in done.stdout.splitlines()[-1]
