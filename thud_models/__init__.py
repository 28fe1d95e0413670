"""Answerers: baselines, model adapters, ``thud run`` and the audio-path check.

Everything a user calls is importable from here; modules load on first use, so
``import thud_models`` pulls in neither torch nor librosa::

    from thud_models import make_answerer, run_probes
    run_probes(make_answerer("signal"), "thud", "signal.jsonl")

* :class:`Answerer` — the protocol: ``name`` and ``answer(video_path, prompt) -> str``;
* :class:`PriorBaseline` — always "synced", the visual-prior floor;
* :class:`SignalBaseline`, :func:`analyse`, :class:`SignalEvidence` — the audio-verifying
  baseline without learned weights;
* :class:`SilenceCueBaseline` — reads only where the audio is exact digital silence (the
  cue a silence-filled shift or swap leaves);
* :class:`TransformersOmniAnswerer` — a local ``transformers`` omni model;
* :class:`OpenAICompatAnswerer` — a model behind an OpenAI-compatible server;
* :func:`make_judge` — an answer judge from ``openai:MODEL`` or ``transformers:PATH``
  (:class:`TransformersJudge` for the latter);
* :func:`make_answerer` — an answerer from a ``--model`` spec; :func:`run_probes` — answer a
  dataset's probes into a resumable predictions file (a :class:`ProbeRun` with
  :class:`RunSettings`; serially, ``concurrency`` requests in flight, or in batches); :func:`check_audio` — does the sound
  reach the model at all?
"""

from __future__ import annotations

from thud_dataset.lazy import lazy_exports

from .base import Answerer

_LAZY = {
    "PriorBaseline": ("baselines.prior", "PriorBaseline"),
    "SignalBaseline": ("baselines.signal", "SignalBaseline"),
    "SignalEvidence": ("baselines.signal", "SignalEvidence"),
    "SignalSettings": ("baselines.signal", "SignalSettings"),
    "analyse": ("baselines.signal", "analyse"),
    "SilenceCueBaseline": ("baselines.silence_cue", "SilenceCueBaseline"),
    "TransformersOmniAnswerer": ("adapters.transformers_omni", "TransformersOmniAnswerer"),
    "OpenAICompatAnswerer": ("adapters.openai_compat", "OpenAICompatAnswerer"),
    "make_answerer": ("registry", "make_answerer"),
    "register_answerer": ("registry", "register_answerer"),
    "run_probes": ("run", "run_probes"),
    "ProbeRun": ("run", "ProbeRun"),
    "RunReport": ("run", "RunReport"),
    "RunSettings": ("run", "RunSettings"),
    "check_audio": ("audio_check", "check_audio"),
    "AudioCheckResult": ("audio_check", "AudioCheckResult"),
    "recommend_audio_mode": ("audio_check", "recommend_audio_mode"),
    "LMMS_EVAL_TASK_DIR": ("lmms_eval_task", "LMMS_EVAL_TASK_DIR"),
    "make_judge": ("adapters.transformers_judge", "make_judge"),
    "TransformersJudge": ("adapters.transformers_judge", "TransformersJudge"),
}

__all__ = ["Answerer", *sorted(_LAZY)]

__getattr__ = lazy_exports(__name__, _LAZY)
