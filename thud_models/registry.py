"""Answerers by name: the ``--model`` specs of ``thud run``.

A spec is ``kind`` or ``kind:argument``:

============================  ==================================================================
``prior``                     :class:`~thud_models.baselines.prior.PriorBaseline`
``signal``                    :class:`~thud_models.baselines.signal.SignalBaseline`
``silence_cue``               :class:`~thud_models.baselines.silence_cue.SilenceCueBaseline`
``transformers:<path or id>`` :class:`~thud_models.adapters.transformers_omni.TransformersOmniAnswerer`
``openai:<model>``            :class:`~thud_models.adapters.openai_compat.OpenAICompatAnswerer`
============================  ==================================================================

Options (``base_url=...``, ``num_frames=...``) go to the kind that takes them; an option
set to ``None`` means "not given"; an option a kind does not take is an error rather than
silently ignored. The answer length is ``max_new_tokens`` for every kind (the OpenAI
adapter sends it as ``max_tokens``); ``concurrency`` (requests in flight) belongs to the
HTTP adapter, ``batch_size`` to the local transformers one. Heavy imports (torch, an HTTP client) happen only for the kind asked for.

>>> make_answerer("prior").name
'prior'
>>> make_answerer("prior", base_url="http://x")
Traceback (most recent call last):
...
ValueError: option base_url does not apply to --model prior (it takes no options)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .base import Answerer

__all__ = ["ANSWERERS", "AnswererKind", "make_answerer", "register_answerer"]


@dataclass(frozen=True)
class AnswererKind:
    """How to build one kind of answerer.

    ``factory(argument, **options)``; ``argument`` is the part after ``kind:`` (None when
    the spec has none). ``needs_argument`` makes a spec without one an error.
    """

    factory: Callable[..., Answerer]
    options: tuple[str, ...] = ()
    needs_argument: str | None = None  # what the argument is, e.g. "a model path or Hub id"
    help: str = ""


def _prior(argument: str | None) -> Answerer:
    from .baselines.prior import PriorBaseline

    return PriorBaseline()


def _signal(argument: str | None, **options: Any) -> Answerer:
    from .baselines.signal import SignalBaseline, SignalSettings

    return SignalBaseline(SignalSettings(**options))


def _silence_cue(argument: str | None, **options: Any) -> Answerer:
    from .baselines.silence_cue import SilenceCueBaseline, SilenceCueSettings

    return SilenceCueBaseline(SilenceCueSettings(**options))


def _transformers(argument: str, **options: Any) -> Answerer:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401

        from .adapters.transformers_omni import TransformersOmniAnswerer
    except ImportError as e:
        raise RuntimeError(
            f"--model transformers:... needs torch and transformers ({e}); install the train "
            "extra: pip install 'thud[train]'"
        ) from e
    return TransformersOmniAnswerer.from_pretrained(argument, **options)


def _openai(argument: str, **options: Any) -> Answerer:
    try:
        module = importlib.import_module("thud_models.adapters.openai_compat")
    except ModuleNotFoundError as e:
        if e.name != "thud_models.adapters.openai_compat":
            raise
        raise RuntimeError(
            "--model openai:... needs thud_models/adapters/openai_compat.py, which this "
            "installation does not have"
        ) from e
    if not options.get("base_url"):
        raise ValueError(
            "--model openai:<model> needs --base-url, the server's API root "
            "(e.g. http://127.0.0.1:8000/v1)"
        )
    if "max_new_tokens" in options:  # one name for the answer length across adapters
        if "max_tokens" in options:
            raise ValueError("give max_new_tokens or max_tokens, not both")
        options["max_tokens"] = options.pop("max_new_tokens")
    return module.OpenAICompatAnswerer(argument, **options)


def _signal_options() -> tuple[str, ...]:
    from dataclasses import fields

    from .baselines.signal import SignalSettings

    return tuple(f.name for f in fields(SignalSettings))


ANSWERERS: dict[str, AnswererKind] = {
    "prior": AnswererKind(_prior, help="always answers 'synced': the visual-prior floor"),
    # options: the fields of SignalSettings (checked in make_answerer)
    "signal": AnswererKind(_signal, help="energy + onset/motion cross-correlation, no weights"),
    "silence_cue": AnswererKind(
        _silence_cue,
        options=("min_run_s",),
        help="reads only where the audio is exact digital silence: what the gap-fill cue gives away",
    ),
    "transformers": AnswererKind(
        _transformers,
        options=(
            "device", "dtype", "num_frames", "fps", "max_new_tokens", "use_audio_in_video",
            "system_prompt", "batch_size", "workers",
        ),
        needs_argument="a model folder or Hub id, e.g. transformers:Qwen/Qwen2.5-Omni-7B",
        help="a local transformers omni model (Qwen2.5-Omni style)",
    ),
    "openai": AnswererKind(
        _openai,
        options=(
            "base_url", "api_key", "audio_mode", "timeout", "max_tokens", "max_new_tokens",
            "temperature", "num_frames", "audio_part", "audio_sample_rate", "image_format",
            "system_prompt", "extra_body", "max_retries", "backoff_s", "concurrency",
        ),
        needs_argument="the model name the server serves, e.g. openai:Qwen/Qwen2.5-Omni-7B",
        help="a model behind an OpenAI-compatible chat-completions server",
    ),
}  # fmt: skip


def register_answerer(kind: str, spec: AnswererKind, *, replace: bool = False) -> None:
    """Make ``--model <kind>[:argument]`` build answerers with ``spec.factory``."""
    if ":" in kind or not kind:
        raise ValueError(f"an answerer kind is a plain word, got {kind!r}")
    if kind in ANSWERERS and not replace:
        raise ValueError(f"answerer kind {kind!r} is already registered")
    ANSWERERS[kind] = spec


def make_answerer(spec: str, **options: Any) -> Answerer:
    """Build the answerer a ``--model`` spec names.

    Parameters
    ----------
    spec : ``prior``, ``signal``, ``silence_cue``, ``transformers:<path or id>``, ``openai:<model>`` (or a
        kind added with :func:`register_answerer`)
    options : keyword options of that kind; ``None`` values are dropped

    Raises
    ------
    ValueError
        An unknown kind, a missing argument, or an option the kind does not take.
    """
    kind, sep, argument = spec.partition(":")
    kind = kind.strip().lower()
    if kind not in ANSWERERS:
        known = ", ".join(k + (":..." if ANSWERERS[k].needs_argument else "") for k in ANSWERERS)
        raise ValueError(f"unknown --model {spec!r}; expected one of: {known}")
    entry = ANSWERERS[kind]
    argument = argument.strip() if sep else ""
    if entry.needs_argument and not argument:
        raise ValueError(f"--model {kind} needs {entry.needs_argument}")
    if not entry.needs_argument and argument:
        raise ValueError(f"--model {kind} takes no ':argument', got {spec!r}")
    given = {k: v for k, v in options.items() if v is not None}
    allowed = _signal_options() if kind == "signal" else entry.options
    for name in given:
        if name not in allowed:
            takes = f"it takes {', '.join(allowed)}" if allowed else "it takes no options"
            raise ValueError(f"option {name} does not apply to --model {kind} ({takes})")
    return entry.factory(argument or None, **given)
