"""The registry of models and metrics: each registers its class under a name (@register, @register_metric).

Front ends ask the registry what there is (`recipes`, `recipes_of_kind`, `metric_classes`) and build
their lists, flags and settings from each class's declarations, never from a name. Every module in
core/recipes and core/metrics is imported, so a new model or metric is one new file there; one kept
elsewhere is a Python file named in the GANSTUDIO_PLUGINS environment variable (paths separated as
in PATH).
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

Registered = TypeVar("Registered", bound=type)
_RECIPES: dict[str, type] = {}
_METRICS: dict[str, type] = {}
_LOADED_FILES: set[str] = set()
PLUGINS_VARIABLE = "GANSTUDIO_PLUGINS"


def _registrar(table: dict[str, type], what: str, name: str) -> Callable[[Registered], Registered]:
    def decorate(cls: Registered) -> Registered:
        if name in table and table[name] is not cls:
            raise ValueError(f"a {what} named {name!r} is already registered")
        table[name] = cls
        cls.name = name
        if not cls.label:
            cls.label = name
        return cls
    return decorate


def register(name: str) -> Callable[[Registered], Registered]:
    """Register a recipe class (core/recipes/base.py) under `name`."""
    return _registrar(_RECIPES, "model", name)


def register_metric(name: str) -> Callable[[Registered], Registered]:
    """Register a Metric subclass (core/metrics/base.py) under `name`."""
    return _registrar(_METRICS, "metric", name)


def _load_builtin() -> None:
    """Import every recipe and metric module (each registers itself), then the files GANSTUDIO_PLUGINS names."""
    from . import metrics, recipes
    for package in (recipes, metrics):
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{info.name}")
    for entry in os.environ.get(PLUGINS_VARIABLE, "").split(os.pathsep):
        if entry and entry not in _LOADED_FILES:
            _LOADED_FILES.add(entry)
            _load_model_file(Path(entry))


def _load_model_file(path: Path) -> None:
    if not path.is_file():
        raise ConfigError(f"{PLUGINS_VARIABLE} names {path}, which is not a file; it should list Python files "
                          "that each define a model or a metric.")
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


def recipes_for_device(device_type: str) -> list[type]:
    """Every recipe, with those that measure best on this kind of device (their `preferred_devices`) first."""
    return sorted(recipes(), key=lambda recipe: device_type not in recipe.preferred_devices)


def default_recipe(kind: str, device_type: str) -> type:
    """The model a new run of this kind gets on this kind of device ('cuda', 'mps', 'cpu') when none is chosen."""
    return next(recipe for recipe in recipes_for_device(device_type) if recipe.kind == kind)


def kind_of(name: str) -> str | None:
    """The kind of the model `name`, or None for a model this installation does not have."""
    recipe = find_recipe(name)
    return recipe.kind if recipe is not None else None


def recipes_of_kind(kind: str) -> list[type]:
    return [recipe for recipe in recipes() if recipe.kind == kind]


def model_names() -> list[str]:
    return [recipe.name for recipe in recipes()]


def metric_classes() -> list[type]:
    """Every registered metric, by name."""
    _load_builtin()
    return [_METRICS[name] for name in sorted(_METRICS)]


def get_metric(name: str) -> type:
    _load_builtin()
    try:
        return _METRICS[name]
    except KeyError:
        known = ", ".join(sorted(_METRICS)) or "none yet"
        raise ConfigError(f"There is no metric called '{name}'; the metrics are {known}.") from None


def metrics_for(names: list[str], recipe_cls: type) -> list[type]:
    """The metrics a run measures: those named, or with 'auto' every default one that fits the model."""
    chosen: dict[str, type] = {}
    for name in names:
        if name == "none":
            continue
        if name == "auto":
            chosen.update({metric.name: metric for metric in metric_classes()
                           if metric.default_on and metric.measures(recipe_cls)})
            continue
        metric = get_metric(name)
        if not metric.measures(recipe_cls):
            raise ConfigError(f"The metric {name} does not measure {recipe_cls.name} runs.")
        chosen[name] = metric
    return list(chosen.values())
