"""The prior baseline: answers what the picture suggests, never listening.

It always says the sound is there, in time and from the event it sees (``synced``) —
exactly what an audio-visual "Clever Hans" model answers. It is right on every original
probe and wrong on every intervened one, so its per-dimension gap is 1, its pair accuracy
0, and its score is the floor every table should show beside a model's.
"""

from __future__ import annotations

from .prompt_options import read_prompt

__all__ = ["PriorBaseline"]


class PriorBaseline:
    """Always answers ``synced``: the visually plausible answer.

    The answer is the letter of the prompt's ``synced`` option followed by the option's
    meaning, or the bare label when the prompt lists no options.

    >>> from thud_dataset.prompts import make_prompt
    >>> PriorBaseline().answer("clip.mp4", make_prompt("sync", "a ball hits the floor"))
    'A. The sound is synchronized with what is seen.'
    >>> PriorBaseline().answer("clip.mp4", "What do you hear?")
    'synced'
    """

    name = "prior"

    _SENTENCE = {
        "sync": "The sound is synchronized with what is seen.",
        "existence": "Yes, its sound can be heard.",
        "consistency": "Yes, the sound is the sound of what is seen.",
    }

    def answer(self, video_path: str, prompt: str) -> str:
        options = read_prompt(prompt)
        letter = options.letter("synced")
        if letter is None:
            return "synced"
        return f"{letter}. {self._SENTENCE.get(options.dimension or '', 'Synced.')}"

    def __repr__(self) -> str:
        return "PriorBaseline()"
