"""Chosen / rejected responses for the ``preferences`` config (paper section 2.2).

For every probe of a *train* clip, the chosen response verifies the audio: it says what is
heard, when, and how that relates to what is seen. The rejected response is the visually
plausible shortcut the training should suppress:

=============  ======================  ==============================================
condition      chosen                  rejected
=============  ======================  ==============================================
shift          the true direction      claims sync, or the wrong direction
mute           the audio is silent     hallucinates the expected sound
swap           names the foreign sound accepts the foreign sound as matching
original       verifies the match      a false alarm (shift / silence / mismatch),
                                       so the model does not learn to reject everything
=============  ======================  ==============================================

Each response ends with a verdict naming the prompt's letter and the label (``Answer: C
(delayed)``), and its body uses only the vocabulary of that one label, so a rule parser
reads it unambiguously. Templates are paraphrased; which one is used, and which shortcut a
rejected response takes, is a deterministic function of ``(seed, probe_id)``.

Pure Python: imports only the vocabulary, so the builder can call it on a machine without
torch.
"""

from __future__ import annotations

import hashlib
import random

from thud_dataset.vocab import CHOICES, gold_label

__all__ = ["preference_texts", "preference_labels", "preference_row", "TEMPLATES"]

#: body templates per label and dimension. Fields: ``v`` visual event, ``a`` the sound the
#: response claims to hear, ``e`` the sound the picture implies, ``vt`` when it is seen,
#: ``ht`` when the sound is heard, ``lag`` their distance. Event texts go in parentheses or
#: after a colon so both noun phrases ("the crash") and clauses ("a ball hits the floor") read.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "delayed": (
        "The visual event ({v}) is seen at {vt} s, but the sound ({a}) is heard at {ht} s: "
        "it comes {lag} s after the picture, so the audio is delayed.",
        "Checking the audio track itself: the sound ({a}) arrives at {ht} s, while the "
        "picture shows it ({v}) at {vt} s. The audio lags the video by {lag} s; it is delayed.",
        "Seen at {vt} s: {v}. Heard at {ht} s: {a}. The sound trails the image by {lag} s, "
        "which means the audio is delayed.",
    ),
    "early": (
        "The visual event ({v}) is seen at {vt} s, but the sound ({a}) is already heard at "
        "{ht} s: it comes {lag} s before the picture, so the audio is early.",
        "Checking the audio track itself: the sound ({a}) arrives at {ht} s, while the "
        "picture shows it ({v}) only at {vt} s. The audio leads the video by {lag} s; it is "
        "early.",
        "Heard at {ht} s: {a}. Seen at {vt} s: {v}. The sound precedes the image by {lag} s, "
        "which means the audio is early.",
    ),
    "synced:sync": (
        "The visual event ({v}) is seen at {vt} s and the sound ({a}) is heard at {ht} s, "
        "at the same moment: the audio is synced.",
        "The sound ({a}) lands together with what is seen ({v}) at {ht} s. Audio and video "
        "are synced.",
        "Seen at {vt} s: {v}. Heard at {ht} s: {a}. Picture and sound coincide, so the audio "
        "is synced.",
    ),
    "synced:existence": (
        "The sound is there: {a}, heard at {ht} s, together with the visual event ({v}) at "
        "{vt} s.",
        "The audio track carries the expected sound ({a}); it is heard at {ht} s, when the "
        "picture shows it ({v}).",
        "Heard at {ht} s: {a}, together with what is seen at {vt} s ({v}). The sound is "
        "present.",
    ),
    "synced:consistency": (
        "The sound heard at {ht} s ({a}) is what the visual event ({v}) should sound like: "
        "the audio is consistent with the picture.",
        "What is seen ({v}) and what is heard ({a}, at {ht} s) belong to the same source; the "
        "sound fits the picture.",
        "Heard at {ht} s: {a}. Seen at {vt} s: {v}. The sound is the one this event makes, so "
        "audio and picture agree.",
    ),
    "silent": (
        "The visual event ({v}) is visible at {vt} s, but nothing is heard: there is no "
        "sound ({e}) anywhere, and the audio is silent.",
        "The picture suggests a sound ({e}) at {vt} s, yet the audio track contains no sound "
        "at all. The clip is silent.",
        "Listening for the sound ({e}) where the event ({v}) happens at {vt} s, I hear "
        "nothing: the audio is silent.",
    ),
    "mismatched": (
        "The visual event ({v}) is seen at {vt} s, but the sound heard there is {a}, not "
        "{e}: the audio comes from a different source, so it is mismatched.",
        "The audio does not belong to this video: instead of {e}, which the event ({v}) "
        "would produce, I hear {a}. Picture and sound are mismatched.",
        "Heard at {ht} s: {a}. That is not the sound of what is seen ({v}), which would be "
        "{e}; the audio is mismatched.",
    ),
}

#: how a response states its verdict; ``{letter}`` is the prompt's option for ``{label}``
VERDICTS: tuple[str, ...] = (
    "Answer: {letter} ({label}).",
    "So the answer is {letter}: {label}.",
    "My answer: {letter} ({label}).",
)

#: offsets a false shift alarm on an original clip invents (seconds)
_FALSE_OFFSETS = (0.3, 0.5, 0.8, 1.0)

_OPPOSITE = {"early": "delayed", "delayed": "early"}


def _rng(seed: int, probe_id: str, salt: str) -> random.Random:
    # hashlib, not hash(): str hashing is salted per process, this must be reproducible
    digest = hashlib.sha256(f"{seed}\x00{probe_id}\x00{salt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _fmt(t: float) -> str:
    """Seconds with at most two decimals and no trailing zeros: ``2.1``, ``0.25``, ``3``."""
    text = f"{abs(t):.2f}".rstrip("0").rstrip(".") if t else "0"
    return ("-" if t < 0 and text != "0" else "") + text


def _require(row: dict, *names: str) -> None:
    missing = [n for n in names if row.get(n) is None]
    if missing:
        where = row.get("probe_id", "<no probe_id>")
        raise ValueError(f"probe {where}: preference texts need {', '.join(missing)}")


def _plan(row: dict, seed: int) -> tuple[str, str, float]:
    """(chosen label, rejected label, the displacement a rejected shift claim states)."""
    _require(row, "condition", "dimension")
    condition, dimension = row["condition"], row["dimension"]
    chosen = gold_label(condition, float(row.get("offset_s") or 0.0))
    pick = _rng(seed, str(row.get("probe_id", "")), "rejected")
    vt = float(row.get("visual_time") or 0.0)
    lag = 0.0
    if condition == "shift":
        lag = abs(float(row["offset_s"]))
        rejected = pick.choice(("synced", _OPPOSITE[chosen]))
        if rejected == "early" and vt - lag < 0:
            rejected = "synced"  # "heard before t=0" is not a plausible claim
    elif condition in ("mute", "swap"):
        rejected = "synced"
    elif dimension == "sync":
        lag = pick.choice(_FALSE_OFFSETS)
        rejected = pick.choice(("early", "delayed")) if vt - lag >= 0 else "delayed"
    elif dimension == "existence":
        rejected = "silent"
    elif dimension == "consistency":
        rejected = "mismatched"
    else:
        raise ValueError(f"probe {row.get('probe_id')}: unknown dimension {dimension!r}")
    return chosen, rejected, lag


def preference_labels(row: dict, seed: int) -> tuple[str, str]:
    """The labels the chosen and rejected responses of ``row`` express.

    Chosen is always the gold label. Rejected is the shortcut: on shift, ``synced`` or the
    opposite direction (seeded); on mute and swap, ``synced`` (the expected sound is
    "heard", the foreign one accepted); on an original, a false alarm of the probe's
    dimension (``early``/``delayed`` for sync, ``silent``, ``mismatched``).
    """
    chosen, rejected, _ = _plan(row, seed)
    return chosen, rejected


def _render(row: dict, label: str, times: dict, rng: random.Random) -> str:
    dimension = row["dimension"]
    key = f"synced:{dimension}" if label == "synced" else label
    choices = list(row.get("choices") or CHOICES[dimension])
    if label not in choices:
        raise ValueError(
            f"probe {row.get('probe_id')}: label {label!r} is not an option {choices} of "
            f"dimension {dimension!r}"
        )
    body = rng.choice(TEMPLATES[key]).format(
        v=row["visual_event"].strip().rstrip("."),
        e=row["audio_event"].strip().rstrip("."),
        a=times["a"],
        vt=_fmt(times["vt"]),
        ht=_fmt(times["ht"]),
        lag=_fmt(abs(times["ht"] - times["vt"])),
    )
    verdict = rng.choice(VERDICTS).format(letter="ABC"[choices.index(label)], label=label)
    return f"{body[0].upper()}{body[1:]} {verdict}"


def preference_texts(row: dict, seed: int) -> dict[str, str]:
    """``{"chosen", "rejected"}`` responses for one probe row (columns of the probes config).

    Uses ``visual_event``, ``visual_time``, ``audio_event``, ``audio_time``,
    ``edited_audio_time`` (where the sound really is after the edit; None for mute),
    ``offset_s``, ``condition``, ``dimension``, ``choices``, ``probe_id`` and, for swap,
    ``donor_audio_event`` (the foreign sound; "a different sound" when absent).
    Deterministic in ``(seed, probe_id)``.
    """
    _require(row, "condition", "dimension", "visual_event", "audio_event", "visual_time")
    chosen_label, rejected_label, lag = _plan(row, seed)
    condition = row["condition"]
    vt = float(row["visual_time"])
    expected = row["audio_event"].strip().rstrip(".")
    edited = row.get("edited_audio_time")
    if edited is None and condition != "mute":
        _require(row, "audio_time")
        edited = float(row["audio_time"]) + (
            float(row.get("offset_s") or 0.0) if condition == "shift" else 0.0
        )
    donor = (row.get("donor_audio_event") or "").strip().rstrip(".") or "a different sound"
    pid = str(row.get("probe_id", ""))

    # chosen: what is really in the audio
    truth = {"a": donor if condition == "swap" else expected, "vt": vt}
    truth["ht"] = vt if edited is None else float(edited)
    chosen = _render(row, chosen_label, truth, _rng(seed, pid, "chosen"))

    # rejected: what the picture suggests. The shortcut "hears" the expected sound at the
    # visual event, or invents a displacement of it.
    rng = _rng(seed, pid, "rejected-text")
    claim = {"a": expected, "vt": vt, "ht": vt}
    if rejected_label in ("early", "delayed"):
        claim["ht"] = vt + lag if rejected_label == "delayed" else vt - lag
    elif condition == "swap" and rng.random() < 0.5:
        claim["a"] = donor  # accepts the foreign sound by name
    elif rejected_label == "mismatched":
        claim["a"] = "a sound from some other source"
    rejected = _render(row, rejected_label, claim, rng)
    return {"chosen": chosen, "rejected": rejected}


#: inputs of :func:`preference_texts` that are not columns of the preferences config
_DROP = ("donor_audio_event",)


def preference_row(probe_row: dict, seed: int) -> dict:
    """A full row of the ``preferences`` config: the probe row (video included) + the texts."""
    row = {k: v for k, v in probe_row.items() if k not in _DROP}
    row.update(preference_texts(probe_row, seed))
    return row
