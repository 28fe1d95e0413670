"""The trainer's settings, read from a YAML file (``thud train sft|dpo --config FILE``).

Pure Python (no torch), so a config can be checked anywhere. Example files are in
``thud_train/configs/``; every key is documented in ``docs/training.md``. The ``trainer``
mapping of each stage goes to TRL's ``SFTConfig`` / ``DPOConfig`` as keyword arguments, so
any of their fields (``learning_rate``, ``max_steps``, ``beta``, ``bf16``, …) can be set there.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: the example configs shipped with the package
EXAMPLES_DIR = Path(__file__).resolve().parent / "configs"


def resolve_config_path(name: str | os.PathLike) -> str:
    """``name`` if it is a file, else the example config of that name (``tiny_omni``)."""
    path = os.fspath(name)
    if os.path.isfile(path):
        return path
    example = EXAMPLES_DIR / (path if path.endswith((".yaml", ".yml")) else f"{path}.yaml")
    if os.sep not in path and example.is_file():
        return str(example)
    return path


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


class RecipeLoader(yaml.SafeLoader):
    """YAML with YAML 1.2's plain scalars: only ``true``/``false`` are booleans.

    PyYAML follows YAML 1.1, where ``no``, ``off`` and ``yes`` are booleans (so
    ``save_strategy: no`` would reach TRL as ``False``), ``1e-4`` is text (no dot),
    ``0755`` is octal and ``2024-01-01`` a date. Here those are the text or the number a
    reader of the recipe expects.

    >>> yaml.load("{a: no, b: 1e-4, c: true, d: 0755, e: 2024-01-01, f: .5}", RecipeLoader)
    {'a': 'no', 'b': 0.0001, 'c': True, 'd': 755, 'e': '2024-01-01', 'f': 0.5}
    """


_TAG = "tag:yaml.org,2002:"
RecipeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag[len(_TAG) :] not in ("bool", "int", "float", "timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
RecipeLoader.add_implicit_resolver(_TAG + "int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
RecipeLoader.add_implicit_resolver(
    _TAG + "float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"),
    list("-+0123456789."),
)
RecipeLoader.add_implicit_resolver(
    _TAG + "bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# decimal, as YAML 1.2 reads it (1.1 reads a leading 0 as octal)
RecipeLoader.add_constructor(_TAG + "int", lambda loader, node: int(loader.construct_scalar(node)))


def parse_value(raw: str) -> Any:
    """A ``--set`` value or a YAML scalar read with :class:`RecipeLoader`."""
    return yaml.load(raw, RecipeLoader)


def coerce(value: Any, expected: Any, where: str) -> Any:
    """``value`` as the type a config field declares (``expected``, a type hint).

    Numbers given as text become numbers, an int becomes a float where a float is
    expected, a number becomes text where text is expected (``--set model=2024``), and
    ``"yes"``/``"no"`` become booleans only where a boolean is expected. Anything else that
    does not fit is an error naming ``where``. Hints this does not know pass values through.

    >>> coerce("1e-4", float, "lr"), coerce(3, float, "lr"), coerce("no", bool | None, "x")
    (0.0001, 3.0, False)
    >>> try:
    ...     coerce(False, str, "save_strategy")
    ... except ConfigError as e:
    ...     print(e)
    save_strategy: expected text, got the boolean False
    """
    options = _options(expected)
    if options is None:
        return value
    if value is None:
        if type(None) in options or not options:
            return None
        raise ConfigError(f"{where}: a value is required ({_describe(options)})")
    if any(_is_instance(value, t) for t in options):
        return value
    for t in options:
        converted = _convert(value, t)
        if converted is not _NO:
            return converted
    got = f"the boolean {value}" if isinstance(value, bool) else f"{type(value).__name__} {value!r}"
    raise ConfigError(f"{where}: expected {_describe(options)}, got {got}")


_NO = object()
_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}


def _options(expected: Any) -> list | None:
    """The plain types a hint allows (``None`` when the hint is not one this reads)."""
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        out: list = []
        for arg in typing.get_args(expected):
            sub = _options(arg)
            if sub is None:
                return None
            out += sub
        return out
    if expected is type(None) or expected is None:
        return [type(None)]
    if origin in (list, dict, tuple):
        return [origin]
    if isinstance(expected, type):
        return [expected]
    return None


def _is_instance(value: Any, t: type) -> bool:
    if t in (int, float) and isinstance(value, bool):
        return False  # True is not a learning rate
    return isinstance(value, t)


def _convert(value: Any, t: type) -> Any:
    if t is bool and isinstance(value, str):
        return _BOOL_WORDS.get(value.strip().lower(), _NO)
    if t in (int, float) and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return _NO
        if t is float:
            return number
        return int(number) if number.is_integer() else _NO
    if t is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if t is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if issubclass(t, str) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # an enum field (SaveStrategy | str) takes the text
    return _NO


def _describe(options: list) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "text", list: "a list", dict: "a mapping"}
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in options if t is not type(None)))


@dataclass
class MediaSettings:
    """How a video becomes model input.

    ``fps`` frames per second are sampled (all videos of a batch at one rate, so the
    processor's time positions hold for each), at most ``max_frames`` per video; frames are
    resized to multiples of the vision patch x merge (28 px for Qwen2.5-Omni, 32 px for
    Qwen3-Omni) with an area within ``[min_pixels, max_pixels]``; the audio
    track is decoded to 16 kHz mono and given to the model with the video (``use_audio``;
    switch it off only to train a deliberately deaf control).
    """

    fps: float = 2.0
    max_frames: int = 16
    min_pixels: int = 56 * 56
    max_pixels: int = 448 * 448
    use_audio: bool = True


@dataclass
class LoraSettings:
    """LoRA through ``peft`` (off by default: full fine-tuning)."""

    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] | str = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    #: merge the adapter into the weights when saving, so the next stage (and any
    #: evaluation) loads a plain model
    merge: bool = True


@dataclass
class StageSettings:
    """One stage, ``sft`` or ``dpo``."""

    output_dir: str = ""
    #: the model this stage starts from; for ``dpo`` it defaults to ``sft.output_dir``
    model: str | None = None
    #: keyword arguments of TRL's SFTConfig / DPOConfig
    trainer: dict[str, Any] = field(default_factory=dict)
    #: use at most this many rows (after mixing, for dpo); None = all
    max_samples: int | None = None
    #: dpo: a general video preference file (see thud_train.general_data) and its share
    general_data: str | None = None
    general_fraction: float = 0.0


@dataclass
class EvalSettings:
    """The listening check during training (:class:`thud_train.evaluation.ProbeEvalCallback`).

    Every ``every_steps`` optimizer steps (0: off) the current policy answers every probe of
    ``num_clips`` test-partition clips of ``dataset`` (default: the config's dataset), drawn
    once with the config's seed, and thud_gap's avg gap and pair accuracy are logged beside
    the loss.
    """

    every_steps: int = 0
    dataset: str | None = None
    num_clips: int = 8
    max_new_tokens: int = 48
    batch_size: int = 4
    #: also answer before the first step, the baseline the later numbers compare with
    on_start: bool = True


#: values of ``save_full_model``
SAVE_FULL_MODEL = (True, False, "auto")


@dataclass
class TrainConfig:
    """Everything ``thud train`` reads."""

    #: a model folder or Hub id, or ``tiny-omni`` / ``tiny-causal-lm`` (built here, random weights)
    model: str = ""
    #: a built Thud dataset (folder or Hub id); its ``preferences`` config is used
    dataset: str = ""
    seed: int = 0
    system_prompt: str | None = None
    media: MediaSettings = field(default_factory=MediaSettings)
    lora: LoraSettings = field(default_factory=LoraSettings)
    sft: StageSettings = field(default_factory=lambda: StageSettings(output_dir="runs/thud-sft"))
    dpo: StageSettings = field(
        default_factory=lambda: StageSettings(
            output_dir="runs/thud-dpo", trainer={"beta": 0.1}, general_fraction=0.0
        )
    )
    eval: EvalSettings = field(default_factory=EvalSettings)
    #: save the trained thinker inside the full Omni model (talker and vocoder of the
    #: checkpoint the stage started from), the layout servers and lmms-eval load: ``auto``
    #: does so when the stage started from a full Omni checkpoint, ``true`` requires one
    save_full_model: bool | str = "auto"

    def stage(self, name: str) -> StageSettings:
        if name not in ("sft", "dpo"):
            raise ConfigError(f"unknown stage {name!r}; expected 'sft' or 'dpo'")
        return getattr(self, name)

    def model_for(self, name: str) -> str:
        """The model a stage starts from (dpo: its own, else the SFT output, else ``model``)."""
        stage = self.stage(name)
        if stage.model:
            return stage.model
        if name == "dpo" and self.sft.output_dir and os.path.isdir(self.sft.output_dir):
            return self.sft.output_dir
        if not self.model:
            raise ConfigError(f"no model: set 'model' (or '{name}.model')")
        return self.model

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> TrainConfig:
        return _build(cls, data, where)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, overrides: list[str] | None = None) -> TrainConfig:
        """Read ``path`` (or an example config by name, e.g. ``tiny_omni``).

        ``overrides`` are ``dotted.key=value`` strings (values parsed as YAML).
        """
        path = resolve_config_path(path)
        try:
            with open(path, encoding="utf-8") as f:
                data = yaml.load(f, RecipeLoader) or {}
        except OSError as e:
            raise ConfigError(f"{path}: {e.strerror}") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML ({e})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        for item in overrides or []:
            apply_override(data, item)
        return _build(cls, data, path)


def apply_override(data: dict[str, Any], item: str) -> None:
    """Set ``a.b.c=value`` in ``data``; the value is read as YAML 1.2 (:func:`parse_value`:
    numbers, ``true``/``false``, lists) and later takes the type its field declares."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. sft.trainer.max_steps=3")
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {part} is not a mapping")
    try:
        node[parts[-1]] = parse_value(raw)
    except yaml.YAMLError as e:
        raise ConfigError(f"override {item!r}: the value is not valid YAML ({e})") from None


def _build(cls: type, data: dict[str, Any], where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(fields)}")
    defaults = cls().__dict__
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        default = defaults.get(name)
        if dataclasses.is_dataclass(default):
            if value is not None and not isinstance(value, dict):
                raise ConfigError(f"{where}: {name} must be a mapping, got {value!r}")
            # a stage given partly keeps the defaults of the rest
            merged = {**dataclasses.asdict(default), **(value or {})}
            if isinstance(default, StageSettings) and "trainer" in (value or {}):
                merged["trainer"] = {**default.trainer, **(value["trainer"] or {})}
            kwargs[name] = _build(type(default), merged, f"{where}: {name}")
        else:
            kwargs[name] = coerce(value, hints[name], f"{where}: {name}")
    config = cls(**kwargs)
    _validate(config, where)
    return config


def _validate(config: Any, where: str) -> None:
    if isinstance(config, TrainConfig):
        value = config.save_full_model
        if isinstance(value, str):
            value = {"true": True, "false": False}.get(value.lower(), value.lower())
        if value not in SAVE_FULL_MODEL:
            raise ConfigError(f"{where}: save_full_model must be true, false or auto, got {value!r}")
        config.save_full_model = value
    if isinstance(config, EvalSettings) and (
        config.every_steps < 0 or config.num_clips < 1 or config.batch_size < 1 or config.max_new_tokens < 1
    ):
        raise ConfigError(
            f"{where}: every_steps must be >= 0 (0: off), num_clips, batch_size and max_new_tokens >= 1"
        )
    if isinstance(config, MediaSettings):
        if config.fps <= 0 or config.max_frames < 2:
            raise ConfigError(f"{where}: fps must be > 0 and max_frames >= 2")
        if config.min_pixels > config.max_pixels:
            raise ConfigError(f"{where}: min_pixels exceeds max_pixels")
    if isinstance(config, StageSettings):
        if not 0.0 <= float(config.general_fraction) <= 1.0:
            raise ConfigError(f"{where}: general_fraction must be in [0, 1]")
        if config.general_fraction > 0 and not config.general_data:
            raise ConfigError(f"{where}: general_fraction > 0 needs general_data")
        if not isinstance(config.trainer, dict):
            raise ConfigError(f"{where}: trainer must be a mapping of TRL config fields")
