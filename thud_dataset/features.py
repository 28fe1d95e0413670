"""Column schemas of the dataset's configs (``datasets.Features``)."""

from __future__ import annotations

from datasets import Audio, Features, Sequence, Value, Video

#: Video is stored as ``{"bytes", "path"}`` (``decode=False``) so rows work on a machine
#: without torch/torchcodec; ``path`` is the opaque content-hash file name.
VIDEO = Video(decode=False)
#: the probe's audio as a decoder hears it in the mp4: a WAV of float32 samples at the
#: file's own rate and channel count, stored as ``{"bytes", "path"}`` like the video
#: (``cast_column("audio", Audio(...))`` decodes it where torchcodec is installed)
AUDIO = Audio(decode=False)
#: the arrow storage of :data:`AUDIO`, as plain features: ``datasets`` 5 encodes an
#: ``Audio`` value only with torchcodec installed (even ``{"bytes", "path"}`` that needs no
#: encoding), so rows are written with this and the column cast to ``AUDIO`` (an arrow
#: cast, no torch); the ``datasets`` builder, which encodes every row, declares it as is
AUDIO_STORAGE = {"bytes": Value("binary"), "path": Value("string")}

_LABELS = {
    "visual_event": Value("string"),
    "visual_time": Value("float64"),
    "audio_event": Value("string"),
    "audio_time": Value("float64"),
    "category": Value("string"),
}

PROBE_FEATURES = Features(
    {
        "probe_id": Value("string"),
        "pair_id": Value("string"),
        "clip_id": Value("string"),
        "dimension": Value("string"),
        "condition": Value("string"),
        "offset_s": Value("float64"),
        "donor_clip_id": Value("string"),
        "video": VIDEO,
        "audio": AUDIO,
        "prompt": Value("string"),
        "choices": Sequence(Value("string")),
        "label": Value("string"),
        **_LABELS,
        # where the audio event is in the edited audio (None for mute: there is none)
        "edited_audio_time": Value("float64"),
        "duration_s": Value("float64"),
        "partition": Value("string"),
        "source": Value("string"),
    }
)

CLIP_FEATURES = Features(
    {
        "clip_id": Value("string"),
        "file": Value("string"),
        **_LABELS,
        "duration_s": Value("float64"),
        "partition": Value("string"),
        "source": Value("string"),
        "license": Value("string"),
        "video": VIDEO,
    }
)

#: a probe row (without ``audio``: the trainer takes the sound from the video) plus the
#: two responses of a preference pair
PREFERENCE_FEATURES = Features(
    {
        **{k: v for k, v in PROBE_FEATURES.items() if k != "audio"},
        "chosen": Value("string"),
        "rejected": Value("string"),
    }
)

#: the features of each config, by config name (probes with their ``audio`` column)
FEATURES = {"probes": PROBE_FEATURES, "preferences": PREFERENCE_FEATURES, "clips": CLIP_FEATURES}


def features_for(config: str, audio_column: bool = True, *, audio_storage: bool = False) -> Features:
    """The features of ``config``'s rows; without the probes' ``audio`` column when
    ``audio_column`` is False, with it as :data:`AUDIO_STORAGE` when ``audio_storage``.

    >>> "audio" in features_for("probes"), "audio" in features_for("probes", audio_column=False)
    (True, False)
    >>> features_for("probes", audio_storage=True)["audio"] == AUDIO_STORAGE
    True
    """
    features = FEATURES[config]
    if "audio" not in features or (audio_column and not audio_storage):
        return features
    if not audio_column:
        return Features({k: v for k, v in features.items() if k != "audio"})
    return Features({k: (AUDIO_STORAGE if k == "audio" else v) for k, v in features.items()})
