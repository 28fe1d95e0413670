"""The model options ``thud run`` and ``thud check-audio`` share, defined once.

Both commands build an answerer from ``--model`` and the same options
(:func:`add_model_arguments`), and hand them to
:func:`thud_models.registry.make_answerer` the same way (:func:`answerer_options`). Every
option defaults to "not given" (None): the answerer's own default applies, and an option
the chosen ``--model`` does not take is an error naming it.
"""

from __future__ import annotations

import argparse

from thud_models.adapters.openai_compat import AUDIO_MODES


def _positive(kind: type):
    """An argparse type: a number of ``kind`` above 0 (an int at least 1)."""

    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be {'>= 1' if kind is int else '> 0'}, got {value}")
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


_positive_int, _positive_float = _positive(int), _positive(float)


def add_model_arguments(parser: argparse.ArgumentParser, *, model_help: str) -> None:
    """``--model`` and the options of the answerers, in groups by the kind they apply to."""
    parser.add_argument("--model", required=True, help=model_help)
    parser.add_argument(
        "--cache-dir",
        help="Thud's cache root for this command: probe videos go to DIR/videos, canary clips "
        "to DIR/canaries (default: $THUD_CACHE, else ~/.cache/thud)",
    )
    g = parser.add_argument_group("openai:<model> (a model behind an OpenAI-compatible server)")
    g.add_argument("--base-url", help="API root of the server, e.g. http://127.0.0.1:8000/v1")
    g.add_argument("--api-key", help="bearer token (default: $OPENAI_API_KEY)")
    g.add_argument(
        "--audio-mode",
        choices=AUDIO_MODES,
        help="how the sound is sent (default: video, the audio muxed in the mp4, with "
        "use_audio_in_video); see docs/harnesses.md",
    )
    g.add_argument(
        "--concurrency",
        type=_positive_int,
        metavar="N",
        help="requests in flight at once (default: 8); a serving engine answers them together",
    )
    g.add_argument(
        "--timeout", type=_positive_float, metavar="S", help="seconds per request (default: 120)"
    )
    g = parser.add_argument_group("transformers:<model> (a local model)")
    g.add_argument(
        "--batch-size",
        type=_positive_int,
        metavar="N",
        help="probes generated together (default: 1); probes of similar length share a batch",
    )
    g.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    g.add_argument("--dtype", help="auto, bfloat16, float32, ... (default: the checkpoint's own)")
    g = parser.add_argument_group("both")
    g.add_argument(
        "--num-frames",
        type=_positive_int,
        metavar="N",
        help="frames per video (transformers: default 16; openai frames+audio: default 8)",
    )
    g.add_argument(
        "--max-new-tokens",
        "--max-tokens",
        dest="max_new_tokens",
        type=_positive_int,
        metavar="N",
        help="answer length limit (default: transformers 64, openai 256)",
    )


def answerer_options(args: argparse.Namespace) -> dict:
    """The :func:`~thud_models.registry.make_answerer` options given on the command line
    (None: not given, so the answerer's default applies)."""
    return {
        "base_url": args.base_url,
        "api_key": args.api_key,
        "audio_mode": args.audio_mode,
        "concurrency": args.concurrency,
        "timeout": args.timeout,
        "batch_size": args.batch_size,
        "device": args.device,
        "dtype": args.dtype,
        "num_frames": args.num_frames,
        "max_new_tokens": args.max_new_tokens,
    }
