"""Loopback OpenAI-compatible test servers for the adapter and the audio-path check.

A :class:`LoopbackServer` is a tiny ``http.server`` on 127.0.0.1 (a free port) that answers
``POST /v1/chat/completions`` the way a real server would reach a model: it decodes the data
URIs of the request (video, audio part, frames), rebuilds the media the "model" gets, writes
it to a temporary mp4 and asks a listening answerer (:class:`EnergyListener` by default, or
any answerer, e.g. the signal baseline). What
reaches that answerer depends on the server's ``behaviour``:

* ``"honest"`` — like vLLM serving Qwen-Omni: a video's own audio is used only when the
  request sets ``mm_processor_kwargs.use_audio_in_video``; a separate audio part replaces it;
  frames are turned back into a video with the audio part under them.
* ``"ignores_flag"`` — a server that never takes the audio out of a video (the reported
  silent failure) but does use a separate audio part.
* ``"strip"`` — the audio never arrives: the answerer always gets a muted copy.

Every request is recorded (``server.requests``: the parsed JSON body; ``server.arrivals``: when
it arrived, ``time.monotonic()``) with a decoded view of it (``server.captured``), and the
most requests it held at once (``server.max_in_flight``; ``hold_s`` keeps each request open
that long before answering, as a busy serving engine does). The server is bounded: it
serves on a daemon thread and is shut down and joined at fixture teardown.
"""

from __future__ import annotations

import base64
import io
import json
import tempfile
import threading
import time
import wave
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import numpy as np


def closed_port() -> int:
    """A port on 127.0.0.1 with nobody listening (connections to it are refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def count_connects(monkeypatch) -> list[str]:
    """Record ``host:port`` of every TCP connection ``http.client`` attempts (each still
    made for real), so a test can tell one attempt from a retry."""
    import http.client

    calls: list[str] = []
    real = http.client.HTTPConnection.connect

    def counted(self):
        calls.append(f"{self.host}:{self.port}")
        return real(self)

    monkeypatch.setattr(http.client.HTTPConnection, "connect", counted)
    return calls


def decode_data_uri(uri: str) -> tuple[str, bytes]:
    """``data:<mime>;base64,<data>`` -> (mime, bytes)."""
    if not uri.startswith("data:") or ";base64," not in uri:
        raise ValueError(f"not a base64 data URI: {uri[:40]!r}")
    head, data = uri[5:].split(";base64,", 1)
    return head, base64.b64decode(data)


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """A 16-bit PCM WAV -> float32 (channels, n) and its rate."""
    with wave.open(io.BytesIO(data)) as w:
        assert w.getsampwidth() == 2, "the audio part must be 16-bit PCM"
        channels, rate = w.getnchannels(), w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    return (pcm.reshape(-1, channels).T.astype(np.float32) / 32767.0), rate


def decode_image(data: bytes) -> np.ndarray:
    """A PNG or JPEG file -> RGB uint8 (h, w, 3), with PyAV."""
    with av.open(io.BytesIO(data)) as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")


@dataclass
class Captured:
    """What one request carried, decoded."""

    parts: list[str] = field(default_factory=list)  # content part types, in order
    video: bytes | None = None
    video_mime: str | None = None
    audio_wav: bytes | None = None
    audio_part: str | None = None
    images: list[bytes] = field(default_factory=list)
    image_mimes: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    use_audio_in_video: bool = False
    heard: str | None = None  # what the answerer was given: "video audio", "audio part", "muted"


def parse_request(body: dict[str, Any]) -> Captured:
    cap = Captured()
    cap.use_audio_in_video = bool((body.get("mm_processor_kwargs") or {}).get("use_audio_in_video"))
    for message in body["messages"]:
        content = message["content"]
        if isinstance(content, str):
            cap.parts.append("text")
            cap.texts.append(content)
            continue
        for part in content:
            kind = part["type"]
            cap.parts.append(kind)
            if kind == "text":
                cap.texts.append(part["text"])
            elif kind == "video_url":
                cap.video_mime, cap.video = decode_data_uri(part["video_url"]["url"])
            elif kind == "image_url":
                mime, data = decode_data_uri(part["image_url"]["url"])
                cap.image_mimes.append(mime)
                cap.images.append(data)
            elif kind == "input_audio":
                assert part["input_audio"]["format"] == "wav"
                cap.audio_wav = base64.b64decode(part["input_audio"]["data"])
                cap.audio_part = kind
            elif kind == "audio_url":
                _, cap.audio_wav = decode_data_uri(part["audio_url"]["url"])
                cap.audio_part = kind
            else:
                raise ValueError(f"unknown content part {kind!r}")
    return cap


def _mux_audio(video_file: Path, samples: np.ndarray, rate: int, out: Path) -> None:
    from thud_dataset.media import encode_audio, mux, read_video_packets

    with read_video_packets(video_file) as packets:
        out.write_bytes(mux(packets, encode_audio(samples, rate)))


def _frames_video(images: list[bytes], samples: np.ndarray, rate: int, out: Path) -> None:
    """A 25 fps video showing the received frames in order, over the received audio."""
    from thud_dataset.sources.synthetic import SYNTHETIC_SAMPLE_RATE, write_mp4

    mono = samples.mean(axis=0)
    if rate != SYNTHETIC_SAMPLE_RATE:
        import soxr

        mono = soxr.resample(mono, rate, SYNTHETIC_SAMPLE_RATE)
    duration = len(mono) / SYNTHETIC_SAMPLE_RATE
    decoded = [decode_image(b) for b in images]
    n = max(1, round(duration * 25))
    frames = np.stack([decoded[min(i * len(decoded) // n, len(decoded) - 1)] for i in range(n)])
    write_mp4(frames, mono.astype(np.float32), out)


def media_for_model(cap: Captured, behaviour: str, work: Path) -> Path:
    """The mp4 the listening answerer gets, as a server of ``behaviour`` would pass it on."""
    from thud_dataset.media import decode_audio

    received = work / "received.mp4"
    out = work / "model_input.mp4"
    if cap.audio_wav is not None:
        samples, rate = read_wav(cap.audio_wav)
    if cap.video is not None:
        received.write_bytes(cap.video)
        own = decode_audio(received)
        if behaviour == "strip":
            samples, rate, cap.heard = np.zeros_like(own.samples), own.sample_rate, "muted"
        elif cap.audio_wav is not None:
            cap.heard = "audio part"
        elif cap.use_audio_in_video and behaviour == "honest":
            samples, rate, cap.heard = own.samples, own.sample_rate, "video audio"
        else:  # the frames of the video only: the model gets no sound
            samples, rate, cap.heard = np.zeros_like(own.samples), own.sample_rate, "muted"
        _mux_audio(received, samples, rate, out)
        return out
    if cap.images and cap.audio_wav is not None:
        if behaviour == "strip":
            samples, cap.heard = np.zeros_like(samples), "muted"
        else:
            cap.heard = "audio part"
        _frames_video(cap.images, samples, rate, out)
        return out
    raise ValueError("the request holds neither a video nor frames with audio")


class EnergyListener:
    """A listener with no weights and no dependencies: it measures the sound it is given.

    Yes/no questions about hearing (options ``(A) Yes`` / ``(B) No``) are answered from the
    loudest 50 ms (above -60 dBFS: heard); "how many beeps" from the number of loud bursts.
    The signal baseline (``thud_models.baselines.signal``) does the same for existence
    questions and is used where a test names it; this one keeps the server tests independent
    of its tuning.
    """

    name = "energy"

    def answer(self, video_path: str, prompt: str) -> str:
        from thud_dataset.media import decode_audio

        x = np.abs(decode_audio(video_path).samples).max(axis=0)
        if "how many beeps" in prompt.lower():
            loud = x > 0.1 * max(float(x.max()), 1e-9) if x.max() > 1e-3 else np.zeros_like(x, bool)
            idx = np.flatnonzero(loud)
            bursts = 0 if idx.size == 0 else 1 + int(np.sum(np.diff(idx) > 1600))  # 0.1 s apart
            return f"I hear {bursts} beeps."
        window = 800  # 50 ms at 16 kHz
        power = np.convolve(x.astype(np.float64) ** 2, np.ones(window) / window, mode="valid")
        dbfs = 10 * np.log10(max(float(power.max()), 1e-20))
        return "A" if dbfs > -60 else "B"


class ContentHash:
    """An answerer whose answer is a hash of the sound it is given and of the prompt: a
    different answer for every probe, the same for the same probe, so a run whose answers
    were routed to the wrong probe (or sent the wrong media) cannot go unnoticed."""

    name = "content-hash"

    def answer(self, video_path: str, prompt: str) -> str:
        import hashlib

        from thud_dataset.media import decode_audio

        samples = decode_audio(video_path).samples
        digest = hashlib.sha256(np.round(samples, 3).tobytes() + prompt.encode()).hexdigest()
        return f"answer {digest[:16]}"


class LoopbackServer:
    """An OpenAI-compatible chat-completions server on 127.0.0.1 (see the module docstring).

    ``fail`` is a list of HTTP statuses answered, in order, to the first requests (then it
    serves normally), each an ``int`` or ``(status, {header: value})`` (e.g.
    ``(429, {"Retry-After": "1"})``); ``error_body`` is the JSON sent with them. ``hold_s``
    keeps every request open that long before it is answered.
    """

    def __init__(
        self,
        answerer=None,
        behaviour: str = "honest",
        fail: list[int | tuple[int, dict[str, str]]] | None = None,
        hold_s: float = 0.0,
    ):
        answerer = answerer or EnergyListener()
        assert behaviour in ("honest", "ignores_flag", "strip")
        self.answerer = answerer
        self.behaviour = behaviour
        self.fail = list(fail or [])
        self.hold_s = hold_s
        self.arrivals: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.error_body = {
            "error": {"message": "the test server says no", "type": "BadRequestError"}
        }
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.captured: list[Captured] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.arrivals.append(time.monotonic())
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                    status = server.fail.pop(0) if server.fail else None
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if server.hold_s:
                        time.sleep(server.hold_s)
                    reply = self._answer(body, status)
                finally:
                    # counted out before the reply leaves, so a client's next request can
                    # never overlap the one it has just been answered for
                    with server.lock:
                        server.in_flight -= 1
                self._send(*reply)

            def _answer(self, body: dict[str, Any], status: int | tuple | None) -> tuple:
                """``(status, payload, headers)`` of the reply to ``body``."""
                if status:
                    status, headers = status if isinstance(status, tuple) else (status, {})
                    return status, server.error_body, headers
                try:
                    answer = server.answer_request(body)
                except Exception as e:  # a bad request is the client's bug: say so
                    return 400, {"error": {"message": f"{type(e).__name__}: {e}"}}, {}
                return (
                    200,
                    {
                        "id": f"chatcmpl-{len(server.requests)}",
                        "object": "chat.completion",
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": answer},
                                "finish_reason": "stop",
                            }
                        ],
                    },
                    {},
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def answer_request(self, body: dict[str, Any]) -> str:
        """The model's answer to one request body (a subclass may serve another model)."""
        cap = parse_request(body)
        prompt = cap.texts[-1]
        with tempfile.TemporaryDirectory(prefix="thud-loopback-") as tmp:
            media = media_for_model(cap, self.behaviour, Path(tmp))
            answer = self.answerer.answer(str(media), prompt)
        with self.lock:
            self.captured.append(cap)
        return answer

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> LoopbackServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
