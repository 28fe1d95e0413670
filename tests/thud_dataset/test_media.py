"""Materialized files, decoded back: real codecs (H.264/AAC, VP8/Vorbis, MP3) and real sound.

Every claim is measured on the output file: where the audio lands, that the video packets
are the source's (the VP8 webm's: transcoded once, the same in every condition), that mute
decodes to silence, that swap carries the donor's sound at the recipient's *visual* time,
and that nothing but the sound differs between the conditions of a clip. The event labels
have ``visual_time != audio_time``, as real annotations do.
"""

from __future__ import annotations

import shutil

import av
import numpy as np
import pytest

from tests.helpers.containers import ffmpeg_pcm, write_mpeg1
from thud_dataset import media
from thud_dataset.materialize import EncodeSettings, conform, materialize_clip
from thud_dataset.planning import ClipPlan
from thud_dataset.sources.base import Clip
from thud_dataset.verify import check_condition, measure_lag, stream_layout, video_packets

# (file, visual time, audio event time, tau): sounds from SOURCES.md; the picture's event a
# little before the sound, as annotators mark them; tau keeps the sound inside the clip
REAL = [
    ("openmpf__openmpf__video_01.mp4", 2.05, 2.3, -0.8),
    ("openmpf__openmpf__video_02.mp4", 3.5, 3.8, 1.2),
    ("openmpf__openmpf-components__toronto-highway-shortened.mp4", 2.2, 2.5, -1.2),
    ("Zulko__moviepy__big_buck_bunny_432_433.webm", 0.4, 0.49, 0.3),
    ("Zulko__moviepy__example3.mp4", 1.25, 1.0, 0.5),
]


def real_clip(real_clips_dir, name, visual, audio):
    return Clip(name.split(".")[0], str(real_clips_dir / name), "event", visual, "sound", audio, source="local")


@pytest.fixture(scope="module")
def materialized(real_clips_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("real-out")
    results = {}
    for i, (name, visual, audio, tau) in enumerate(REAL):
        clip = real_clip(real_clips_dir, name, visual, audio)
        donor_name, donor_visual, donor_audio, _ = REAL[(i + 1) % len(REAL)]
        donor = real_clip(real_clips_dir, donor_name, donor_visual, donor_audio)
        plan = ClipPlan(clip.clip_id, "test", tau, donor.clip_id)
        results[name] = (clip, donor, tau, materialize_clip(clip, plan, donor, out))
    return out, results


@pytest.mark.parametrize("name", [r[0] for r in REAL])
def test_each_condition_decodes_to_what_it_claims(materialized, name):
    out, results = materialized
    clip, _, tau, outputs = results[name]
    for key, condition, offset in (("original",) * 2 + (0.0,), ("shift/0", "shift", tau), ("mute",) * 2 + (0.0,), ("swap",) * 2 + (0.0,)):
        check = check_condition(clip.path, out / outputs[key].file_name, condition, offset)
        assert check.ok, f"{name} {condition}: {check.problems}"
    assert outputs["shift/0"].edited_audio_time == pytest.approx(clip.audio_time + tau)
    assert outputs["swap"].edited_audio_time == pytest.approx(clip.visual_time)
    # every condition: the same video packets (the source's, or the clip's one transcode)
    shared = {tuple(video_packets(out / o.file_name)) for o in outputs.values()}
    assert len(shared) == 1


@pytest.mark.parametrize("name", [r[0] for r in REAL])
def test_swap_carries_the_donor_sound_placed_at_the_visual_time(materialized, name):
    out, results = materialized
    clip, donor, _, outputs = results[name]
    swapped = media.decode_audio(out / outputs["swap"].file_name)
    own = media.decode_audio(clip.path)
    donor_audio = media.decode_audio(donor.path)
    expected = conform(donor_audio.samples, donor_audio.sample_rate, own.sample_rate, own.samples.shape[0])
    # the donor sound, moved so its event sits at the recipient's visual time
    lag = measure_lag(expected, swapped.samples, own.sample_rate, max_lag_s=4.0)
    want = round((clip.visual_time - donor.audio_time) * own.sample_rate)
    assert abs(lag - want) <= own.sample_rate // 1000, (lag, want)
    n = min(own.samples.shape[1], swapped.samples.shape[1])
    corr_own = np.corrcoef(own.samples.mean(0)[:n], swapped.samples.mean(0)[:n])[0, 1]
    assert abs(corr_own) < 0.2, "the swapped audio still correlates with the clip's own sound"
    assert outputs["swap"].donor_clip_id == donor.clip_id != clip.clip_id


@pytest.mark.parametrize("name", [r[0] for r in REAL])
def test_conditions_do_not_leak_through_the_container(materialized, name):
    out, results = materialized
    clip, _, _, outputs = results[name]
    paths = [out / o.file_name for o in outputs.values()]
    layouts = {tuple(stream_layout(p)) for p in paths}
    assert len(layouts) == 1, layouts
    durations = [media.probe(p).duration for p in paths]
    frame = 1 / media.probe(clip.path).video.fps
    assert max(durations) - min(durations) <= frame
    audio_durations = {round(media.decode_audio(p).duration, 6) for p in paths}
    assert len(audio_durations) == 1
    names = [o.file_name for o in outputs.values()]
    assert len(set(names)) == 4
    for n in names:
        stem = n.rsplit(".", 1)[0]
        assert len(stem) == 24 and all(ch in "0123456789abcdef" for ch in stem)


def test_container_rule_every_probe_is_an_mp4_vp8_transcoded_once(materialized):
    out, results = materialized
    for name, (clip, _, _, outputs) in results.items():
        vp8 = name.endswith(".webm")
        assert media.probe(clip.path).video.codec == ("vp8" if vp8 else "h264")
        for o in outputs.values():
            assert o.file_name.endswith(".mp4"), name
            assert o.video_transcoded is vp8, name
            info = media.probe(out / o.file_name)
            assert "mp4" in info.format_name.split(",") and info.video.codec == "h264"
            assert info.audio.codec == "aac"


@pytest.mark.parametrize("index", [0, 3], ids=["mp4", "webm-transcoded"])
def test_same_inputs_give_byte_identical_files(real_clips_dir, tmp_path, index):
    name, visual, audio, tau = REAL[index]
    clip = real_clip(real_clips_dir, name, visual, audio)
    donor = real_clip(real_clips_dir, *REAL[(index + 1) % len(REAL)][:3])
    plan = ClipPlan(clip.clip_id, "test", tau, donor.clip_id)
    a = materialize_clip(clip, plan, donor, tmp_path / "a")
    b = materialize_clip(clip, plan, donor, tmp_path / "b")
    assert a == b
    for o in a.values():
        assert (tmp_path / "a" / o.file_name).read_bytes() == (tmp_path / "b" / o.file_name).read_bytes()
    other = materialize_clip(clip, ClipPlan(clip.clip_id, "test", tau / 2, donor.clip_id), donor, tmp_path / "c")
    assert other["shift/0"].file_name != a["shift/0"].file_name
    assert other["original"].file_name == a["original"].file_name


def test_encode_settings_are_the_same_for_every_condition(materialized):
    out, results = materialized
    _, _, _, outputs = results[REAL[1][0]]
    rates = set()
    for o in outputs.values():
        with av.open(str(out / o.file_name)) as c:
            a = c.streams.audio[0]
            rates.add((a.codec_context.name, a.codec_context.sample_rate, a.codec_context.channels, a.codec_context.profile))
    assert len(rates) == 1


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="the ffmpeg CLI (independent decoder) is not installed")
def test_an_independent_decoder_hears_the_same_shift(materialized):
    out, results = materialized
    for name in (REAL[0][0], REAL[3][0]):
        clip, _, tau, outputs = results[name]
        pcm = ffmpeg_pcm

        sr = media.probe(clip.path).audio.sample_rate
        lag = measure_lag(pcm(out / outputs["original"].file_name), pcm(out / outputs["shift/0"].file_name), sr)
        assert abs(lag / sr - tau) <= 0.001, (name, lag / sr, tau)
        # and the original lines up with the source as ffmpeg decodes it
        assert abs(measure_lag(pcm(clip.path), pcm(out / outputs["original"].file_name), sr)) <= sr // 1000


def test_bad_files_get_errors_naming_the_file(real_clips_dir, tmp_path):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    with pytest.raises(media.MediaError, match="corrupt.mp4"):
        media.probe(corrupt)
    with pytest.raises(media.MediaError, match="missing.mp4: file not found"):
        media.probe(tmp_path / "missing.mp4")
    silent_video = tmp_path / "noaudio.mp4"
    subprocess_free_remux(real_clips_dir / REAL[4][0], silent_video)
    assert media.probe(silent_video).audio is None
    with pytest.raises(media.MediaError, match="noaudio.mp4: no audio stream"):
        media.decode_audio(silent_video)


def subprocess_free_remux(src, dst):
    """Copy only the video stream of ``src`` into ``dst`` (a file with no audio stream)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        v = out.add_stream_from_template(inp.streams.video[0])
        for p in inp.demux(inp.streams.video[0]):
            if p.dts is None:
                continue
            p.stream = v
            out.mux(p)


def test_encode_settings_default():
    assert EncodeSettings().codec == "aac"


def test_mpeg1_program_stream_goes_to_mp4_with_exact_timing(real_clips_dir, tmp_path):
    src = tmp_path / "clip.mpg"
    write_mpeg1(real_clips_dir / REAL[0][0], src)
    info = media.probe(src)
    assert info.video.codec == "mpeg1video" and info.start_time > 0.1  # starts late, like .mpg files
    assert info.output_format == "mp4"
    clip = Clip("mpg", str(src), "event", 1.5, "sound", 1.5)
    donor = real_clip(real_clips_dir, *REAL[1][:3])
    outputs = materialize_clip(clip, ClipPlan("mpg", "test", -0.8, donor.clip_id), donor, tmp_path / "out")
    for key, out in outputs.items():
        assert out.file_name.endswith(".mp4")
        check = check_condition(src, tmp_path / "out" / out.file_name, out.condition, out.offset_s)
        assert check.ok, (key, check.problems)
