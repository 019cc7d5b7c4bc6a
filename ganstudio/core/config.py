"""The run configuration: dataclasses with defaults, validation, and the JSON form saved as config.json."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

SIZES = (32, 64, 128, 256, 512, 1024)
FITS = ("crop", "pad", "stretch")
DEVICES = ("auto", "cuda", "mps", "cpu")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
AUGMENTS = ("flip", "none", "diff", "diff+flip")
# 2: a model's own settings moved into model.options (DCGAN's loss and ema, each model's preset).
CONFIG_VERSION = 2
# Version 1 kept these model settings in the shared sections; reading such a file moves them to
# model.options where the model declares them.
LEGACY_MODEL_SETTINGS = (("train", "loss"), ("train", "ema"), ("model", "preset"))


@dataclass
class DataConfig:
    """Where the pictures come from and how they become square tensors."""

    paths: list[str] = field(default_factory=list)
    paths_b: list[str] = field(default_factory=list)  # the second domain, for image-to-image models
    demo: bool = False
    size: int = 64
    fit: str = "crop"
    background: str = "#ffffff"  # what transparent pixels and padding become
    augment: str = "flip"


@dataclass
class ModelConfig:
    """Which registered model to train, how wide it is, and its own declared options (recipes/options.py)."""

    name: str = "dcgan"
    latent_dim: int = 100
    g_width: int = 0  # 0: the model's own default for the size and device
    d_width: int = 0
    options: dict[str, Any] = field(default_factory=dict)  # validate() fills the model's defaults


@dataclass
class TrainConfig:
    """How long and how to train. Exactly one of epochs, steps, minutes is the target; none means the default."""

    epochs: int | None = None
    steps: int | None = None
    minutes: float | None = None
    batch_size: int = 0  # 0: the model's own default for the device
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0


@dataclass
class RunOptions:
    """Where the run lives and how often it writes samples and checkpoints."""

    dir: str = ""  # empty: a named folder under the user data folder
    sample_every_epochs: int = 0  # 0: none by epoch; grids come on their schedule in time (training/samples.py)
    checkpoint_every_minutes: float = 10.0
    keep_checkpoints: int = 3
    log_every_steps: int = 10
    # Metrics measured while training (core/metrics): names, "auto" for each one on by default, "none".
    metrics: list[str] = field(default_factory=lambda: ["auto"])


@dataclass
class RunConfig:
    """Everything that defines a run; saved as config.json in the run folder."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    run: RunOptions = field(default_factory=RunOptions)

    def validate(self) -> "RunConfig":
        validate(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "RunConfig":
        if not isinstance(raw, dict):
            raise ConfigError("The configuration is not a JSON object.")
        raw = _upgrade(raw)
        sections = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = set(raw) - set(sections) - {"version", "app_version", "torch_version"}
        if unknown:
            raise ConfigError(f"The configuration has unknown sections: {', '.join(sorted(unknown))}.")
        built = {}
        for section_field in dataclasses.fields(cls):
            section_type = section_field.default_factory  # the section's dataclass
            built[section_field.name] = _section_from_dict(section_type, raw.get(section_field.name, {}), section_field.name)
        _fill_saved_defaults(built["model"])
        return cls(**built).validate()

    def to_json(self, **extra: Any) -> str:
        body = {"version": CONFIG_VERSION, **extra, **self.to_dict()}
        return json.dumps(body, indent=2, sort_keys=False) + "\n"

    @classmethod
    def load(cls, path: str | Path) -> "RunConfig":
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"There is no config.json in {Path(path).parent}; is that a GAN Studio run folder?") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path} could not be read as JSON ({exc}).") from None
        return cls.from_dict(raw)


def _upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """A version-1 config in today's shape: its model settings moved into model.options, where that model
    declares them (a value it does not accept is dropped, so its default applies). Checkpoints hold their
    config without a version number, so the old keys themselves say what to move."""
    if not any(isinstance(raw.get(section), dict) and name in raw[section] for section, name in LEGACY_MODEL_SETTINGS):
        return raw
    from .registry import find_recipe
    raw = {name: dict(value) if isinstance(value, dict) else value for name, value in raw.items()}
    model = raw.get("model") if isinstance(raw.get("model"), dict) else {}
    recipe = find_recipe(str(model.get("name", ModelConfig.name)))
    declared = {option.name: option for option in (recipe.options if recipe is not None else ())}
    options = dict(model.get("options", {}))
    for section, name in LEGACY_MODEL_SETTINGS:
        values = raw.get(section)
        if not isinstance(values, dict) or name not in values:
            continue
        value = values.pop(name)
        option = declared.get(name)
        if option is not None and name not in options and (not option.choices or value in option.values):
            options[name] = value
    if isinstance(raw.get("model"), dict):
        raw["model"]["options"] = options
    return raw


def _fill_saved_defaults(model: "ModelConfig") -> None:
    """A saved config's options as it trained: an option added since, whose default then differs from its
    `saved_default` (what runs did before it existed), takes the saved default rather than today's default."""
    from .registry import find_recipe
    recipe = find_recipe(str(model.name))
    if recipe is None or not isinstance(model.options, dict):
        return
    for option in recipe.options:
        if option.saved_default is not None and option.name not in model.options:
            saved = option.saved_default
            model.options = {**model.options, option.name: saved(model.options) if callable(saved) else saved}


def _section_from_dict(section_type: type, raw: Any, section_name: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"The configuration section '{section_name}' is not an object.")
    defaults = section_type()
    names = {f.name for f in dataclasses.fields(section_type)}
    unknown = set(raw) - names
    if unknown:
        raise ConfigError(f"Unknown settings in '{section_name}': {', '.join(sorted(unknown))}.")
    values = {}
    for name in names:
        value = raw.get(name, getattr(defaults, name))
        default = getattr(defaults, name)
        if isinstance(default, list) and isinstance(value, (list, tuple)):
            value = [str(v) for v in value]
        elif isinstance(default, dict) and isinstance(value, dict):
            value = dict(value)
        values[name] = value
    return section_type(**values)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate(config: RunConfig) -> None:
    """Raise ConfigError with a plain sentence for the first setting that cannot work."""
    data, model, train, run = config.data, config.model, config.train, config.run
    _require(_is_int(data.size) and data.size in SIZES, f"Image size must be one of {', '.join(map(str, SIZES))} pixels, not {data.size}.")
    _require(data.fit in FITS, f"Fit must be one of {', '.join(FITS)}, not '{data.fit}'.")
    _require(data.augment in AUGMENTS, f"Augmentation must be one of {', '.join(AUGMENTS)}, not '{data.augment}'.")
    _require(bool(re.fullmatch(r"#[0-9a-fA-F]{6}", str(data.background))), f"Background must be a colour like #ffffff, not '{data.background}'.")
    _require(isinstance(data.demo, bool), "The demo setting must be true or false.")
    _require(data.demo or bool(data.paths), "Give a dataset (a folder, image files or a zip) or choose the demo dataset.")
    _require(isinstance(model.name, str) and bool(model.name), "A model name is required.")
    _require(_is_int(model.latent_dim) and 1 <= model.latent_dim <= 4096, "The latent size must be between 1 and 4096.")
    _require(_is_int(model.g_width) and 0 <= model.g_width <= 1024, "The generator width must be between 1 and 1024 (0 for the default).")
    _require(_is_int(model.d_width) and 0 <= model.d_width <= 1024, "The discriminator width must be between 1 and 1024 (0 for the default).")
    targets = [name for name in ("epochs", "steps", "minutes") if getattr(train, name) is not None]
    _require(len(targets) <= 1, f"Give only one of epochs, steps or minutes, not {' and '.join(targets)}.")
    _require(train.epochs is None or (_is_int(train.epochs) and train.epochs >= 1), "Epochs must be a whole number of at least 1.")
    _require(train.steps is None or (_is_int(train.steps) and train.steps >= 1), "Steps must be a whole number of at least 1.")
    _require(train.minutes is None or (_is_number(train.minutes) and train.minutes > 0), "Minutes must be more than 0.")
    _require(_is_int(train.batch_size) and 0 <= train.batch_size <= 4096,
             "Batch size must be between 1 and 4096 (0 for the default).")
    for name in ("lr_g", "lr_d"):
        value = getattr(train, name)
        _require(_is_number(value) and 0 < value <= 1, f"The learning rate {name} must be between 0 and 1, not {value}.")
    _require(_is_number(train.beta1) and 0 <= train.beta1 < 1, "Adam beta1 must be at least 0 and below 1.")
    _require(_is_number(train.beta2) and 0 <= train.beta2 < 1, "Adam beta2 must be at least 0 and below 1.")
    _require(train.device in DEVICES, f"Device must be one of {', '.join(DEVICES)}, not '{train.device}'.")
    _require(train.precision in PRECISIONS, f"Precision must be one of {', '.join(PRECISIONS)}, not '{train.precision}'.")
    _require(_is_int(train.seed) and 0 <= train.seed < 2**63, "The seed must be a whole number from 0 up.")
    _require(isinstance(run.dir, str), "The run folder must be a path.")
    _require(_is_int(run.sample_every_epochs) and run.sample_every_epochs >= 0, "Sample interval must be 0 (automatic) or more epochs.")
    _require(_is_number(run.checkpoint_every_minutes) and run.checkpoint_every_minutes > 0, "Checkpoint interval must be more than 0 minutes.")
    _require(_is_int(run.keep_checkpoints) and run.keep_checkpoints >= 1, "Keep at least one checkpoint.")
    _require(_is_int(run.log_every_steps) and run.log_every_steps >= 1, "Log interval must be at least one step.")
    from .registry import get_recipe  # here, not at the top: the registry imports torch and every model
    recipe = get_recipe(model.name)
    _require(data.size in recipe.sizes,
             f"The {model.name} model trains at {', '.join(map(str, recipe.sizes))} pixels, not {data.size}.")
    model.options = recipe.check_options(model.options)
    _require(isinstance(run.metrics, list) and all(isinstance(name, str) for name in run.metrics),
             "Metrics must be a list of names.")
    from .registry import metrics_for
    metrics_for(run.metrics, recipe)
