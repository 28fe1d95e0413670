"""The probe prompt of each dimension.

Every prompt names the visible event and lists its options as letters in the order of
``vocab.CHOICES[dimension]``, so an answer like "B" maps to one label and the metric's
parser needs only the dimension to read it. The original probe of a dimension has the same
prompt as its intervened probe: only the sound differs within a pair.
"""

from __future__ import annotations

from .vocab import CHOICES

_OPTION_TEXT = {
    "sync": {
        "synced": "Synchronized: the sound is heard at the moment it is seen.",
        "early": "Early: the sound is heard before it is seen.",
        "delayed": "Delayed: the sound is heard after it is seen.",
    },
    "existence": {
        "synced": "Yes: its sound can be heard.",
        "silent": "No: there is no sound at all, the audio is silent.",
    },
    "consistency": {
        "synced": "Yes: the sound is the sound of what is seen.",
        "mismatched": "No: the sound comes from a different source.",
    },
}

_QUESTION = {
    "sync": "Is the sound of this event synchronized with the moment it happens in the picture?",
    "existence": "Listen to the audio track. Can you hear the sound of this event?",
    "consistency": "Listen to the audio track. Does the sound you hear come from this event?",
}


def make_prompt(dimension: str, visual_event: str) -> str:
    """The question of a ``dimension`` probe about ``visual_event``.

    >>> print(make_prompt("existence", "a glass cup hits the stone floor"))
    Watch the video and listen to its audio. The video shows: a glass cup hits the stone floor.
    Listen to the audio track. Can you hear the sound of this event?
    (A) Yes: its sound can be heard.
    (B) No: there is no sound at all, the audio is silent.
    Answer with the letter of one option.
    """
    if dimension not in CHOICES:
        raise ValueError(f"unknown dimension {dimension!r}; expected one of {tuple(CHOICES)}")
    event = visual_event.strip().rstrip(".")
    options = "\n".join(
        f"({chr(65 + i)}) {_OPTION_TEXT[dimension][label]}"
        for i, label in enumerate(CHOICES[dimension])
    )
    return (
        f"Watch the video and listen to its audio. The video shows: {event}.\n"
        f"{_QUESTION[dimension]}\n{options}\nAnswer with the letter of one option."
    )
