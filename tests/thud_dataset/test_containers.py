"""Every container rule, on sources made here with PyAV, decoded back.

One source per rule: an mp4 (H.264/AAC, first frame at 33 ms), an MPEG-1 program stream
(timeline starting near 0.5 s), a VP9/Opus webm (remuxed into mp4), a VP8/Vorbis webm
with an odd frame size and a Theora/Vorbis ogv (transcoded once to H.264), and a Matroska
file with H.264 B-frames (no DTS on its packets). Each must build to four ``.mp4`` probes
that share identical video packets, whose video packets sit exactly at the source's times,
and whose shift decodes to ``tau`` within 1 ms with PyAV and with the ``ffmpeg`` CLI.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import pytest

from tests.helpers.containers import ffmpeg_pcm, write_mpeg1, write_source, write_theora_ogv
from tests.helpers.media import MP3, MP4
from thud_dataset import media
from thud_dataset.materialize import materialize_clip
from thud_dataset.planning import ClipPlan
from thud_dataset.sources.base import Clip
from thud_dataset.verify import (
    check_condition,
    measure_lag,
    video_packets,
    video_timeline,
    video_timing_problems,
)

TAU = 0.4
#: libvpx at its fastest (its default deadline takes seconds even for these tiny clips)
FAST_VPX = {"deadline": "realtime", "cpu-used": "8"}
#: rule → (how the source is made, whether its video is transcoded)
RULES = {
    "mp4": (lambda real, d: Path(shutil.copy(real / MP4, d / "clip.mp4")), False),
    "mpeg-ps": (lambda real, d: write_mpeg1(real / MP4, d / "clip.mpg"), False),
    "webm-vp9": (
        lambda real, d: write_source(d / "clip.webm", fmt="webm", vcodec="libvpx-vp9", acodec="libopus", sample_rate=48000,
                                         video_options=FAST_VPX),
        False,
    ),
    "mkv-no-dts": (
        lambda real, d: write_source(d / "clip.mkv", fmt="matroska", vcodec="libx264", acodec="aac", video_options={"bf": "3"}),
        False,
    ),
    "webm-vp8": (
        # an odd frame size: 4:2:0 H.264 needs even sizes
        lambda real, d: write_source(d / "clip.webm", fmt="webm", vcodec="libvpx", acodec="vorbis", width=161, height=121,
                                         video_options=FAST_VPX),
        True,
    ),
    "ogv-theora": (lambda real, d: write_theora_ogv(d / "clip.ogv"), True),
}


@pytest.fixture(scope="module", params=list(RULES))
def built(request, real_clips_dir, tmp_path_factory):
    """``(rule, source clip, outputs, out dir)`` for one container rule."""
    rule = request.param
    make, _ = RULES[rule]
    folder = tmp_path_factory.mktemp(rule)
    path = make(real_clips_dir, folder)
    # visual and audio times differ, as in real annotations
    clip = Clip(rule, str(path), "seen", 0.9, "heard", 1.0, source="local")
    donor = Clip("donor", str(real_clips_dir / MP3), "seen", 0.8, "heard", 1.0, source="local")
    outputs = materialize_clip(clip, ClipPlan(rule, "test", TAU, donor.clip_id), donor, folder / "out")
    return rule, clip, outputs, folder / "out"


def test_every_source_becomes_four_mp4_probes_sharing_one_video(built):
    rule, clip, outputs, out = built
    transcoded = RULES[rule][1]
    assert set(outputs) == {"original", "shift/0", "mute", "swap"}  # one offset: one shift
    packets = {c: video_packets(out / o.file_name) for c, o in outputs.items()}
    for condition, o in outputs.items():
        assert o.file_name.endswith(".mp4"), (rule, condition)
        with av.open(str(out / o.file_name)) as c:
            assert "mp4" in c.format.name.split(",")
            assert c.streams.video[0].codec_context.name == ("h264" if transcoded else media.probe(clip.path).video.codec)
            assert len(c.streams.audio) == 1 and c.streams.audio[0].codec_context.name == "aac"
        assert o.video_transcoded is transcoded
        assert packets[condition] == packets["original"], f"{rule}: {condition} has other video packets"
    if not transcoded:  # remuxed byte for byte
        assert packets["original"] == video_packets(clip.path)


def test_each_condition_decodes_to_what_it_claims(built):
    rule, clip, outputs, out = built
    for key, o in outputs.items():
        check = check_condition(clip.path, out / o.file_name, o.condition, o.offset_s)
        assert check.ok, (rule, key, check.problems)
    assert outputs["shift/0"].offset_s == TAU and outputs["shift/0"].condition == "shift"


def test_video_packets_sit_at_the_sources_times(built):
    """pts, dts and duration of every output video packet equal the source's on the output
    timeline (decoding times derived where the source has none)."""
    rule, clip, outputs, out = built
    source = video_timeline(clip.path)
    for condition, o in outputs.items():
        output = video_timeline(out / o.file_name)
        assert video_timing_problems(source, output) == [], (rule, condition)
        # decoding times are complete, strictly increasing and never after presentation
        dts = [d for _, d, _ in output]
        assert None not in dts and dts == sorted(set(dts))
        assert all(d <= p for p, d, _ in output)


@pytest.mark.parametrize("built", ["mkv-no-dts"], indirect=True)
def test_the_dts_less_source_really_has_no_dts(built):
    _, clip, _, _ = built
    with av.open(clip.path) as c:
        dts = [p.dts for p in c.demux(c.streams.video[0]) if p.size]
    assert None in dts  # what the mp4 muxer refuses unless Thud derives them


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="the ffmpeg CLI (independent decoder) is not installed")
def test_both_decoders_hear_the_shift_at_tau(built):
    rule, clip, outputs, out = built
    sr = media.probe(out / outputs["original"].file_name).audio.sample_rate
    original, shifted = out / outputs["original"].file_name, out / outputs["shift/0"].file_name
    pyav = measure_lag(media.decode_audio(original).samples, media.decode_audio(shifted).samples, sr)
    cli = measure_lag(ffmpeg_pcm(original), ffmpeg_pcm(shifted), sr)
    assert abs(pyav / sr - TAU) <= 0.001, (rule, pyav / sr)
    assert abs(cli / sr - TAU) <= 0.001, (rule, cli / sr)
    # and the original lines up with the source, as ffmpeg decodes both — where the source's
    # audio does not start before t = 0: encoder priming stored as a negative start in
    # Matroska/WebM (CodecDelay) is dropped by PyAV's FFmpeg but played by older ffmpeg CLIs
    with av.open(clip.path) as c:
        first = next(p for p in c.demux(c.streams.audio[0]) if p.size)
    if first.pts is not None and first.pts >= 0:
        assert abs(measure_lag(ffmpeg_pcm(Path(clip.path)), ffmpeg_pcm(original), sr)) <= sr // 1000, rule


@pytest.mark.parametrize("built", [r for r, (_, transcoded) in RULES.items() if transcoded], indirect=True)
def test_transcoding_is_deterministic(built, tmp_path):
    rule, clip, outputs, _ = built
    donor = Clip("donor", clip.path, "seen", 0.9, "heard", 1.0, source="local")
    again = materialize_clip(clip, ClipPlan(rule, "test", TAU, "donor"), donor, tmp_path)
    # same clip, same plan: the same video bytes (the swap differs: another donor)
    for condition in ("original", "shift/0", "mute"):
        assert again[condition].file_name == outputs[condition].file_name, (rule, condition)


def test_a_build_of_such_sources_gives_mp4_probes_that_verify(real_clips_dir, tmp_path):
    """Through ``thud_dataset.build``: the transcoded and the DTS-less sources become mp4
    probes, every clip's probes share one video, and ``verify_build`` (which decodes every
    probe against its source in the clips config) finds no problem."""
    import pyarrow.parquet as pq

    from tests.helpers.media import write_jsonl
    from thud_dataset import build
    from thud_dataset.verify import verify_build

    data = tmp_path / "corpus"
    data.mkdir()
    for rule in ("webm-vp8", "ogv-theora", "mkv-no-dts"):
        folder = data / rule
        folder.mkdir()
        path = RULES[rule][0](real_clips_dir, folder)
        path.rename(data / f"{rule}{path.suffix}")
    rows = [
        {"file": p.name, "visual_event": "seen", "visual_time": 0.9, "audio_event": "heard",
         "audio_time": 1.0, "split": "test", "category": p.stem}
        for p in sorted(data.iterdir()) if p.is_file()
    ]
    write_jsonl(data / "annotations.jsonl", rows)
    out = tmp_path / "thud"
    report = build(out, configs=("probes", "clips"), source="local", data_dir=str(data), offsets=(TAU,), shifts_per_clip=1,
                   media_cache_dir=str(tmp_path / "cache"), progress=False)
    assert report.clips_used == 3, report.skipped
    videos: dict[str, set] = {}
    for file in (out / "data" / "probes").glob("*.parquet"):
        for row in pq.read_table(file, columns=["clip_id", "video"]).to_pylist():
            assert row["video"]["path"].endswith(".mp4")
            videos.setdefault(row["clip_id"], set()).add(_packets_key(row["video"]["bytes"], tmp_path))
    assert sorted(videos) == ["mkv-no-dts", "ogv-theora", "webm-vp8"]
    assert all(len(v) == 1 for v in videos.values())  # one video per clip, in every condition
    check = verify_build(out)
    assert check.ok, check.summary()


def _packets_key(data: bytes, tmp_path: Path) -> int:
    """A hash of a probe's video packets (the probe written to disk and demuxed)."""
    path = tmp_path / "probe.mp4"
    path.write_bytes(data)
    return hash(tuple(video_packets(path)))
