"""Column schemas of the dataset's configs (``datasets.Features``)."""

from __future__ import annotations

from datasets import Features, Sequence, Value, Video

#: Video is stored as ``{"bytes", "path"}`` (``decode=False``) so rows work on a machine
#: without torch/torchcodec; ``path`` is the opaque content-hash file name.
VIDEO = Video(decode=False)

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

#: a probe row plus the two responses of a preference pair
PREFERENCE_FEATURES = Features(
    {**PROBE_FEATURES, "chosen": Value("string"), "rejected": Value("string")}
)

#: the features of each config, by config name
FEATURES = {"probes": PROBE_FEATURES, "preferences": PREFERENCE_FEATURES, "clips": CLIP_FEATURES}
