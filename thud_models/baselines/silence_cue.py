"""The silence-cue baseline: answers from where the audio holds exact digital silence.

A shift ``a'(t) = a(t - tau)`` leaves a gap at one end of the clip, and a swap is silent
wherever the moved donor does not reach. With the paper's gap fill (digital silence, Thud's
default for probes) those gaps are runs of *exact* zeros, which no natural recording holds
for long. Where such a run sits gives the edit away without timing anything: zeros at the
start mean the sound was pushed later (``delayed``), zeros at the end that it was pulled
earlier (``early``), zeros anywhere mean the sound was edited (a swap), all zeros mean
``silent``.

:class:`SilenceCueBaseline` (``--model silence_cue``) reads exactly that and nothing else:
the decoded samples that are exactly 0.0 in every channel, in runs of at least
``min_run_s`` (:func:`zero_runs`). It never looks at the picture, at levels, onsets or the
event's time. So its scores measure how much a model could gain from the cue alone: on
probes built with ``--gap-fill silence`` it tells every shift's direction, on probes built
with ``--gap-fill room_tone`` the cue is gone and it is at chance (``docs/baselines.md``).
A model that beats the prior only where this baseline does may be reading the silence,
not listening to the event.

Rules, per dimension of the prompt (:func:`~thud_models.baselines.prompt_options.read_prompt`):

* the whole track is zeros (or there is no audio stream) → ``silent``;
* ``sync``: a run at the start and none at the end → ``delayed``; at the end only →
  ``early``; at both ends → the longer one decides; none → ``synced``;
* ``existence``: not all zeros → ``synced`` (a sound is there);
* ``consistency``: any run → ``mismatched``; none → ``synced``;
* a "how many ...?" question (the audio-path check's beep count) → the number of sound
  stretches between runs of zeros.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .prompt_options import read_prompt

__all__ = ["SilenceCue", "SilenceCueBaseline", "SilenceCueSettings", "read_silence", "zero_runs"]

_HOW_MANY = re.compile(r"\bhow many\b", re.I)


@dataclass(frozen=True)
class SilenceCueSettings:
    """Thresholds of the silence-cue baseline.

    Attributes
    ----------
    min_run_s : a run of exact zeros is a cue when at least this long (s). Natural sound,
        even decoded from AAC, holds no run of exact zeros longer than a few samples; the
        default 50 ms is far above that and far below the shortest default offset (0.3 s).
    """

    min_run_s: float = 0.05

    def __post_init__(self) -> None:
        if not self.min_run_s > 0:
            raise ValueError(f"min_run_s must be > 0 seconds, got {self.min_run_s!r}")


def zero_runs(samples: np.ndarray, sample_rate: int, min_run_s: float = 0.05) -> list[tuple[int, int]]:
    """Runs of samples that are exactly 0.0 in every channel, at least ``min_run_s`` long.

    Parameters
    ----------
    samples : ndarray (channels, n) or (n,)
    sample_rate : Hz
    min_run_s : shortest run kept, seconds

    Returns
    -------
    list of ``(start, end)`` sample indices (``end`` exclusive), in order; ``[]`` for
    empty input.

    >>> x = np.array([0, 0, 0, 1, 0, 2, 0, 0], dtype=np.float32)
    >>> zero_runs(x, sample_rate=1, min_run_s=2)
    [(0, 3), (6, 8)]
    """
    x = np.atleast_2d(np.asarray(samples))
    if x.shape[-1] == 0:
        return []
    zero = np.all(x == 0, axis=0).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], zero, [0]])))
    starts, ends = edges[0::2], edges[1::2]
    shortest = max(1, int(round(min_run_s * sample_rate)))
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True) if e - s >= shortest]


@dataclass(frozen=True)
class SilenceCue:
    """Where a track holds exact digital silence (:func:`read_silence`); times in seconds
    from the first video frame.

    Attributes
    ----------
    duration_s : length of the decoded track (0 without an audio stream)
    runs_s : every run of exact zeros at least ``min_run_s`` long, as ``(start, end)``
    has_audio : the file has an audio stream
    """

    duration_s: float
    runs_s: tuple[tuple[float, float], ...]
    has_audio: bool = True

    @property
    def silent(self) -> bool:
        """No audio stream, or the whole track is zeros."""
        if not self.has_audio or self.duration_s == 0:
            return True
        return len(self.runs_s) == 1 and self.runs_s[0] == (0.0, self.duration_s)

    @property
    def leading_s(self) -> float:
        """Length of the run that opens the track (0 when it does not open with one)."""
        return self.runs_s[0][1] if self.runs_s and self.runs_s[0][0] == 0 else 0.0

    @property
    def trailing_s(self) -> float:
        """Length of the run that closes the track (0 when it does not close with one)."""
        if self.runs_s and self.runs_s[-1][1] == self.duration_s:
            return self.duration_s - self.runs_s[-1][0]
        return 0.0

    @property
    def sound_stretches(self) -> int:
        """How many stretches of sound the runs of zeros separate."""
        if self.silent:
            return 0
        inner = len(self.runs_s) - (self.leading_s > 0) - (self.trailing_s > 0)
        return inner + 1


def read_silence(video_path: str | Path, settings: SilenceCueSettings | None = None) -> SilenceCue:
    """The runs of exact digital silence in a video's audio, decoded as a model's pipeline
    decodes it (:func:`thud_dataset.media.decode_audio`: the file's own rate, sample 0 at
    the first video frame). A file without an audio stream reads as silent."""
    from thud_dataset.media import decode_audio, probe

    settings = settings or SilenceCueSettings()
    info = probe(video_path)
    if info.audio is None:
        return SilenceCue(0.0, (), has_audio=False)
    audio = decode_audio(video_path, info)
    sr, n = audio.sample_rate, audio.samples.shape[1]
    runs = zero_runs(audio.samples, sr, settings.min_run_s)
    # ends as exact fractions of the track: a run that closes it ends at duration_s
    return SilenceCue(n / sr, tuple((s / sr, e / sr) for s, e in runs))


@functools.lru_cache(maxsize=64)
def _read_cached(path: str, size: int, mtime_ns: int, settings: SilenceCueSettings) -> SilenceCue:
    return read_silence(path, settings)  # size and mtime key the file's version


class SilenceCueBaseline:
    """Answers a probe from where its audio is exact digital silence (module docstring).

    >>> from thud_dataset.prompts import make_prompt
    >>> cue = SilenceCue(4.0, ((0.0, 0.48),))
    >>> SilenceCueBaseline().decide(cue, "sync")[0], SilenceCueBaseline().decide(cue, "consistency")[0]
    ('delayed', 'mismatched')
    >>> SilenceCueBaseline().decide(SilenceCue(4.0, ()), "sync")[0]
    'synced'
    """

    name = "silence_cue"

    def __init__(self, settings: SilenceCueSettings | None = None) -> None:
        self.settings = settings or SilenceCueSettings()

    def __repr__(self) -> str:
        return f"SilenceCueBaseline({self.settings!r})"

    def read(self, video_path: str | Path) -> SilenceCue:
        """:func:`read_silence` with these settings, cached per file version (a clip's
        original is asked three questions)."""
        stat = Path(video_path).stat()
        return _read_cached(str(video_path), stat.st_size, stat.st_mtime_ns, self.settings)

    def answer(self, video_path: str, prompt: str) -> str:
        return self.answer_cue(self.read(video_path), prompt)

    def answer_cue(self, cue: SilenceCue, prompt: str) -> str:
        """The answer to ``prompt`` from ``cue``: the option letter and one sentence."""
        if _HOW_MANY.search(prompt):
            n = cue.sound_stretches
            return f"{n}. Stretches of sound between runs of exact zeros: {n}."
        options = read_prompt(prompt)
        label, sentence = self.decide(cue, options.dimension)
        letter = options.letter(label)
        return f"{letter}. {sentence}" if letter else sentence

    def decide(self, cue: SilenceCue, dimension: str | None) -> tuple[str, str]:
        """The label for ``dimension`` from the runs of zeros alone, and a sentence that says
        which run decided it (worded with that label's vocabulary only)."""
        if cue.silent:
            why = "the file has no audio stream" if not cue.has_audio else "every sample is exactly zero"
            return "silent", f"No sound can be heard: the audio is silent ({why})."
        if dimension == "existence":
            return "synced", "Yes, a sound can be heard: the track is not all zeros."
        if dimension == "consistency":
            if cue.runs_s:
                total = sum(e - s for s, e in cue.runs_s)
                return "mismatched", (
                    f"No: {total:.2f} s of the track are exact zeros, padding an edited sound, so the "
                    "sound comes from a different source."
                )
            return "synced", "Yes: the track holds no run of exact zeros, nothing suggests an edit."
        lead, trail = cue.leading_s, cue.trailing_s
        if lead > trail:
            return "delayed", f"The track opens with {lead:.2f} s of exact zeros: the audio starts late, it is delayed."
        if trail > lead:
            return "early", f"The track closes with {trail:.2f} s of exact zeros: the audio ran ahead, it is early."
        return "synced", "The track neither opens nor closes with exact zeros: taken as synchronized."
