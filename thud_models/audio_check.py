"""The audio-path check: does the video's sound reach the model at all?

A model that never receives the audio (a server that ignores ``use_audio_in_video``, a
harness that sends decoded frames only) fails Thud exactly the way a model that guesses the
sound from the picture does. Before blaming the model, :func:`check_audio` asks it the
canary questions of :mod:`thud_models.canaries` — pairs of clips with the same still picture
that differ only in their audio (beeps vs muted; one beep vs three) — and compares the
answers within each pair.

Each pair ends in one of five outcomes:

* ``discriminates`` — the answers moved with the sound, the right way (beeps -> heard and
  muted -> silent; more beeps -> a larger count);
* ``same`` — the same answer for both members (the same label or count, or word for word
  the same text even if unparseable): nothing the model got told them apart;
* ``reversed`` — the answers differ, the wrong way round;
* ``refused`` — an answer declines to discuss the sound ("I cannot process audio"), as
  :func:`thud_metrics.parsing.parse_answer` reads it (``refused``): a model that says it
  has no audio is evidence that the audio does not reach it;
* ``unreadable`` — an answer failed (request error) or could not be parsed.

The verdict over ``n`` pairs, with ``ok``/``same``/``reversed``/``refused`` counting outcomes
and ``deaf = same + refused``:

* ``reaches`` — ``ok >= 2``, ``ok > deaf + reversed`` (most readable pairs moved the right
  way) and at least half of all pairs were readable;
* ``does_not_reach`` — ``ok == 0``, ``reversed == 0``, ``deaf >= 2`` and ``deaf >= n / 2``:
  the answer never moved when only the sound changed (or the model said it cannot hear),
  although nothing but the sound can answer a canary. Either the audio is lost on the way,
  or the model ignores it even when it is the only evidence; in both cases this setup's
  Thud scores say nothing about listening;
* ``cannot_tell`` — anything else (most answers unreadable, requests failing, mixed or
  reversed answers). The reason says which.

The canaries come with their evidence: what each clip holds, the expected answer, the raw
answer and how it was read, so a reader can check the verdict by eye. They are asked as
``thud run`` asks probes: with the answerer's ``concurrency`` requests in flight. A model
that cannot be reached at all (:class:`~thud_models.base.AnswererUnavailable`) ends the
check with that error rather than eight failed canaries.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .answering import Query, answer_all
from .base import Answerer
from .canaries import CANARY_VERSION, Canary, build_canaries

log = logging.getLogger(__name__)

__all__ = [
    "OUTCOMES",
    "VERDICTS",
    "AudioCheckResult",
    "AudioModeReport",
    "check_audio",
    "decide",
    "parse_count",
    "recommend_audio_mode",
]

VERDICTS: tuple[str, ...] = ("reaches", "does_not_reach", "cannot_tell")
#: what one canary pair can show (module docstring)
OUTCOMES: tuple[str, ...] = ("discriminates", "same", "reversed", "refused", "unreadable")
_VERDICT_TEXT = {
    "reaches": "audio reaches the model",
    "does_not_reach": "audio does NOT reach the model",
    "cannot_tell": "cannot tell whether audio reaches the model",
}

_NUMBER_WORDS = {
    "zero": 0, "none": 0, "no": 0, "one": 1, "a": 1, "an": 1, "single": 1, "two": 2,
    "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
_NUM = r"\d+|zero|none|one|two|three|four|five|six|seven|eight|nine|ten"
_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
# "three beeps", "3 short beeps", "a single beep", "no beeps"
_COUNT_BEEPS = re.compile(rf"\b({_NUM}|no|an?|single)\s+(?:[a-z-]+\s+)?beeps?\b", re.I)
# an answer that starts with the number: "3", "Three.", "Answer: 2" (not "50 ms", "1.2 s")
_COUNT_LEAD = re.compile(
    rf"^\W*(?:(?:the\s+)?(?:final\s+)?answer(?:\s+is)?\s*[:：]?\s*)?({_NUM})\b"
    r"(?![.,]\d)(?!\s*(?:s|ms|sec|seconds?|hz|khz|db|dbfs|%)\b)",
    re.I,
)
_COUNT_NONE = re.compile(r"\b(?:silen(?:t|ce)|no sound|nothing|can ?not hear|don'?t hear)\b", re.I)


def parse_count(answer: str | None) -> int | None:
    """The number of beeps an answer states, or ``None`` when it states none.

    Read in order: a number before "beep(s)"; an answer that starts with a number (not a
    measurement such as "50 ms"); a statement of silence (0).

    >>> [parse_count(a) for a in ["3", "I hear three short beeps.", "There is a single beep",
    ...     "Answer: 2", "No beeps, the audio is silent.", "Yes, a sound (50 ms at -9 dBFS)", None]]
    [3, 3, 1, 2, 0, None, None]
    """
    if not answer:
        return None
    text = _THINK.sub(" ", answer).strip()
    for pattern in (_COUNT_BEEPS, _COUNT_LEAD):
        m = pattern.search(text)
        if m:
            word = m.group(1).lower()
            return int(word) if word.isdigit() else _NUMBER_WORDS[word]
    return 0 if _COUNT_NONE.search(text) else None


#: what :func:`thud_metrics.parsing.parse_answer` reads an answer that declines as
REFUSED = "refused"


def _parse_presence(answer: str | None) -> str:
    from thud_metrics.parsing import parse_answer

    return parse_answer(answer, dimension="existence")


def _refuses(answer: str | None) -> bool:
    """The answer declines to discuss the sound (e.g. "I cannot listen to audio")."""
    return bool(answer) and _parse_presence(answer) == REFUSED


@dataclass
class AudioCheckResult:
    """The outcome of :func:`check_audio`.

    Attributes
    ----------
    verdict
        ``"reaches"``, ``"does_not_reach"`` or ``"cannot_tell"``.
    reason
        One sentence saying why, with the counts behind it.
    evidence
        One dict per canary clip: ``canary_id``, ``pair``, ``variant``, ``sent`` (what the
        clip holds), ``expected``, ``answer`` (raw), ``parsed``, ``error``.
    pairs
        One dict per pair: ``pair``, ``kind``, ``outcome``, ``answers`` (parsed, by
        variant), ``identical_text`` (both raw answers the same string).
    answerer, audio_mode
        Who was checked, and how the sound was sent (``None`` when not an HTTP adapter).
    """

    verdict: str
    reason: str
    evidence: list[dict[str, Any]]
    pairs: list[dict[str, Any]]
    answerer: str
    audio_mode: str | None = None
    canary_version: str = CANARY_VERSION
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def reaches(self) -> bool:
        return self.verdict == "reaches"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what ``thud run`` stores as ``_meta["audio_check"]``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AudioCheckResult:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def summary(self) -> str:
        """A few lines for a terminal: the verdict, the reason, then each pair's answers."""
        how = f" (audio_mode={self.audio_mode})" if self.audio_mode else ""
        lines = [
            f"audio-path check of {self.answerer}{how}: {_VERDICT_TEXT[self.verdict]}",
            f"  {self.reason}",
        ]
        by_pair: dict[str, list[dict[str, Any]]] = {}
        for ev in self.evidence:
            by_pair.setdefault(ev["pair"], []).append(ev)
        for p in self.pairs:
            parts = []
            for ev in by_pair.get(p["pair"], []):
                got = (
                    f"error: {ev['error']}"
                    if ev["error"]
                    else f"{_short(ev['answer'])!r} -> {ev['parsed']}"
                )
                parts.append(f"{ev['variant']}: {got} (expected {ev['expected']})")
            lines.append(f"  [{p['outcome']}] {p['pair']}: " + "; ".join(parts))
        if self.audio_mode and self.verdict != "reaches":
            lines.append(
                "  next: `thud check-audio --all-modes` tries the other ways of sending the audio "
                "(docs/harnesses.md)"
            )
        return "\n".join(lines)


def _short(text: str | None, limit: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pair_outcome(kind: str, members: dict[str, dict[str, Any]]) -> str:
    if any(m["error"] for m in members.values()):
        return "unreadable"
    texts = {" ".join((m["answer"] or "").split()) for m in members.values()}
    if len(texts) == 1 and "" not in texts:
        # word for word the same answer to different sounds: whatever it says, the sound
        # did not move it (an unparseable "I cannot hear audio" twice counts here too)
        return "same"
    if any(m["parsed"] == REFUSED for m in members.values()):
        return "refused"
    if any(m["parsed"] in (None, "unknown") for m in members.values()):
        return "unreadable"
    if kind == "presence":
        heard, muted = members["beeps"]["parsed"], members["muted"]["parsed"]
        if heard == "synced" and muted == "silent":
            return "discriminates"
        return "same" if heard == muted else "reversed"
    few, many = (members[v]["parsed"] for v in sorted(members, key=lambda v: int(v.split()[0])))
    if many > few:
        return "discriminates"
    return "same" if many == few else "reversed"


def decide(outcomes: Sequence[str]) -> tuple[str, str]:
    """The verdict and its reason from the pairs' outcomes (rules in the module docstring).

    >>> decide(["discriminates"] * 3 + ["unreadable"])[0]
    'reaches'
    >>> decide(["same"] * 4)[0]
    'does_not_reach'
    >>> decide(["discriminates", "same", "same", "same"])[0]
    'cannot_tell'
    >>> decide(["refused", "refused", "same", "unreadable"])[0]
    'does_not_reach'
    """
    n = len(outcomes)
    ok, same = outcomes.count("discriminates"), outcomes.count("same")
    rev, unread = outcomes.count("reversed"), outcomes.count("unreadable")
    refused = outcomes.count("refused")
    deaf = same + refused
    readable = ok + deaf + rev
    tally = (
        f"{ok} moved with the sound, {same} did not, {rev} moved the wrong way, "
        + (f"{refused} refused to discuss the sound, " if refused else "")
        + f"{unread} unreadable"
    )
    if n == 0:
        return "cannot_tell", "no canary pair was asked"
    if ok >= 2 and ok > deaf + rev and 2 * readable >= n:
        return "reaches", (
            f"the answers changed the right way when only the audio changed on {ok} of {n} "
            f"canary pairs ({tally})"
        )
    if ok == 0 and rev == 0 and deaf >= 2 and 2 * deaf >= n:
        if refused and not same:
            what = f"the model said it cannot hear the audio on {refused} of {n} canary pairs"
        else:
            what = (
                f"the answer stayed the same (or declined) when only the audio changed on {deaf} "
                f"of {n} canary pairs"
            )
        return "does_not_reach", (
            f"{what}, although only the sound can answer them: the audio is lost on the way or "
            f"ignored by the model ({tally})"
        )
    if 2 * unread > n:
        why = "most canary answers failed or could not be read"
    elif rev:
        why = "some answers moved against the sound"
    else:
        why = "the answers are mixed"
    return "cannot_tell", f"{why} ({tally})"


def check_audio(
    answerer: Answerer,
    *,
    work_dir: str | Path | None = None,
    canaries: Iterable[Canary] | None = None,
    progress: bool = False,
    concurrency: int | None = None,
) -> AudioCheckResult:
    """Ask ``answerer`` the canary probes and tell whether the audio reaches it.

    Parameters
    ----------
    answerer
        Anything with ``name`` and ``answer(video_path, prompt) -> str``.
    work_dir
        Where the canary clips are cached (default ``$THUD_CACHE/canaries``).
    canaries
        Use these instead of the built-in set (they must come in pairs: presence pairs with
        variants ``beeps``/``muted``, count pairs whose variants start with the count).
    progress
        Log one line per canary.
    concurrency
        Canaries asked at once (default: the answerer's ``concurrency``, else 1).

    Returns
    -------
    AudioCheckResult
        A request that fails is recorded (``error``) and counts as unreadable; the check
        itself does not raise for it.

    Raises
    ------
    AnswererUnavailable
        The model cannot be reached at all (connection refused, unknown host).
    """

    items = list(canaries) if canaries is not None else build_canaries(work_dir)
    queries = [Query(i, c.prompt, c.path) for i, c in enumerate(items)]
    answers: dict[int, tuple[str | None, str | None]] = {}
    for done in answer_all(answerer, queries, concurrency=concurrency):
        answers[done.query.key] = (done.answer, done.error)
        if progress:
            c = items[done.query.key]
            got = done.error or f"{_short(done.answer)!r}"
            log.info("  canary %d/%d %s: %s (%.1f s)", len(answers), len(items), c.canary_id, got, done.seconds)
    evidence: list[dict[str, Any]] = []
    for i, c in enumerate(items):  # in canary order, however the answers came back
        answer, error = answers[i]
        if error:
            parsed: str | int | None = None
        elif c.kind == "presence":
            parsed = _parse_presence(answer)
        else:
            parsed = REFUSED if _refuses(answer) else parse_count(answer)
        evidence.append(
            {
                "canary_id": c.canary_id,
                "pair": c.pair,
                "kind": c.kind,
                "variant": c.variant,
                "sent": c.description,
                "file": Path(c.path).name,
                "prompt": c.prompt,
                "expected": c.expected,
                "answer": answer,
                "parsed": parsed,
                "error": error,
            }
        )
    pairs: list[dict[str, Any]] = []
    grouped: dict[str, dict[str, dict[str, Any]]] = {}
    for ev in evidence:
        grouped.setdefault(ev["pair"], {})[ev["variant"]] = ev
    for name, members in grouped.items():
        kind = next(iter(members.values()))["kind"]
        if len(members) != 2:
            raise ValueError(f"canary pair {name!r} has {len(members)} members, expected 2")
        texts = [m["answer"] for m in members.values()]
        pairs.append(
            {
                "pair": name,
                "kind": kind,
                "outcome": _pair_outcome(kind, members),
                "answers": {v: m["parsed"] for v, m in members.items()},
                "identical_text": texts[0] is not None and texts[0] == texts[1],
            }
        )
    outcomes = [p["outcome"] for p in pairs]
    verdict, reason = decide(outcomes)
    errors = [ev["error"] for ev in evidence if ev["error"]]
    if errors and verdict == "cannot_tell":
        reason += f"; {len(errors)} request(s) failed, first: {errors[0]}"
    return AudioCheckResult(
        verdict=verdict,
        reason=reason,
        evidence=evidence,
        pairs=pairs,
        answerer=getattr(answerer, "name", type(answerer).__name__),
        audio_mode=getattr(answerer, "audio_mode", None),
        counts={o: outcomes.count(o) for o in OUTCOMES},
    )


@dataclass
class AudioModeReport:
    """Which way of sending the audio works on one server (:func:`recommend_audio_mode`)."""

    base_url: str
    model: str
    recommended: str | None
    results: dict[str, AudioCheckResult]

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "model": self.model,
            "recommended": self.recommended,
            "results": {m: r.to_dict() for m, r in self.results.items()},
        }

    def summary(self) -> str:
        lines = [f"audio modes for {self.model} at {self.base_url}:"]
        for mode, r in self.results.items():
            lines.append(f"  {mode:<13} {_VERDICT_TEXT[r.verdict]} — {r.reason}")
        if self.recommended:
            lines.append(f"use: --audio-mode {self.recommended}")
        else:
            lines.append(
                "no mode got the audio to the model: Thud scores from this server would measure "
                "a deaf model (see docs/harnesses.md)"
            )
        return "\n".join(lines)


def recommend_audio_mode(
    base_url: str,
    model: str,
    *,
    api_key: str | None = None,
    modes: Sequence[str] | None = None,
    work_dir: str | Path | None = None,
    progress: bool = False,
    **answerer_kwargs: Any,
) -> AudioModeReport:
    """Run :func:`check_audio` with each audio mode of :class:`OpenAICompatAnswerer`.

    The recommendation is the first mode, in the order of ``modes`` (default
    :data:`~thud_models.adapters.openai_compat.AUDIO_MODES`: the whole video first, since the
    model then hears exactly what the file holds), whose verdict is ``reaches``; ``None``
    if none does. ``answerer_kwargs`` go to the answerer (``timeout``, ``num_frames``...).
    """

    from .adapters.openai_compat import AUDIO_MODES, OpenAICompatAnswerer

    modes = tuple(modes or AUDIO_MODES)
    canaries = build_canaries(work_dir)
    results: dict[str, AudioCheckResult] = {}
    for mode in modes:
        if progress:
            log.info("audio mode %s:", mode)
        answerer = OpenAICompatAnswerer(
            model, base_url, api_key, audio_mode=mode, **answerer_kwargs
        )
        results[mode] = check_audio(answerer, canaries=canaries, progress=progress)
    recommended = next((m for m in modes if results[m].verdict == "reaches"), None)
    return AudioModeReport(base_url=base_url, model=model, recommended=recommended, results=results)
