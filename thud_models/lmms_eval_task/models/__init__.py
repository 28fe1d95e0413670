"""lmms-eval model plugins: any Thud answerer as an lmms-eval ``--model``.

Two models, registered through the Python entry-point group ``lmms_eval.models`` (lmms-eval
0.7's way: ``pyproject.toml`` points it at :func:`manifests`; installing Thud is enough):

* ``thud_answerer`` (a *simple* class): each probe's mp4, byte for byte, to
  ``answerer.answer(video_path, prompt)``;
* ``thud_answerer_chat`` (a *chat* class): what lmms-eval's chat omni classes get — the
  task's ``doc_to_messages`` (video block + audio block + text) — with the video's own audio
  ignored and the *audio block* muxed under its picture before the answerer hears it. A
  no-weights stand-in for e.g. ``qwen2_5_omni``'s chat class, which shows (and tests) that
  the task's audio block reaches a chat class; ``audio=none`` drops the block (a deaf path).

::

    lmms-eval --model thud_answerer --model_args answerer=signal --tasks thud_probes ...
    lmms-eval --model thud_answerer \\
        --model_args answerer=openai:Qwen/Qwen2.5-Omni-7B,base_url=http://127.0.0.1:8000/v1,audio_mode=video+audio ...

The second line is how to evaluate a served omni model *with its audio* from lmms-eval:
lmms-eval's own ``openai`` model turns a video into frames on the client (or forwards a
``video_url`` without ``use_audio_in_video``), so the sound would not reach the model.

Older lmms-eval versions find plugins through ``LMMS_EVAL_PLUGINS=thud_models.lmms_eval_task``
(which 0.7 still reads, with a deprecation warning): they import this module and read
:data:`AVAILABLE_MODELS` (class ``<model name>.<class name>`` of this package; simple classes).
"""

#: the ``LMMS_EVAL_PLUGINS`` registry: model name -> class in the module of the same name
AVAILABLE_MODELS: dict[str, str] = {"thud_answerer": "ThudAnswererModel"}

_CHAT = "thud_models.lmms_eval_task.models.thud_answerer_chat.ThudAnswererChatModel"
_SIMPLE = "thud_models.lmms_eval_task.models.thud_answerer.ThudAnswererModel"


def manifests():
    """The ``lmms_eval.models`` entry point: lmms-eval's ``ModelManifest`` of each model."""
    from lmms_eval.models.registry_v2 import ModelManifest

    return [
        ModelManifest(model_id="thud_answerer", simple_class_path=_SIMPLE),
        ModelManifest(model_id="thud_answerer_chat", chat_class_path=_CHAT),
    ]
