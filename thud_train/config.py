"""The trainer's settings, read from a YAML file (``thud train sft|dpo --config FILE``).

Pure Python (no torch), so a config can be checked anywhere. Example files are in
``thud_train/configs/``; every key is documented in ``docs/training.md``. The ``trainer``
mapping of each stage goes to TRL's ``SFTConfig`` / ``DPOConfig`` as keyword arguments, so
any of their fields (``learning_rate``, ``max_steps``, ``beta``, ``bf16``, …) can be set there.
"""

from __future__ import annotations

import dataclasses
import os
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


@dataclass
class MediaSettings:
    """How a video becomes model input.

    ``fps`` frames per second are sampled (all videos of a batch at one rate, so the
    processor's time positions hold for each), at most ``max_frames`` per video; frames are
    resized to multiples of 28 px with an area within ``[min_pixels, max_pixels]``; the audio
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
                data = yaml.safe_load(f) or {}
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
    """Set ``a.b.c=value`` in ``data`` (the value parsed as YAML: numbers, booleans, lists)."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. sft.trainer.max_steps=3")
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {part} is not a mapping")
    node[parts[-1]] = yaml.safe_load(raw)


def _build(cls: type, data: dict[str, Any], where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(fields)}")
    defaults = cls().__dict__
    kwargs = {}
    for name, value in data.items():
        default = defaults.get(name)
        if dataclasses.is_dataclass(default):
            # a stage given partly keeps the defaults of the rest
            merged = {**dataclasses.asdict(default), **(value or {})}
            if isinstance(default, StageSettings) and "trainer" in (value or {}):
                merged["trainer"] = {**default.trainer, **(value["trainer"] or {})}
            kwargs[name] = _build(type(default), merged, f"{where}: {name}")
        else:
            kwargs[name] = value
    config = cls(**kwargs)
    _validate(config, where)
    return config


def _validate(config: Any, where: str) -> None:
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
