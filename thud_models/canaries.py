"""Canary probes for the audio-path check: questions only the sound can answer.

Every canary is a *pair* of clips with byte-identical video (a still synthetic room in which
nothing moves, its packets remuxed, never re-encoded) that differ only in their audio:

* **presence** pairs: beeps at one pitch vs the same clip muted (digital silence; the audio
  stream stays in the file, as in a Thud mute probe). Asked in the Thud ``existence``
  format, so ``(A)`` is "heard" (``synced``) and ``(B)`` is ``silent``.
* **count** pair: one beep vs three beeps, asked "how many beeps do you hear?".

Because the picture is still and the same within a pair, a model that does not get the
audio sees two identical inputs and (at temperature 0) gives the same answer to both; a
model that hears answers them differently. The picture also implies no sound at all, so a
model that guesses from vision has no reason to say "yes" to one member and "no" to the
other.

Clips are rendered deterministically with the synthetic source's room renderer and the
media helpers (:func:`thud_dataset.media.encode_audio` / :func:`~thud_dataset.media.mux`:
the same AAC settings for every member) and cached under ``work_dir`` with content-hash
file names, so nothing in a path tells a muted clip from a loud one.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from thud_dataset.video_files import default_cache_dir

__all__ = [
    "CANARY_VERSION",
    "COUNT_PROMPT",
    "PRESENCE_PROMPT",
    "Canary",
    "beep_track",
    "build_canaries",
    "default_work_dir",
]

#: bump when what a canary is changes, so caches of the old set are not reused (v2: the
#: synthetic renders' encoding, RENDER_VERSION 2)
CANARY_VERSION = "v2"
SAMPLE_RATE = 16_000
DURATION_S = 3.0
FPS = 25
_SEED = 7  # the synthetic scene set the rooms come from

_SCENE = "a still picture of an empty room; nothing in it moves"
# the option lines are exactly Thud's existence options, so the same parser reads them
PRESENCE_PROMPT = (
    f"Watch the video and listen to its audio. The video shows: {_SCENE}.\n"
    "Listen to the audio track. Can you hear a beep?\n"
    "(A) Yes: its sound can be heard.\n"
    "(B) No: there is no sound at all, the audio is silent.\n"
    "Answer with the letter of one option."
)
COUNT_PROMPT = (
    f"Watch the video and listen to its audio. The video shows: {_SCENE}.\n"
    "Listen to the audio track. How many beeps do you hear?\n"
    "Answer with one number (0 if the audio is silent)."
)

# (pair name, room index, pitch Hz, beep onsets s): presence pairs are beeps vs muted
_PRESENCE = (
    ("presence-440hz", 0, 440.0, (0.4, 1.0, 1.6, 2.2)),
    ("presence-880hz", 1, 880.0, (0.4, 1.0, 1.6, 2.2)),
    ("presence-1320hz", 2, 1320.0, (0.4, 1.0, 1.6, 2.2)),
)
# the count pair: same room and pitch, one beep vs three
_COUNT = ("count-1-vs-3", 3, 660.0, (1.2,), (0.5, 1.2, 1.9))
_BEEP_S = 0.25
_BEEP_PEAK = 0.5  # -6 dBFS: loud, far above any codec noise


@dataclass(frozen=True)
class Canary:
    """One canary clip and its question.

    ``expected`` is a Thud label (presence: ``synced`` = heard, ``silent``) or a beep count.
    ``description`` says in words what was sent, for the evidence of a check.
    """

    canary_id: str
    pair: str
    kind: str  # "presence" | "count"
    variant: str  # "beeps" | "muted" | "1 beep" | "3 beeps"
    path: str
    prompt: str
    expected: str | int
    description: str

    def to_dict(self) -> dict:
        return asdict(self)


def default_work_dir() -> Path:
    """``$THUD_CACHE/canaries`` or ``~/.cache/thud/canaries``."""
    return default_cache_dir() / "canaries"


def beep_track(
    onsets: tuple[float, ...], pitch_hz: float, *, duration_s: float = DURATION_S
) -> np.ndarray:
    """Mono float32 beeps (``_BEEP_S`` long, 5 ms raised-cosine ramps) at ``onsets`` seconds.

    >>> x = beep_track((0.5,), 440.0)
    >>> x.shape, float(abs(x[0, :7999]).max()), round(float(abs(x[0, 8000:11000]).max()), 2)
    ((1, 48000), 0.0, 0.5)
    """
    n = round(duration_s * SAMPLE_RATE)
    out = np.zeros(n, np.float32)
    m = round(_BEEP_S * SAMPLE_RATE)
    ramp = round(0.005 * SAMPLE_RATE)
    env = np.ones(m)
    env[:ramp] = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    env[-ramp:] = env[:ramp][::-1]
    beep = (_BEEP_PEAK * env * np.sin(2 * np.pi * pitch_hz * np.arange(m) / SAMPLE_RATE)).astype(
        np.float32
    )
    for t in onsets:
        start = round(t * SAMPLE_RATE)
        if start < 0 or start + m > n:
            raise ValueError(f"a beep at {t} s does not fit in {duration_s} s")
        out[start : start + m] += beep
    return out[None, :]


def _still_video(room: int, path: Path) -> None:
    """A clip of the still room ``room`` (its video is what every member of a pair shares)."""
    from thud_dataset.sources.synthetic import render_background, scene_params, write_mp4

    frame = render_background(scene_params(room, _SEED))
    frames = np.repeat(frame[None], round(DURATION_S * FPS), axis=0)
    write_mp4(frames, np.zeros(round(DURATION_S * SAMPLE_RATE), np.float32), path)


def _member(video, samples: np.ndarray, out_dir: Path) -> str:
    """Mux ``samples`` under ``video``'s packets; write under a content-hash name."""
    from thud_dataset.media import content_name, encode_audio, mux

    data = mux(video, encode_audio(samples, SAMPLE_RATE))
    name = content_name(data, ".mp4")
    target = out_dir / name
    if not target.is_file() or target.stat().st_size != len(data):
        tmp = target.with_name(f".{name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return name


def _describe(onsets: tuple[float, ...], pitch: float) -> str:
    n = len(onsets)
    beeps = f"{n} beep{'s' if n != 1 else ''} of {pitch:g} Hz ({_BEEP_S:g} s each, -6 dBFS)"
    return (
        f"{DURATION_S:g} s still room picture + {beeps} at {', '.join(f'{t:g}' for t in onsets)} s"
    )


def _render(out_dir: Path) -> list[dict]:
    from thud_dataset.media import read_video_packets

    rows: list[dict] = []
    muted = np.zeros((1, round(DURATION_S * SAMPLE_RATE)), np.float32)
    base = out_dir / f".room-{os.getpid()}.mp4"
    try:
        for pair, room, pitch, onsets in _PRESENCE:
            _still_video(room, base)
            with read_video_packets(base) as video:
                loud = _member(video, beep_track(onsets, pitch), out_dir)
                quiet = _member(video, muted, out_dir)
            rows.append(
                dict(
                    canary_id=f"{pair}/beeps",
                    pair=pair,
                    kind="presence",
                    variant="beeps",
                    file=loud,
                    prompt=PRESENCE_PROMPT,
                    expected="synced",
                    description=_describe(onsets, pitch),
                )
            )
            rows.append(
                dict(
                    canary_id=f"{pair}/muted",
                    pair=pair,
                    kind="presence",
                    variant="muted",
                    file=quiet,
                    prompt=PRESENCE_PROMPT,
                    expected="silent",
                    description=f"{DURATION_S:g} s still room picture + a silent audio track "
                    "(the same clip as the beeps, audio muted)",
                )
            )
        pair, room, pitch, few, many = _COUNT
        _still_video(room, base)
        with read_video_packets(base) as video:
            for onsets in (few, many):
                n = len(onsets)
                rows.append(
                    dict(
                        canary_id=f"{pair}/{n}",
                        pair=pair,
                        kind="count",
                        variant=f"{n} beep{'s' if n != 1 else ''}",
                        file=_member(video, beep_track(onsets, pitch), out_dir),
                        prompt=COUNT_PROMPT,
                        expected=n,
                        description=_describe(onsets, pitch),
                    )
                )
    finally:
        base.unlink(missing_ok=True)
    return rows


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_canaries(work_dir: str | Path | None = None) -> list[Canary]:
    """The canary clips, rendered once into ``work_dir/<CANARY_VERSION>`` and reused.

    A ``manifest.json`` there lists every clip with its SHA-256; a missing or changed file
    makes the whole set render again (rendering is deterministic: same bytes every time).

    Parameters
    ----------
    work_dir
        Cache folder; default :func:`default_work_dir`.
    """
    root = Path(work_dir) if work_dir is not None else default_work_dir()
    out_dir = root / CANARY_VERSION
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = out_dir / "manifest.json"
    rows: list[dict] | None = None
    if manifest.is_file():
        try:
            cached = json.loads(manifest.read_text())
            if all(
                (out_dir / r["file"]).is_file() and _sha256(out_dir / r["file"]) == r["sha256"]
                for r in cached
            ):
                rows = cached
        except (json.JSONDecodeError, KeyError, TypeError):
            rows = None  # a damaged cache is rebuilt, not trusted
    if rows is None:
        rows = _render(out_dir)
        for r in rows:
            r["sha256"] = _sha256(out_dir / r["file"])
        tmp = manifest.with_name(f".manifest.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(rows, indent=1))
        tmp.replace(manifest)
    return [
        Canary(
            canary_id=r["canary_id"],
            pair=r["pair"],
            kind=r["kind"],
            variant=r["variant"],
            path=str(out_dir / r["file"]),
            prompt=r["prompt"],
            expected=r["expected"],
            description=r["description"],
        )
        for r in rows
    ]
