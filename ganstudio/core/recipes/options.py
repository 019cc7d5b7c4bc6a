"""A model's own settings, declared once: name, default, help, choices; the CLI, the GUI and validation read them.

A recipe lists its `options`; a run keeps their values in `config.model.options` (the model's own
section of config.json). Front ends never name a model's settings: the CLI makes a flag of each, the
app a row of each, and `check_values` fills the defaults and refuses what does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True)
class Choice:
    """One value of a choice option and the words a person reads for it."""

    value: str
    words: str
    tip: str = ""


@dataclass(frozen=True)
class Option:
    """One setting of one model.

    `default` fixes the type: a str with `choices`, a bool, an int or a float (with `minimum`/`maximum`, and
    `decimals` shown in the app).
    `help` is one sentence for --help and the app's tooltip; `label` names the app's row. An `advanced`
    option sits under the app's Advanced settings. The CLI flag is --name (underscores as dashes), or
    --no-name for a bool that is on by default. `saved_default`, when set, is what a run saved before the
    option existed trained with, where that differs from `default`: such a run goes on as it began. It may be
    a function of that run's saved options, where what it trained with depended on them. `automatic`, for a
    number whose minimum lets the model choose (as 0 for a width), is the words the app shows for that value.
    """

    name: str
    default: Any
    help: str
    label: str
    choices: tuple[Choice, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    advanced: bool = False
    saved_default: Any = None
    decimals: int = 2
    automatic: str = ""

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(choice.value for choice in self.choices)

    @property
    def flag(self) -> str:
        stem = self.name.replace("_", "-")
        return f"--no-{stem}" if self.default is True else f"--{stem}"

    def check(self, value: Any, model: str) -> Any:
        """`value` as this option's type, or ConfigError with a sentence naming the model and the values allowed."""
        if self.choices:
            if value not in self.values:
                raise ConfigError(f"The {model} model's {self.name} is one of {', '.join(self.values)}, "
                                  f"not '{value}'.")
            return value
        if isinstance(self.default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"The {model} model's {self.name} must be true or false, not '{value}'.")
            return value
        number_type = int if isinstance(self.default, int) else float
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (number_type is int and value != int(value)):
            kind = "a whole number" if number_type is int else "a number"
            raise ConfigError(f"The {model} model's {self.name} must be {kind}, not '{value}'.")
        value = number_type(value)
        if self.minimum is not None and value < self.minimum or self.maximum is not None and value > self.maximum:
            raise ConfigError(f"The {model} model's {self.name} must be from {self.minimum:g} to {self.maximum:g}, "
                              f"not {value:g}.")
        return value


def check_values(options: tuple[Option, ...], values: dict[str, Any], model: str) -> dict[str, Any]:
    """The model's option values with defaults filled in; ConfigError for an unknown name or a bad value."""
    if not isinstance(values, dict):
        raise ConfigError(f"The {model} model's options must be an object of name and value.")
    known = {option.name: option for option in options}
    unknown = sorted(set(values) - set(known))
    if unknown:
        offered = f"; it has {', '.join(known)}" if known else "; it has none"
        raise ConfigError(f"The {model} model has no option {', '.join(unknown)}{offered}.")
    return {name: option.check(values.get(name, option.default), model) for name, option in known.items()}


def size_preset_option() -> Option:
    """The "preset" option of a model whose network size scales by a width factor: sketch, standard, detailed."""
    return Option("preset", "standard", "network size: sketch (half the usual width, quickest), standard, or "
                                        "detailed (twice as wide, slowest)", "Size",
                  choices=(Choice("sketch", "Sketch — quickest", "Half the usual width: the quickest to train."),
                           Choice("standard", "Standard", "The model's usual width for this device."),
                           Choice("detailed", "Detailed — slowest", "Twice as wide: finer detail, slower steps.")))


def sample_average_option() -> Option:
    """The "ema" option of a model that can sample from a moving average of its generator (on by default)."""
    return Option("ema", True, "sample from a moving average of the generator: steadier, cleaner pictures",
                  "Smooth the samples (moving average)", advanced=True)
