"""lmms-eval model plugins: any Thud answerer as an lmms-eval ``--model``.

lmms-eval 0.7 finds plugin models through ``LMMS_EVAL_PLUGINS=thud_models.lmms_eval_task``
(it imports this module and reads :data:`AVAILABLE_MODELS`); then::

    lmms-eval --model thud_answerer --model_args answerer=signal --tasks thud ...
    lmms-eval --model thud_answerer \\
        --model_args answerer=openai:Qwen/Qwen2.5-Omni-7B,base_url=http://127.0.0.1:8000/v1,audio_mode=video+audio ...

The second line is how to evaluate a served omni model *with its audio* from lmms-eval:
lmms-eval's own ``openai`` model turns a video into frames on the client (or forwards a
``video_url`` without ``use_audio_in_video``), so the sound never reaches the model.
"""

AVAILABLE_MODELS: dict[str, str] = {"thud_answerer": "ThudAnswererModel"}
