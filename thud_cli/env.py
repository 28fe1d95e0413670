"""``thud env``: what a bug report needs to know about this machine's install.

Versions are read from the installed distributions' metadata, so nothing heavy is imported
(torch, transformers and TRL are named, never loaded); PyAV is imported, because the FFmpeg
libraries it was built with are part of the answer to most media questions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata

#: (label, distribution) in the order the report lists them: Thud's stack first, then the
#: optional torch side (the ``train`` extra and the model adapters)
DISTRIBUTIONS = (
    ("datasets", "datasets"),
    ("evaluate", "evaluate"),
    ("huggingface_hub", "huggingface_hub"),
    ("pyarrow", "pyarrow"),
    ("numpy", "numpy"),
    ("scipy", "scipy"),
    ("soundfile", "soundfile"),
    ("librosa", "librosa"),
    ("torch", "torch"),
    ("torchcodec", "torchcodec"),
    ("transformers", "transformers"),
    ("TRL", "trl"),
    ("peft", "peft"),
    ("accelerate", "accelerate"),
)

#: environment variables that change where Thud and the Hugging Face libraries read and write
ENV_VARS = ("THUD_CACHE", "HF_HOME", "HF_DATASETS_CACHE", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")

NOT_INSTALLED = "not installed"


def register(sub) -> None:
    p = sub.add_parser(
        "env",
        help="print Thud's and its libraries' versions, for a bug report",
        description="Print the versions a bug report needs: Thud, Python, datasets, evaluate, "
        "huggingface_hub, PyAV and the FFmpeg libraries it was built with, the ffmpeg command "
        "line tool, torch, transformers, TRL, and the environment variables that move caches.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the list")
    p.set_defaults(func=run)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED


def _thud() -> str:
    try:
        dist = metadata.distribution("thud")
    except metadata.PackageNotFoundError:
        return f"not installed (running from {os.path.dirname(os.path.dirname(__file__))})"
    where = ""
    direct = dist.read_text("direct_url.json")
    if direct:
        info = json.loads(direct)
        editable = info.get("dir_info", {}).get("editable")
        url = info.get("url", "")
        where = f" ({'editable install of ' if editable else 'installed from '}{url.removeprefix('file://')})"
    return f"{dist.version}{where}"


def _pyav() -> str:
    try:
        import av
    except ImportError:
        return NOT_INSTALLED
    libs = ", ".join(f"{name} {'.'.join(map(str, v))}" for name, v in sorted(av.library_versions.items()))
    ffmpeg = getattr(av, "ffmpeg_version_info", None)
    return f"{av.__version__} (FFmpeg {ffmpeg}: {libs})" if ffmpeg else f"{av.__version__} ({libs})"


def _ffmpeg_cli() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        return "not found on PATH (tests that check outputs with an independent decoder need it)"
    try:
        out = subprocess.run([path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=20)
        first = (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else "?"
        first = first.split(" Copyright")[0]
    except (OSError, subprocess.SubprocessError) as e:
        first = f"cannot run: {e}"
    return f"{first} ({path})"


def collect() -> dict[str, str]:
    """The report as ``{label: value}``, in display order."""
    info = {
        "Thud": _thud(),
        "Python": f"{platform.python_version()} ({platform.python_implementation()}, {sys.executable})",
        "Platform": platform.platform(),
    }
    info.update({label: _version(dist) for label, dist in DISTRIBUTIONS[:5]})
    info["PyAV"] = _pyav()
    info["ffmpeg CLI"] = _ffmpeg_cli()
    info.update({label: _version(dist) for label, dist in DISTRIBUTIONS[5:]})
    for name in ENV_VARS:
        info[name] = os.environ.get(name, "(unset)")
    return info


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print("Copy and paste this into your bug report:\n")
    for label, value in info.items():
        print(f"- {label}: {value}")
    return 0
