"""The model registry: each trainable model registers its recipe class under a name (@register("dcgan"))."""

from __future__ import annotations

from typing import Callable, TypeVar

from .errors import ConfigError

RecipeClass = TypeVar("RecipeClass", bound=type)
_RECIPES: dict[str, type] = {}


def register(name: str) -> Callable[[RecipeClass], RecipeClass]:
    def decorate(cls: RecipeClass) -> RecipeClass:
        if name in _RECIPES and _RECIPES[name] is not cls:
            raise ValueError(f"a model named {name!r} is already registered")
        _RECIPES[name] = cls
        cls.name = name
        return cls
    return decorate


def _load_builtin() -> None:
    from .recipes import cyclegan, dcgan  # noqa: F401 - importing registers them


def get_recipe(name: str) -> type:
    _load_builtin()
    try:
        return _RECIPES[name]
    except KeyError:
        raise ConfigError(f"There is no model called '{name}'; choose one of {', '.join(model_names())}.") from None


def model_names() -> list[str]:
    _load_builtin()
    return sorted(_RECIPES)
