"""The README's fenced blocks, its test markers, and running them as a user would.

A block a user would paste is a fenced ``python`` or ``bash`` block. An HTML comment on the
line before the fence (invisible on GitHub and on the Hub) says how the test treats it:

* ``<!-- readme-test: skip: REASON -->``: not run; reported as skipped with REASON (a block
  that needs a real model, the network, your own videos, or that is the test command);
* ``<!-- readme-test: requires MODULE[, MODULE…] -->``: run when the modules are
  importable, else skipped ("needs MODULE").

Every other python / bash block runs, in README order, in one fresh folder (after the quick
start, the first block). ``python -m pip install …`` lines are not re-run (the tests run in
the environment that install made); the ``python`` on the blocks' PATH checks instead that
the install is in place and fails the block when it is not (see :func:`check_pip_install`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

RUNNABLE = ("python", "bash")
_MARKER = re.compile(r"^<!--\s*readme-test:\s*(?P<body>.*?)\s*-->\s*$")
_FENCE = re.compile(r"^```\s*(?P<lang>[\w+-]*)\s*$")


@dataclass(frozen=True)
class Block:
    index: int  # position among the README's fenced blocks (all languages)
    line: int  # 1-based line of the opening fence
    lang: str  # "" for a plain block
    code: str
    marker: str | None  # the body of the readme-test comment before the fence

    @property
    def runnable(self) -> bool:
        return self.lang in RUNNABLE

    @property
    def label(self) -> str:
        return f"README.md:{self.line} ({self.lang})"

    def skip_reason(self) -> str | None:
        """Why the block is not run here, or None to run it."""
        if self.marker is None:
            return None
        m = re.fullmatch(r"(?P<kind>skip|requires)\s*:?\s*(?P<rest>.*)", self.marker)
        if m and m["kind"] == "skip" and m["rest"]:
            return m["rest"]
        if m and m["kind"] == "requires" and m["rest"]:
            import importlib.util

            missing = [n.strip() for n in m["rest"].split(",") if importlib.util.find_spec(n.strip()) is None]
            return f"needs {', '.join(missing)} (not installed here)" if missing else None
        raise ValueError(f"{self.label}: unknown readme-test marker {self.marker!r}")


def blocks(readme: Path) -> list[Block]:
    """Every fenced block of ``readme``, with the marker on the line before it."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        if j == len(lines):
            raise ValueError(f"README.md:{start + 1}: fenced block never closed")
        prev = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        marker = _MARKER.match(prev.strip())
        out.append(
            Block(len(out), start + 1, m["lang"], "\n".join(lines[start + 1 : j]) + "\n", marker and marker["body"])
        )
        i = j + 1
    return out


# ----------------------------------------------------------------- the pip install check


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def check_pip_install(args: list[str], repo: Path) -> tuple[bool, str]:
    """Is what ``pip install ARGS`` (run from ``repo``, as the README says) would give already
    installed? Only ``-e PATH[extras]`` of this repository is understood; anything else is
    refused (the README runner installs nothing)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    editable = [a for i, a in enumerate(args) if i and args[i - 1] in ("-e", "--editable")]
    flags = {a for a in args if a.startswith("-") and a not in ("-e", "--editable")}
    if len(editable) != 1 or len([a for a in args if not a.startswith("-")]) != 1 or flags - {"-q", "--quiet", "-U", "--upgrade"}:
        return False, f"pip install {' '.join(args)}: the README runner only checks `pip install -e <this repo>`"
    spec = editable[0]
    m = re.fullmatch(r"(?P<path>[^\[]+)(\[(?P<extras>[^\]]*)\])?", spec.strip("'\""))
    if not m:
        return False, f"cannot read the install target {spec!r}"
    target = (repo / m["path"]).resolve()
    extras = [e.strip() for e in (m["extras"] or "").split(",") if e.strip()]
    import json

    # the installed record (dist-info with direct_url.json), not the thud.egg-info an
    # editable build leaves in the source tree (found first when the tree is on sys.path)
    dists = sorted(metadata.distributions(name="thud"), key=lambda d: d.read_text("direct_url.json") is None)
    if not dists:
        return False, "thud is not installed in the environment running the tests"
    dist = dists[0]
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    where = Path(direct.get("url", "").removeprefix("file://")).resolve() if direct.get("url") else None
    if not direct.get("dir_info", {}).get("editable") or where != target:
        return False, f"thud is not an editable install of {target} (direct_url: {direct})"
    unmet = []
    for line in dist.requires or []:
        req = Requirement(line)
        if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in extras):
            continue
        try:
            have = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            unmet.append(f"{req} (not installed)")
            continue
        if not req.specifier.contains(have, prereleases=True):
            unmet.append(f"{req} (have {have})")
    if unmet:
        return False, f"pip install -e {spec} would change this environment: {'; '.join(unmet)}"
    what = f" with extras {', '.join(extras)}" if extras else ""
    return True, f"not re-run `pip install -e {spec}`: thud is installed editable from {target}{what}, every requirement met"


_SHIM = """#!{python}
# The README runner's `python`: checks `python -m pip install ...` instead of running it.
import os, sys
args = sys.argv[1:]
if args[:3] == ["-m", "pip", "install"]:
    sys.path.insert(0, {repo!r})
    from tests.helpers.readme import check_pip_install
    from pathlib import Path
    ok, message = check_pip_install(args[3:], Path({repo!r}))
    print("readme-test: " + message, file=sys.stderr)
    sys.exit(0 if ok else 1)
os.execv(sys.executable, [sys.executable, *args])
"""


# -------------------------------------------------------------------------- the runner


@dataclass
class Outcome:
    block: Block
    skipped: str | None = None
    returncode: int | None = None
    stdout: str = ""
    output: str = ""  # stdout then stderr


@dataclass
class ReadmeRunner:
    """Runs the README's blocks in order in ``workdir``, each at most once."""

    readme: Path
    repo: Path
    workdir: Path  # the user's folder (empty at first)
    scratch: Path  # scripts, the shim, HF_HOME: outside the user's folder
    env_extra: dict[str, str] = field(default_factory=dict)
    timeout: float = 900
    outcomes: dict[int, Outcome] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.all = blocks(self.readme)
        self.workdir.mkdir(parents=True, exist_ok=True)
        bin_dir = self.scratch / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        for name in ("python", "python3"):
            shim = bin_dir / name
            shim.write_text(_SHIM.format(python=sys.executable, repo=str(self.repo)))
            shim.chmod(0o755)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS")}
        env["PATH"] = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), env.get("PATH", "")])
        env["HF_HOME"] = str(self.scratch / "hf")
        env["HF_HUB_OFFLINE"] = "1"
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.env_extra)
        self.env = env

    def run_through(self, index: int) -> Outcome:
        """Run every block up to ``index`` (README order) that has not run; its outcome."""
        for block in self.all[: index + 1]:
            if block.index not in self.outcomes:
                self.outcomes[block.index] = self._run(block)
        return self.outcomes[index]

    def _run(self, block: Block) -> Outcome:
        reason = block.skip_reason() if block.runnable else "not a python or bash block"
        if reason is not None:
            return Outcome(block, skipped=reason)
        script = self.scratch / "blocks" / f"block{block.index:02d}.{'py' if block.lang == 'python' else 'sh'}"
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(block.code, encoding="utf-8")
        cmd = [sys.executable, str(script)] if block.lang == "python" else ["bash", "-eo", "pipefail", str(script)]
        try:
            done = subprocess.run(
                cmd,
                cwd=self.workdir,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=self.timeout,
            )
        except subprocess.TimeoutExpired as e:
            return Outcome(block, returncode=-1, output=f"timed out after {self.timeout} s\n{e.stdout or ''}{e.stderr or ''}")
        return Outcome(block, returncode=done.returncode, stdout=done.stdout, output=done.stdout + done.stderr)
