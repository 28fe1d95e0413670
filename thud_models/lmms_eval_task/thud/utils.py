"""The functions of the lmms-eval ``thud_probes`` task (``thud.yaml`` names them with ``!function``).

lmms-eval loads this file by path, once per ``!function`` it names, so it keeps no state
between calls and imports Thud by absolute name.

What lmms-eval gets from the task:

* **Docs** (:func:`process_docs`): the audio-path canaries first (:mod:`thud_models.canaries`,
  8 docs: pairs of clips that differ only in their sound), then every probe, clip by clip,
  each pair's original first. A doc is lean on purpose: the video is a raw ``video_bytes``
  column plus its content-hash ``video_name``, so ``--log_samples`` neither keeps it (raw
  bytes are "multimodal content" to lmms-eval) nor inlines it as base64 ``input_media``
  (lmms-eval inlines any ``{"bytes": ...}`` dict up to 300 KB).
* **Simple model classes** (``is_simple``) call :func:`doc_to_visual`: the probe's mp4 path,
  its audio muxed in (Qwen-Omni's simple classes hear it with ``use_audio_in_video``).
* **Chat model classes** call :func:`doc_to_messages`: the video *and* its audio as a
  separate audio block, so classes that ignore a video's own sound (lmms-eval 0.7's chat
  Qwen-Omni classes hard-code ``use_audio_in_video = False``) still receive it.

How the audio is sent depends on the model class; ``lmms_eval_specific_kwargs`` in
``thud.yaml`` holds one entry per ``--model`` name (keys in :data:`SETTINGS`; an entry lists
only what differs from the defaults):

``audio_block``
    ``wav`` (default): the path of a WAV file of the probe's audio (decoded with Thud's media
    helpers, so sample 0 is the first video frame and a shift stays a shift), resampled to
    ``audio_rate``. ``data_url``: the same WAV as ``data:audio/wav;base64,...`` (for clients
    that forward the block over HTTP, e.g. ``openai``). ``none``: no audio block (the model
    hears the video file itself, e.g. ``gemini`` uploads the mp4).
``audio_rate``
    Sample rate of the audio block in Hz (16000: Qwen-Omni's and MiniCPM-o's).
``visual_audio``
    ``in_video`` (default): :func:`doc_to_visual` gives the mp4 path only. ``separate``: it
    gives ``[[path, {"array", "sampling_rate"}]]``, the form in which lmms-eval's simple
    ``minicpm_o`` class takes frames *and* audio (from an mp4 path alone it takes frames only).

Each answer goes through :func:`process_results` into one record per metric. The score
aggregations run :func:`thud_metrics.score_probes` over the probe records (rules-based
parsing: an unreadable answer is ``unknown`` and counted wrong, never a guessed option);
``audio_reached`` (``yes`` / ``no`` / ``cannot tell``) and ``audio_check`` (the reason in
words) run :func:`thud_models.audio_check.check_audio`'s verdict over the canary records,
the same verdict ``thud run`` records. An optional judge reads answers the rules leave
``unknown``: ``THUD_JUDGE=module:function`` names ``function(answer, dimension) -> str``.
"""

from __future__ import annotations

import base64
import importlib
import logging
import math
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from thud_dataset.vocab import CHOICES, CONDITIONS, DIMENSIONS, INTERVENTION_OF

log = logging.getLogger(__name__)

#: the numbers in lmms-eval's results table: (metric name, path into score_probes' dict)
METRICS: dict[str, tuple[str, ...]] = {
    "avg_gap": ("avg_gap",),
    **{f"gap_{d}": ("gap", d) for d in DIMENSIONS},
    "avg_pair_acc": ("avg_pair_accuracy",),
    **{f"pair_acc_{d}": ("pair_accuracy", d) for d in DIMENSIONS},
    **{
        f"acc_{d}_{c}": ("accuracy", d, c)
        for d in DIMENSIONS
        for c in ("original", INTERVENTION_OF[d])
    },
    "mute_hallucination": ("rates", "mute_hallucination"),
    "unparseable_rate": ("unparseable_rate",),
}
#: the audio-path check's entries in the results table (text values)
AUDIO_METRICS: tuple[str, ...] = ("audio_reached", "audio_check")
#: ``audio_reached`` values, by :data:`thud_models.audio_check.VERDICTS`
REACHED: dict[str, str] = {"reaches": "yes", "does_not_reach": "no", "cannot_tell": "cannot tell"}

#: defaults of the per-model settings (``lmms_eval_specific_kwargs`` in ``thud.yaml``)
SETTINGS: dict[str, Any] = {
    "pre_prompt": "",
    "post_prompt": "",
    "audio_block": "wav",
    "audio_rate": 16000,
    "visual_audio": "in_video",
}
_AUDIO_BLOCKS = ("wav", "data_url", "none")
_VISUAL_AUDIO = ("in_video", "separate")

_PROBE_KEYS = ("probe_id", "pair_id", "clip_id", "dimension", "condition", "label", "offset_s")
_CANARY_KEYS = ("canary_id", "pair_id", "canary_kind", "variant", "label")


# -- docs -----------------------------------------------------------------------------------


def _doc_features():
    import datasets

    text = datasets.Value("string")
    return datasets.Features(
        {
            "kind": text,  # "probe" | "canary"
            "probe_id": text,
            "canary_id": text,
            "pair_id": text,
            "clip_id": text,
            "dimension": text,
            "condition": text,
            "offset_s": datasets.Value("float64"),
            "label": text,  # the gold label; a canary's expected answer
            "prompt": text,
            "choices": datasets.Sequence(text),
            "canary_kind": text,
            "variant": text,
            "video_name": text,
            "video_bytes": datasets.Value("binary"),
        }
    )


def _lean_probe(row: dict[str, Any]) -> dict[str, Any]:
    """A probe row as a doc: its identity, prompt and video bytes (no ``{"bytes"}`` dict)."""
    video = row.get("video") or {}
    data, path = video.get("bytes"), video.get("path")
    if data is None and path and os.path.isfile(path):
        data = Path(path).read_bytes()
    if data is None:
        raise ValueError(f"probe {row.get('probe_id')!r}: its video has no bytes and {path!r} is not a file")
    name = os.path.basename(path) if path else ""
    if not name:
        from thud_dataset.media import content_name

        name = content_name(data, ".mp4")
    return {
        "kind": "probe",
        **{k: row[k] for k in ("probe_id", "pair_id", "clip_id", "dimension", "condition", "label", "prompt")},
        "offset_s": float(row.get("offset_s") or 0.0),
        "choices": list(row.get("choices") or CHOICES[row["dimension"]]),
        "canary_id": None,
        "canary_kind": None,
        "variant": None,
        "video_name": name,
        "video_bytes": data,
    }


def canary_docs(work_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The audio-path canaries as docs (pairs adjacent, in :func:`build_canaries` order)."""
    from thud_models.canaries import build_canaries

    docs = []
    for c in build_canaries(work_dir):
        presence = c.kind == "presence"
        docs.append(
            {
                "kind": "canary",
                "probe_id": None,
                "canary_id": c.canary_id,
                "pair_id": c.pair,
                "clip_id": None,
                "dimension": "existence" if presence else None,
                "condition": None,
                "offset_s": 0.0,
                "label": str(c.expected),
                "prompt": c.prompt,
                "choices": list(CHOICES["existence"]) if presence else [],
                "canary_kind": c.kind,
                "variant": c.variant,
                "video_name": Path(c.path).name,
                "video_bytes": Path(c.path).read_bytes(),
            }
        )
    return docs


def process_docs(dataset):
    """The canaries, then the probes clip by clip, each pair's original first.

    The probes of all four splits arrive as one split (``data_files`` in ``thud.yaml``), so a
    pair can be scored; this order makes ``--limit N`` take the canaries (the first 8 docs)
    and then whole pairs, not N mute probes.
    """
    import datasets

    features = _doc_features()
    probes = dataset.map(
        _lean_probe, remove_columns=dataset.column_names, features=features, desc="Thud probes"
    )
    cond = {c: i for i, c in enumerate(CONDITIONS)}
    dim = {d: i for i, d in enumerate(DIMENSIONS)}
    keys = [
        (clip, dim[d], cond[c], probe)
        for clip, d, c, probe in zip(
            probes["clip_id"], probes["dimension"], probes["condition"], probes["probe_id"], strict=True
        )
    ]
    probes = probes.select(sorted(range(len(keys)), key=keys.__getitem__))
    canaries = datasets.Dataset.from_list(canary_docs(), features=features)
    return datasets.concatenate_datasets([canaries, probes])


# -- what a model gets -------------------------------------------------------------------------


def settings(lmms_eval_specific_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The model's settings: :data:`SETTINGS` updated with its ``lmms_eval_specific_kwargs``."""
    kw = {**SETTINGS, **(lmms_eval_specific_kwargs or {})}
    if kw["audio_block"] not in _AUDIO_BLOCKS:
        raise ValueError(f"thud task: audio_block must be one of {_AUDIO_BLOCKS}, not {kw['audio_block']!r}")
    if kw["visual_audio"] not in _VISUAL_AUDIO:
        raise ValueError(f"thud task: visual_audio must be one of {_VISUAL_AUDIO}, not {kw['visual_audio']!r}")
    kw["audio_rate"] = int(kw["audio_rate"])
    if kw["audio_rate"] <= 0:
        raise ValueError(f"thud task: audio_rate must be a positive number of Hz, not {kw['audio_rate']!r}")
    return kw


def video_path(doc: dict[str, Any]) -> str:
    """The doc's mp4 on disk (written once to ``$THUD_CACHE/videos`` under its content name)."""
    from thud_dataset import video_file

    return video_file({"bytes": doc["video_bytes"], "path": doc["video_name"]})


def audio_file(doc: dict[str, Any], sample_rate: int) -> str:
    """A WAV file of the doc's audio at ``sample_rate`` (cached beside the videos).

    Decoded from the probe file with Thud's media helpers: sample 0 is the first video frame,
    so the block lines up with the picture exactly as the muxed track does.
    """
    from thud_dataset.video_files import default_cache_dir
    from thud_models.adapters.openai_compat import extract_wav

    root = default_cache_dir() / "audio"
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"{Path(doc['video_name']).stem}-{sample_rate}.wav"
    if not target.is_file():
        data = extract_wav(video_path(doc), sample_rate=sample_rate)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return str(target)


def _audio_array(doc: dict[str, Any], sample_rate: int) -> dict[str, Any]:
    import numpy as np
    import soundfile as sf

    samples, rate = sf.read(audio_file(doc, sample_rate), dtype="float32", always_2d=True)
    return {"array": np.ascontiguousarray(samples.mean(axis=1)), "sampling_rate": rate}


def doc_to_visual(doc: dict[str, Any], lmms_eval_specific_kwargs: dict[str, Any] | None = None) -> list:
    """Simple model classes: the mp4 path (audio inside), or ``[[path, audio]]`` with
    ``visual_audio: separate``."""
    kw = settings(lmms_eval_specific_kwargs)
    path = video_path(doc)
    if kw["visual_audio"] == "separate":
        return [[path, _audio_array(doc, kw["audio_rate"])]]
    return [path]


def doc_to_messages(
    doc: dict[str, Any], lmms_eval_specific_kwargs: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Chat model classes: one user turn with the video, its audio as an audio block, the prompt.

    The blocks follow lmms-eval's ``protocol.ChatMessages`` (``{"type": "video" | "audio",
    "url": ...}``, ``{"type": "text", "text": ...}``); ``audio_block`` says what the audio's
    ``url`` is (a WAV path, a data URL, or no block at all).
    """
    kw = settings(lmms_eval_specific_kwargs)
    content: list[dict[str, Any]] = [{"type": "video", "url": video_path(doc)}]
    if kw["audio_block"] != "none":
        wav = audio_file(doc, kw["audio_rate"])
        if kw["audio_block"] == "data_url":
            wav = "data:audio/wav;base64," + base64.b64encode(Path(wav).read_bytes()).decode("ascii")
        content.append({"type": "audio", "url": wav})
    content.append({"type": "text", "text": doc_to_text(doc, kw)})
    return [{"role": "user", "content": content}]


def doc_to_text(
    doc: dict[str, Any], lmms_eval_specific_kwargs: dict[str, Any] | None = None
) -> str:
    """The probe's prompt, between the model's optional ``pre_prompt`` and ``post_prompt``."""
    kw = lmms_eval_specific_kwargs or {}
    return f"{kw.get('pre_prompt', '')}{doc['prompt']}{kw.get('post_prompt', '')}"


def doc_to_target(doc: dict[str, Any]) -> str:
    """The gold label (a canary's expected answer: a label or a beep count)."""
    return doc["label"]


# -- results ---------------------------------------------------------------------------------


def process_results(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """One record per metric: the probe's (or canary's) identity and the model's raw answer."""
    answer = results[0] if results else None
    if isinstance(answer, (list, tuple)):  # some models return a list of candidates
        answer = answer[0] if answer else None
    if doc.get("kind") == "canary":
        record = {"kind": "canary", **{k: doc.get(k) for k in _CANARY_KEYS}}
    else:
        record = {"kind": "probe", **{k: doc.get(k) for k in _PROBE_KEYS}}
    record["answer"] = None if answer is None else str(answer)
    return {name: record for name in (*METRICS, *AUDIO_METRICS)}


def _probes(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("kind", "probe") == "probe"]


def _complete(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop intervened probes whose original is missing (an incomplete ``--limit`` run)."""
    originals = {(r["pair_id"]) for r in records if r["condition"] == "original"}
    return [r for r in records if r["condition"] == "original" or r["pair_id"] in originals]


def _judge() -> Callable[[str, str | None], str] | None:
    """``THUD_JUDGE=module:function``: reads answers the rules leave ``unknown``."""
    spec = os.environ.get("THUD_JUDGE")
    if not spec:
        return None
    module, _, name = spec.partition(":")
    try:
        judge = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as e:
        raise ValueError(f"THUD_JUDGE={spec!r}: expected module:function ({e})") from e
    if not callable(judge):
        raise ValueError(f"THUD_JUDGE={spec!r} is not callable")
    return judge


@lru_cache(maxsize=4)
def _score(key: tuple[tuple[Any, ...], ...], judge: str | None) -> dict[str, Any]:
    from thud_metrics import score_probes

    records = [dict(zip((*_PROBE_KEYS, "answer"), row, strict=True)) for row in key]
    return score_probes(
        [r["answer"] for r in records],
        [r["label"] for r in records],
        [r["condition"] for r in records],
        [r["dimension"] for r in records],
        [r["pair_id"] for r in records],
        [r["offset_s"] for r in records],
        [r["clip_id"] for r in records],
        n_resamples=0,
        judge=_judge() if judge else None,
    )


def score(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """:func:`thud_metrics.score_probes` over the probe records ``process_results`` made."""
    rows = _complete(_probes(records))
    if not rows:
        return {}
    key = tuple(sorted(tuple(r.get(k) for k in (*_PROBE_KEYS, "answer")) for r in rows))
    return _score(key, os.environ.get("THUD_JUDGE") or None)


def _aggregate(name: str) -> Callable[[Sequence[dict[str, Any]]], float]:
    path = METRICS[name]

    def aggregate(records: Sequence[dict[str, Any]]) -> float:
        value: Any = score(records)
        for step in path:
            if not isinstance(value, dict) or step not in value:
                return math.nan
            value = value[step]
        return float(value)

    aggregate.__name__ = f"agg_{name}"
    aggregate.__doc__ = f"``{'/'.join(path)}`` of the thud_gap scores of all probes."
    return aggregate


agg_avg_gap = _aggregate("avg_gap")
agg_gap_sync = _aggregate("gap_sync")
agg_gap_existence = _aggregate("gap_existence")
agg_gap_consistency = _aggregate("gap_consistency")
agg_avg_pair_acc = _aggregate("avg_pair_acc")
agg_pair_acc_sync = _aggregate("pair_acc_sync")
agg_pair_acc_existence = _aggregate("pair_acc_existence")
agg_pair_acc_consistency = _aggregate("pair_acc_consistency")
agg_acc_sync_original = _aggregate("acc_sync_original")
agg_acc_sync_shift = _aggregate("acc_sync_shift")
agg_acc_existence_original = _aggregate("acc_existence_original")
agg_acc_existence_mute = _aggregate("acc_existence_mute")
agg_acc_consistency_original = _aggregate("acc_consistency_original")
agg_acc_consistency_swap = _aggregate("acc_consistency_swap")
agg_mute_hallucination = _aggregate("mute_hallucination")
agg_unparseable_rate = _aggregate("unparseable_rate")


# -- the audio-path check ----------------------------------------------------------------------

#: what a refusal ("I cannot hear audio") is replaced with before pairs are compared: any two
#: refusals are then the same answer, so a refusing model counts as one the sound never reached
REFUSAL = "[refused to answer about the audio]"


def _refused(answer: str | None) -> bool:
    """True for an answer the parser reads as a refusal (``refused``, where the parser has that
    reading; until then refusals read as ``unknown`` and a pair of them is ``same`` only when
    word for word identical)."""
    from thud_metrics.parsing import parse_answer

    return bool(answer) and parse_answer(answer, dimension="existence") == "refused"


class _Replay:
    """An answerer that gives the answers the model gave in the run (by canary id)."""

    def __init__(self, answers: dict[str, str | None], name: str) -> None:
        self.answers = answers
        self.name = name

    def answer(self, video_path: str, prompt: str) -> str:
        answer = self.answers[video_path]
        if not answer or not answer.strip():
            raise RuntimeError("the model returned no answer (lmms-eval gives an empty string for a failed call)")
        return REFUSAL if _refused(answer) else answer


def _model_name(args: Any) -> str:
    model = getattr(args, "model", None)
    model_args = getattr(args, "model_args", None)
    if not model:
        return "the lmms-eval model"
    return f"{model} ({model_args})" if model_args else str(model)


@lru_cache(maxsize=4)
def _check(key: tuple[tuple[Any, ...], ...], name: str):
    from thud_models.audio_check import check_audio
    from thud_models.canaries import Canary

    by_pair: dict[str, list[dict[str, Any]]] = {}
    for row in key:
        r = dict(zip((*_CANARY_KEYS, "answer"), row, strict=True))
        by_pair.setdefault(r["pair_id"], []).append(r)
    complete = [r for rows in by_pair.values() if len(rows) == 2 for r in rows]
    canaries = [
        Canary(
            canary_id=r["canary_id"], pair=r["pair_id"], kind=r["canary_kind"], variant=r["variant"],
            path=r["canary_id"], prompt="", description=r["variant"],
            expected=int(r["label"]) if r["canary_kind"] == "count" else r["label"],
        )
        for r in complete
    ]  # fmt: skip
    answers = {r["canary_id"]: r["answer"] for r in complete}
    return check_audio(_Replay(answers, name), canaries=canaries)


def audio_check(records: Sequence[dict[str, Any]], args: Any = None):
    """The audio-path verdict of the run (:class:`~thud_models.audio_check.AudioCheckResult`)
    from the canary records; pairs cut by ``--limit`` are left out (none left: cannot tell)."""
    rows = [r for r in records if r.get("kind") == "canary"]
    key = tuple(sorted(tuple(r.get(k) for k in (*_CANARY_KEYS, "answer")) for r in rows))
    return _check(key, _model_name(args))


def agg_audio_reached(records: Sequence[dict[str, Any]], args: Any = None) -> str:
    """``yes`` / ``no`` / ``cannot tell``: did the canaries' sound reach the model?"""
    result = audio_check(records, args)
    if result.verdict == "does_not_reach":
        log.warning("Thud: %s\nThese Thud scores say nothing about listening.", result.summary())
    return REACHED[result.verdict]


def agg_audio_check(records: Sequence[dict[str, Any]], args: Any = None) -> str:
    """The verdict's reason in words (what ``thud score`` prints under the model's row)."""
    return audio_check(records, args).reason
