"""The model registry: each trainable model registers its recipe class under a name (@register("dcgan")).

Front ends ask the registry what there is (`recipes`, `recipes_of_kind`) and build their lists,
flags and settings from each recipe's declarations, never from a model's name. Every module in
core/recipes is imported, so a new model is one new file there; a model kept elsewhere is a Python
file named in the GANSTUDIO_MODELS environment variable (paths separated like PATH).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from pathlib import Path
from typing import Callable, TypeVar

from .errors import ConfigError

# The two kinds of model (Recipe.kind). A generating model makes pictures from noise, by seed; a
# translating model turns pictures of one domain into another. Here, not in recipes/base.py, so that
# front ends can name them without importing torch.
GENERATE = "generate"
TRANSLATE = "translate"

RecipeClass = TypeVar("RecipeClass", bound=type)
_RECIPES: dict[str, type] = {}
_LOADED_FILES: set[str] = set()
MODELS_VARIABLE = "GANSTUDIO_MODELS"


def register(name: str) -> Callable[[RecipeClass], RecipeClass]:
    def decorate(cls: RecipeClass) -> RecipeClass:
        if name in _RECIPES and _RECIPES[name] is not cls:
            raise ValueError(f"a model named {name!r} is already registered")
        _RECIPES[name] = cls
        cls.name = name
        if not cls.label:
            cls.label = name
        return cls
    return decorate


def _load_builtin() -> None:
    """Import every recipe module (each registers itself), then the model files GANSTUDIO_MODELS names."""
    from . import recipes as package
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
    for entry in os.environ.get(MODELS_VARIABLE, "").split(os.pathsep):
        if entry and entry not in _LOADED_FILES:
            _LOADED_FILES.add(entry)
            _load_model_file(Path(entry))


def _load_model_file(path: Path) -> None:
    if not path.is_file():
        raise ConfigError(f"{MODELS_VARIABLE} names {path}, which is not a file; it should list Python files "
                          "that each define a model.")
    name = f"ganstudio_model_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)


def find_recipe(name: str) -> type | None:
    _load_builtin()
    return _RECIPES.get(name)


def get_recipe(name: str) -> type:
    recipe = find_recipe(name)
    if recipe is None:
        raise ConfigError(f"There is no model called '{name}'; choose one of {', '.join(model_names())}.")
    return recipe


def recipes() -> list[type]:
    """Every registered recipe class in the order lists offer them: by each one's `list_order`, then by name."""
    _load_builtin()
    return sorted(_RECIPES.values(), key=lambda recipe: (recipe.list_order, recipe.name))


def kind_of(name: str) -> str | None:
    """The kind of the model `name`, or None for a model this installation does not have."""
    recipe = find_recipe(name)
    return recipe.kind if recipe is not None else None


def recipes_of_kind(kind: str) -> list[type]:
    return [recipe for recipe in recipes() if recipe.kind == kind]


def model_names() -> list[str]:
    return [recipe.name for recipe in recipes()]
