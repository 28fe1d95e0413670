"""An answerer that asks a model behind an OpenAI-compatible ``/v1/chat/completions`` server.

The probe's video travels inside the request as a base64 data URI; nothing is uploaded
elsewhere. Servers disagree on how a video's *sound* reaches the model, and several have
silently dropped it (see ``docs/harnesses.md``), so the way the audio is sent is a choice,
``audio_mode``:

``"video"``
    One ``video_url`` part (the mp4, its audio track inside) plus the top-level request field
    ``mm_processor_kwargs: {"use_audio_in_video": true}``. Fits vLLM (and vLLM-Omni) serving
    Qwen2.5-Omni / Qwen3-Omni, whose processor takes the audio out of the video only when
    that flag is set.
``"video+audio"``
    The ``video_url`` part plus the same clip's audio, decoded and sent as a separate audio
    part (WAV, 16-bit PCM). Fits servers that read a video's frames but ignore its audio
    track, and that accept an audio part next to a video (vLLM with omni or audio-capable
    video models, SGLang).
``"frames+audio"``
    ``num_frames`` frames sampled uniformly over the clip as ``image_url`` parts (JPEG or PNG,
    encoded with PyAV), a line giving their times, then the audio part. Fits servers that
    take images and audio but no video: llama.cpp's ``llama-server`` with an omni GGUF,
    Gemini's OpenAI-compatible endpoint, mistral.rs.

The audio part is OpenAI's ``{"type": "input_audio", "input_audio": {"data", "format": "wav"}}``
by default, or ``{"type": "audio_url", "audio_url": {"url": "data:audio/wav;base64,..."}}``
(``audio_part="audio_url"``; vLLM accepts both). ``thud check-audio --all-modes`` tells which
mode reaches the model on a given server.

Only the standard library talks HTTP (``urllib``): no ``openai`` package is needed.

**Throughput.** A serving engine (vLLM, SGLang) answers many requests at once, so the
answerer declares ``concurrency`` (default 8): ``thud run`` and the audio-path check keep
that many requests in flight (:mod:`thud_models.answering`). The answerer is thread-safe.

**Failures.** A timeout, a dropped connection and HTTP 408/409/425/429/5xx are retried
``max_retries`` times with exponential backoff; a ``Retry-After`` header on 429/503 is
honoured, and makes every thread of this answerer hold off until then (one busy server, one
pause). A refused connection or an unknown host is final at once
(:class:`ServerUnreachable`): a run stops on it instead of failing every probe.
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import io
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import wave
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..base import AnswererUnavailable

__all__ = [
    "AUDIO_MODES",
    "AUDIO_PARTS",
    "OpenAICompatAnswerer",
    "OpenAICompatError",
    "ServerUnreachable",
    "encode_frames",
    "extract_wav",
    "video_data_uri",
]

#: the ways to send a video's sound, in the order ``recommend_audio_mode`` prefers them
AUDIO_MODES: tuple[str, ...] = ("video", "video+audio", "frames+audio")
#: the two spellings of an audio content part
AUDIO_PARTS: tuple[str, ...] = ("input_audio", "audio_url")

_VIDEO_MIME = {
    ".mp4": "video/mp4",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
}
# statuses worth another try: the server is busy, restarting or overloaded
_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
# statuses whose Retry-After header says when to come back
_RETRY_AFTER_STATUS = frozenset({429, 503})


class OpenAICompatError(RuntimeError):
    """A request the server refused or could not answer; the message names the server."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None):
        super().__init__(message)
        self.status = status
        self.url = url


class ServerUnreachable(OpenAICompatError, AnswererUnavailable):
    """Nobody answers at the URL (connection refused, unknown host): final, not retried."""


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait: a number, or an HTTP date.

    >>> retry_after_seconds("2"), retry_after_seconds(None), retry_after_seconds("soon")
    (2.0, None, None)
    >>> retry_after_seconds("Thu, 01 Jan 1970 00:00:10 GMT", now=4.0)
    6.0
    """
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _unreachable_reason(reason: object) -> str | None:
    """Why a connection could not even be made, if that is what ``reason`` says."""
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused: is the server running, on this host and port?"
    if isinstance(reason, socket.gaierror):
        return f"unknown host ({reason.strerror or reason}): check the URL"
    return None


# -- media -> request parts ------------------------------------------------------------------


def video_data_uri(video_path: str | Path) -> str:
    """The file as a ``data:<mime>;base64,...`` URI (mime from the extension, mp4 by default)."""
    path = Path(video_path)
    mime = _VIDEO_MIME.get(path.suffix.lower(), "video/mp4")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def extract_wav(video_path: str | Path, *, sample_rate: int | None = None) -> bytes:
    """The video's audio track as a 16-bit PCM WAV file (bytes).

    Decoded with :func:`thud_dataset.media.decode_audio`, so sample 0 is the first video
    frame: the audio part lines up with the picture exactly as the muxed track does (a shift
    probe stays shifted). ``sample_rate`` resamples (soxr); ``None`` keeps the file's rate.
    """
    from thud_dataset.media import decode_audio

    audio = decode_audio(video_path)
    samples, rate = audio.samples, audio.sample_rate
    if sample_rate and sample_rate != rate:
        import soxr

        samples = np.ascontiguousarray(soxr.resample(samples.T, rate, sample_rate).T)
        rate = sample_rate
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(samples.shape[0])
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(np.ascontiguousarray(pcm.T).tobytes())  # interleaved
    return buf.getvalue()


def _encode_image(rgb: np.ndarray, image_format: str) -> bytes:
    """One RGB frame as a PNG or JPEG file, with PyAV's encoders (no Pillow needed)."""
    import av

    h, w = rgb.shape[:2]
    if image_format == "png":
        codec, pix = "png", "rgb24"
    elif image_format == "jpeg":
        # mjpeg frames are JPEG files; yuvj420p is its full-range pixel format
        codec, pix = "mjpeg", "yuvj420p"
        w, h = w - w % 2, h - h % 2
        rgb = rgb[:h, :w]
    else:
        raise ValueError(f"image_format must be 'jpeg' or 'png', got {image_format!r}")
    ctx = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height, ctx.pix_fmt = w, h, pix
    ctx.time_base = Fraction(1, 25)
    ctx.flags |= av.codec.context.Flags.bitexact
    if codec == "mjpeg":
        ctx.flags |= av.codec.context.Flags.qscale
        ctx.global_quality = 3 * 118  # qscale 3 (FF_QP2LAMBDA = 118): visually lossless
    ctx.open()
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    frame = frame.reformat(format=pix)
    frame.pts = 0
    return b"".join(bytes(p) for p in [*ctx.encode(frame), *ctx.encode(None)])


def encode_frames(
    video_path: str | Path, num_frames: int = 8, *, image_format: str = "jpeg"
) -> tuple[list[bytes], list[float]]:
    """``num_frames`` frames at the centres of equal segments of the clip, and their times (s).

    Times count from the first frame, the same origin as the audio part, so a model can
    line the frames up with the sound.
    """
    import av

    from thud_dataset.media import MediaError, probe

    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    info = probe(video_path)
    duration = info.duration
    targets = [(i + 0.5) * duration / num_frames for i in range(num_frames)]
    decoded: list[tuple[float, np.ndarray]] = []
    last: tuple[float, av.VideoFrame] | None = None
    with av.open(str(video_path)) as container:
        start = info.video.start_time
        for frame in container.decode(container.streams.video[0]):
            t = float(frame.pts * frame.time_base) - start if frame.pts is not None else 0.0
            last = (t, frame)
            # the first frame at or after each target time
            while len(decoded) < num_frames and t + 1e-6 >= targets[len(decoded)]:
                decoded.append((t, frame.to_ndarray(format="rgb24")))
            if len(decoded) == num_frames:
                break
    if last is None:
        raise MediaError(f"{video_path}: no video frame could be decoded")
    while len(decoded) < num_frames:  # the stream ended before the probed duration
        decoded.append((last[0], last[1].to_ndarray(format="rgb24")))
    images = [_encode_image(rgb, image_format) for _, rgb in decoded]
    return images, [round(t, 3) for t, _ in decoded]


# -- the answerer --------------------------------------------------------------------------


def _chat_url(base_url: str) -> str:
    """``<base_url>/chat/completions``; a bare ``http://host:port`` gets ``/v1`` first."""
    base = base_url.strip().rstrip("/")
    parsed = urllib.parse.urlparse(base)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(
            f"base_url must be an http(s) URL such as http://127.0.0.1:8000/v1, got {base_url!r}"
        )
    if parsed.path in ("", "/"):
        base += "/v1"
    if base.endswith("/chat/completions"):
        return base
    return base + "/chat/completions"


class OpenAICompatAnswerer:
    """Ask a model served behind an OpenAI-compatible chat-completions endpoint.

    Parameters
    ----------
    model
        The model name the server knows (``"Qwen/Qwen2.5-Omni-7B"``).
    base_url
        The API root, e.g. ``http://127.0.0.1:8000/v1`` (``/v1`` is added to a bare host).
    api_key
        Sent as ``Authorization: Bearer``; defaults to ``$OPENAI_API_KEY`` when set.
    audio_mode
        How the sound is sent: ``"video"``, ``"video+audio"`` or ``"frames+audio"``
        (module docstring; :data:`AUDIO_MODES`).
    timeout
        Seconds to wait for one response.
    max_tokens, temperature
        Generation settings; temperature 0 keeps answers repeatable.
    num_frames
        Frames sent in ``"frames+audio"`` mode.
    audio_part
        ``"input_audio"`` (OpenAI's spelling) or ``"audio_url"`` (a data URI).
    audio_sample_rate
        Resample the audio part to this rate; ``None`` keeps the clip's rate.
    image_format
        ``"jpeg"`` or ``"png"`` for the frames.
    system_prompt
        An optional system message.
    extra_body
        Fields merged into the request body (e.g. ``{"top_k": 1}``); they override Thud's.
    max_retries, backoff_s
        Tries after a timeout, a dropped connection or a 408/429/5xx answer, waiting
        ``backoff_s * 2**i`` seconds before try ``i + 1`` (or what ``Retry-After`` asks).
    concurrency
        Requests a run keeps in flight at once (the server's batch; vLLM grows its
        throughput almost linearly with it until the GPU is full).
    max_retry_after_s
        The longest ``Retry-After`` honoured; a server asking for more fails the probe.
    """

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        audio_mode: str = "video",
        *,
        timeout: float = 120.0,
        max_tokens: int = 256,
        temperature: float = 0.0,
        num_frames: int = 8,
        audio_part: str = "input_audio",
        audio_sample_rate: int | None = None,
        image_format: str = "jpeg",
        system_prompt: str | None = None,
        extra_body: dict[str, Any] | None = None,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        concurrency: int = 8,
        max_retry_after_s: float = 120.0,
    ) -> None:
        if not model:
            raise ValueError(
                "model must be the name the server serves, e.g. 'Qwen/Qwen2.5-Omni-7B'"
            )
        if audio_mode not in AUDIO_MODES:
            raise ValueError(f"audio_mode must be one of {AUDIO_MODES}, got {audio_mode!r}")
        if audio_part not in AUDIO_PARTS:
            raise ValueError(f"audio_part must be one of {AUDIO_PARTS}, got {audio_part!r}")
        if image_format not in ("jpeg", "png"):
            raise ValueError(f"image_format must be 'jpeg' or 'png', got {image_format!r}")
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.model = model
        self.base_url = base_url
        self.url = _chat_url(base_url)
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.audio_mode = audio_mode
        self.timeout = float(timeout)
        self.max_tokens = int(max_tokens)
        self.temperature = float(temperature)
        self.num_frames = int(num_frames)
        self.audio_part = audio_part
        self.audio_sample_rate = audio_sample_rate
        self.image_format = image_format
        self.system_prompt = system_prompt
        self.extra_body = dict(extra_body or {})
        self.max_retries = int(max_retries)
        self.backoff_s = float(backoff_s)
        self.concurrency = int(concurrency)
        self.max_retry_after_s = float(max_retry_after_s)
        self.name = f"openai:{model}"
        # a Retry-After pause shared by every thread asking through this answerer
        self._pause = _Pause()

    def __repr__(self) -> str:
        return f"OpenAICompatAnswerer(model={self.model!r}, base_url={self.base_url!r}, audio_mode={self.audio_mode!r})"

    def metadata(self) -> dict[str, Any]:
        """What a predictions file records about this answerer (never the API key)."""
        return {
            "adapter": "openai_compat",
            "model": self.model,
            "base_url": self.base_url,
            "audio_mode": self.audio_mode,
            "audio_part": self.audio_part,
            "num_frames": self.num_frames if self.audio_mode == "frames+audio" else None,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "concurrency": self.concurrency,
        }

    def with_audio_mode(self, audio_mode: str) -> OpenAICompatAnswerer:
        """A copy of this answerer that sends the audio the ``audio_mode`` way."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        if audio_mode not in AUDIO_MODES:
            raise ValueError(f"audio_mode must be one of {AUDIO_MODES}, got {audio_mode!r}")
        clone.audio_mode = audio_mode
        return clone

    # -- request building --

    def _audio_part(self, video_path: str) -> dict[str, Any]:
        data = base64.b64encode(extract_wav(video_path, sample_rate=self.audio_sample_rate)).decode(
            "ascii"
        )
        if self.audio_part == "input_audio":
            return {"type": "input_audio", "input_audio": {"data": data, "format": "wav"}}
        return {"type": "audio_url", "audio_url": {"url": "data:audio/wav;base64," + data}}

    def build_request(self, video_path: str | Path, prompt: str) -> dict[str, Any]:
        """The JSON body sent for one probe (useful to inspect what a mode sends)."""
        video_path = str(video_path)
        if not Path(video_path).is_file():
            raise FileNotFoundError(f"{video_path}: video file not found")
        content: list[dict[str, Any]] = []
        body: dict[str, Any] = {}
        if self.audio_mode in ("video", "video+audio"):
            content.append({"type": "video_url", "video_url": {"url": video_data_uri(video_path)}})
            if self.audio_mode == "video":
                # vLLM reads it from the request body (the openai client's extra_body)
                body["mm_processor_kwargs"] = {"use_audio_in_video": True}
            else:
                content.append(self._audio_part(video_path))
        else:
            images, times = encode_frames(
                video_path, self.num_frames, image_format=self.image_format
            )
            mime = "image/jpeg" if self.image_format == "jpeg" else "image/png"
            for img in images:
                uri = f"data:{mime};base64," + base64.b64encode(img).decode("ascii")
                content.append({"type": "image_url", "image_url": {"url": uri}})
            stamps = ", ".join(f"{t:.2f}" for t in times)
            content.append(
                {
                    "type": "text",
                    "text": f"The images above are {len(images)} frames of the video at {stamps} "
                    "seconds. The audio below is the video's soundtrack, from 0 seconds.",
                }
            )
            content.append(self._audio_part(video_path))
        content.append({"type": "text", "text": prompt})
        messages: list[dict[str, Any]] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.append({"role": "user", "content": content})
        body = {
            "model": self.model,
            "messages": messages,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            **body,
        }
        body.update(self.extra_body)
        return body

    # -- HTTP --

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last: OpenAICompatError | None = None
        wait = 0.0
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(max(wait, self.backoff_s * 2 ** (attempt - 1)))
            self._pause.wait()
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            wait = 0.0
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    raw = response.read()
            except urllib.error.HTTPError as e:
                detail = _error_detail(e)
                err = OpenAICompatError(
                    f"{self.url}: HTTP {e.code} {e.reason} for model {self.model!r}: {detail}",
                    status=e.code,
                    url=self.url,
                )
                if e.code not in _RETRY_STATUS:
                    raise err from None
                last = err
                after = retry_after_seconds(e.headers.get("Retry-After")) if e.code in _RETRY_AFTER_STATUS else None
                if after is not None:
                    if after > self.max_retry_after_s:
                        raise OpenAICompatError(
                            f"{err} (the server asks to retry after {after:g} s, more than "
                            f"max_retry_after_s={self.max_retry_after_s:g})",
                            status=e.code,
                            url=self.url,
                        ) from None
                    wait = after
                    self._pause.hold(after)
                continue
            except TimeoutError as e:
                last = OpenAICompatError(
                    f"{self.url}: no response within {self.timeout:g} s ({e})", url=self.url
                )
                continue
            except urllib.error.URLError as e:
                if isinstance(e.reason, TimeoutError):
                    last = OpenAICompatError(
                        f"{self.url}: no response within {self.timeout:g} s", url=self.url
                    )
                    continue
                why = _unreachable_reason(e.reason)
                if why is not None:  # nobody is there: another try cannot help
                    raise ServerUnreachable(
                        f"{self.url}: cannot reach the server, {why}", url=self.url
                    ) from None
                last = OpenAICompatError(
                    f"{self.url}: cannot reach the server ({e.reason})", url=self.url
                )
                continue
            except (ConnectionError, http.client.HTTPException) as e:
                last = OpenAICompatError(
                    f"{self.url}: connection failed ({type(e).__name__}: {e})", url=self.url
                )
                continue
            try:
                return json.loads(raw)
            except json.JSONDecodeError:
                raise OpenAICompatError(
                    f"{self.url}: the response is not JSON: {raw[:200]!r}", url=self.url
                ) from None
        assert last is not None
        raise OpenAICompatError(
            f"{last} (gave up after {self.max_retries + 1} tries)", status=last.status, url=self.url
        )

    def answer(self, video_path: str, prompt: str) -> str:
        """Send the probe and return the model's text answer."""
        reply = self._post(self.build_request(video_path, prompt))
        return _reply_text(reply, self.url)


class _Pause:
    """A moment before which no request may start (set by ``Retry-After``), thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = 0.0

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def wait(self) -> None:
        with self._lock:
            until = self._until
        delay = until - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def _error_detail(e: urllib.error.HTTPError) -> str:
    """The server's own error message, if its body holds one."""
    try:
        body = e.read().decode("utf-8", "replace")
    except Exception:  # the body is a courtesy; the status says enough
        return "(no body)"
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:
        return body.strip()[:500] or "(empty body)"
    err = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(err, dict):
        return str(err.get("message") or err)[:500]
    return str(err)[:500]


def _reply_text(reply: Any, url: str) -> str:
    """``choices[0].message.content`` as text (string or a list of text parts)."""
    try:
        message = reply["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        raise OpenAICompatError(
            f"{url}: the response has no choices[0].message: {json.dumps(reply)[:300]}", url=url
        ) from None
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if content is None:
        # reasoning servers may put everything in reasoning_content when max_tokens runs out
        content = message.get("reasoning_content") or ""
    return str(content)
