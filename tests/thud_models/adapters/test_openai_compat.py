"""The OpenAI-compatible adapter: what each audio mode puts on the wire, retries, errors."""

from __future__ import annotations

import socket
import wave
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.wire import closed_port
from thud_dataset.media import decode_audio, probe, read_video_packets
from thud_models.adapters.openai_compat import (
    AUDIO_MODES,
    OpenAICompatAnswerer,
    OpenAICompatError,
    extract_wav,
)
from thud_models.base import Answerer


class Echo:
    """An answerer for the server that answers nothing useful: the tests read the request."""

    name = "echo"

    def answer(self, video_path: str, prompt: str) -> str:
        return "A"


def _packets(path: str) -> list[bytes]:
    with read_video_packets(path) as v:
        return [bytes(p) for p in v.packets]


@pytest.fixture(scope="module")
def clip(canaries) -> str:
    """A canary with beeps: a real mp4 (H.264 + AAC) whose audio is far from silent."""
    return next(c.path for c in canaries if c.variant == "beeps")


def test_is_an_answerer():
    a = OpenAICompatAnswerer("m", "http://127.0.0.1:1/v1")
    assert isinstance(a, Answerer)
    assert a.name == "openai:m"
    assert "api_key" not in a.metadata() and a.metadata()["audio_mode"] == "video"


def test_video_mode_sends_the_file_and_the_flag(loopback, clip, wire):
    server = loopback(answerer=Echo())
    a = OpenAICompatAnswerer("omni", server.base_url, audio_mode="video")
    assert a.answer(clip, "Can you hear a beep?") == "A"
    body, cap = server.requests[0], server.captured[0]
    assert body["model"] == "omni" and body["temperature"] == 0.0
    assert body["mm_processor_kwargs"] == {"use_audio_in_video": True}
    assert cap.parts == ["video_url", "text"]
    assert cap.video_mime == "video/mp4"
    # the very file, audio track included: byte for byte
    assert cap.video == Path(clip).read_bytes()
    assert cap.audio_wav is None and not cap.images
    assert cap.texts[-1] == "Can you hear a beep?"


@pytest.mark.parametrize("audio_part", ["input_audio", "audio_url"])
def test_video_plus_audio_mode_sends_the_same_audio_as_a_part(loopback, clip, wire, audio_part):
    server = loopback(answerer=Echo())
    a = OpenAICompatAnswerer(
        "omni", server.base_url, audio_mode="video+audio", audio_part=audio_part
    )
    a.answer(clip, "q")
    body, cap = server.requests[0], server.captured[0]
    assert "mm_processor_kwargs" not in body
    assert cap.parts == ["video_url", audio_part, "text"]
    assert cap.audio_part == audio_part
    assert cap.video == Path(clip).read_bytes()
    samples, rate = wire.read_wav(cap.audio_wav)
    own = decode_audio(clip)
    # the same samples as the file's track, aligned to the first frame (16-bit rounding only)
    assert rate == own.sample_rate and samples.shape == own.samples.shape
    assert np.max(np.abs(samples - own.samples)) < 1e-4
    assert np.max(np.abs(samples)) > 0.4  # the beeps are in it


def test_frames_plus_audio_mode_sends_frames_and_audio(loopback, clip, wire):
    server = loopback(answerer=Echo())
    a = OpenAICompatAnswerer("omni", server.base_url, audio_mode="frames+audio", num_frames=5)
    a.answer(clip, "q")
    cap = server.captured[0]
    assert cap.parts == ["image_url"] * 5 + ["text", "input_audio", "text"]
    assert cap.video is None
    assert cap.image_mimes == ["image/jpeg"] * 5
    info = probe(clip)
    # the frames are the first at or after the centres of 5 equal segments (0.3, 0.9, ...
    # s; 25 fps), and their real times are stated, from the audio's origin
    assert "at 0.32, 0.92, 1.52, 2.12, 2.72 seconds" in cap.texts[0]
    for data in cap.images:
        assert data[:2] == b"\xff\xd8"  # JPEG files
        img = wire.decode_image(data)
        assert img.shape == (info.video.height, info.video.width, 3)
    samples, _ = wire.read_wav(cap.audio_wav)
    assert np.max(np.abs(samples - decode_audio(clip).samples)) < 1e-4


def test_png_frames(loopback, clip, wire):
    server = loopback(answerer=Echo())
    OpenAICompatAnswerer(
        "omni", server.base_url, audio_mode="frames+audio", num_frames=2, image_format="png"
    ).answer(clip, "q")
    cap = server.captured[0]
    assert cap.image_mimes == ["image/png"] * 2
    assert all(d[:8] == b"\x89PNG\r\n\x1a\n" for d in cap.images)


def test_shifted_audio_stays_shifted_in_the_audio_part(tmp_path, canaries):
    """The extracted WAV keeps the track's timeline: a late beep is late in the part too."""
    from thud_dataset.media import encode_audio, mux

    src = next(c.path for c in canaries if c.variant == "1 beep")
    own = decode_audio(src).samples
    late = np.zeros_like(own)
    late[:, 8000:] = own[:, :-8000]  # +0.5 s
    with read_video_packets(src) as v:
        out = tmp_path / "late.mp4"
        out.write_bytes(mux(v, encode_audio(late, 16000)))
    with wave.open(BytesIO(extract_wav(out))) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    onset = lambda x: int(np.argmax(np.abs(x) > 0.05 * np.abs(x).max()))  # noqa: E731
    assert abs((onset(pcm) - onset(own[0])) - 8000) <= 2


def test_retries_5xx_then_succeeds(loopback, clip):
    server = loopback(answerer=Echo(), fail=[503, 500])
    a = OpenAICompatAnswerer("omni", server.base_url, max_retries=3, backoff_s=0.01)
    assert a.answer(clip, "q") == "A"
    assert len(server.requests) == 3


def test_gives_up_after_retries_naming_server_and_status(loopback, clip):
    server = loopback(answerer=Echo(), fail=[503] * 5)
    a = OpenAICompatAnswerer("omni", server.base_url, max_retries=1, backoff_s=0.01)
    with pytest.raises(OpenAICompatError) as e:
        a.answer(clip, "q")
    assert len(server.requests) == 2
    assert e.value.status == 503
    assert (
        server.base_url in str(e.value) and "HTTP 503" in str(e.value) and "2 tries" in str(e.value)
    )


def test_client_error_is_not_retried_and_carries_the_server_message(loopback, clip):
    server = loopback(answerer=Echo(), fail=[400])
    a = OpenAICompatAnswerer("omni", server.base_url, max_retries=3, backoff_s=0.01)
    with pytest.raises(OpenAICompatError, match=r"HTTP 400.*the test server says no") as e:
        a.answer(clip, "q")
    assert len(server.requests) == 1 and e.value.status == 400
    assert "omni" in str(e.value)


def test_unreachable_server(clip):
    port = closed_port()
    a = OpenAICompatAnswerer("omni", f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=5)
    with pytest.raises(
        OpenAICompatError, match=rf"127.0.0.1:{port}/v1/chat/completions: cannot reach"
    ):
        a.answer(clip, "q")


def test_urls_and_arguments():
    assert OpenAICompatAnswerer("m", "http://h:8000").url == "http://h:8000/v1/chat/completions"
    assert OpenAICompatAnswerer("m", "http://h:8000/v1/").url == "http://h:8000/v1/chat/completions"
    assert (
        OpenAICompatAnswerer("m", "https://x.ai/api/v1").url
        == "https://x.ai/api/v1/chat/completions"
    )
    with pytest.raises(ValueError, match="audio_mode"):
        OpenAICompatAnswerer("m", "http://h", audio_mode="frames")
    with pytest.raises(ValueError, match="base_url"):
        OpenAICompatAnswerer("m", "h:8000")
    with pytest.raises(ValueError, match="audio_part"):
        OpenAICompatAnswerer("m", "http://h", audio_part="mp3")
    with pytest.raises(FileNotFoundError):
        OpenAICompatAnswerer("m", "http://h").build_request("/no/such.mp4", "q")


def test_api_key_and_extra_body(loopback, clip):
    server = loopback(answerer=Echo())
    a = OpenAICompatAnswerer(
        "omni", server.base_url, api_key="k", extra_body={"top_k": 1, "max_tokens": 8}
    )
    a.answer(clip, "q")
    body = server.requests[0]
    assert body["top_k"] == 1 and body["max_tokens"] == 8
    assert server.headers[0]["Authorization"] == "Bearer k"
    assert set(AUDIO_MODES) == {"video", "video+audio", "frames+audio"}
    assert (
        a.with_audio_mode("frames+audio").audio_mode == "frames+audio" and a.audio_mode == "video"
    )


# -- throughput and failure handling (issue 15, issue 12) -------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(loopback, clip, status):
    server = loopback(answerer=Echo(), fail=[(status, {"Retry-After": "1"})])
    a = OpenAICompatAnswerer("omni", server.base_url, max_retries=3, backoff_s=0.01)
    assert a.answer(clip, "q") == "A"
    assert len(server.requests) == 2
    # measured on the server: the second try came at least the asked second after the first
    assert server.arrivals[1] - server.arrivals[0] >= 1.0


def test_retry_after_beyond_the_limit_fails_the_probe_at_once(loopback, clip):
    server = loopback(answerer=Echo(), fail=[(429, {"Retry-After": "3600"})])
    a = OpenAICompatAnswerer("omni", server.base_url, max_retries=3, backoff_s=0.01)
    with pytest.raises(OpenAICompatError, match="retry after 3600 s") as e:
        a.answer(clip, "q")
    assert e.value.status == 429 and len(server.requests) == 1


def test_refused_connection_is_final_and_not_retried(clip, connects):
    from thud_models.adapters.openai_compat import ServerUnreachable
    from thud_models.base import AnswererUnavailable

    port = closed_port()
    a = OpenAICompatAnswerer("omni", f"http://127.0.0.1:{port}/v1", max_retries=3, backoff_s=30)
    with pytest.raises(ServerUnreachable, match="connection refused") as e:
        a.answer(clip, "q")
    assert isinstance(e.value, AnswererUnavailable)  # what ends a run at once
    mine = [c for c in connects if c.endswith(f":{port}")]  # not an earlier test's threads
    assert mine == [f"127.0.0.1:{port}"]  # one attempt, no retry (and no 30 s backoff)


def test_timeouts_are_still_retried(clip, connects):
    """A server that accepts but never answers: each try times out, then the next comes."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)  # accepted by the kernel, never answered
        port = s.getsockname()[1]
        a = OpenAICompatAnswerer(
            "omni", f"http://127.0.0.1:{port}/v1", max_retries=1, backoff_s=0.01, timeout=0.3
        )
        with pytest.raises(OpenAICompatError, match="no response within 0.3 s.*2 tries"):
            a.answer(clip, "q")
    assert len([c for c in connects if c.endswith(f":{port}")]) == 2


def test_concurrency_is_an_answerer_setting():
    a = OpenAICompatAnswerer("m", "http://h:1/v1")
    assert a.concurrency == 8 and a.metadata()["concurrency"] == 8
    assert OpenAICompatAnswerer("m", "http://h:1/v1", concurrency=32).concurrency == 32
    with pytest.raises(ValueError, match="concurrency"):
        OpenAICompatAnswerer("m", "http://h:1/v1", concurrency=0)
