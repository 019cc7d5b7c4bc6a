"""What this machine offers, found on a worker thread at start-up: models and training devices.

Both need torch, whose import takes a second or two; doing it off the GUI thread lets the window
appear at once and fills the choices a moment later. Models are described from the registry's
declarations only: their label, kind, summary, options and data needs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelChoice:
    """One registered model as the pages list it."""

    name: str
    label: str
    kind: str  # core.registry.GENERATE or TRANSLATE
    summary: str
    domains: tuple[str, ...]
    sizes: tuple[int, ...]
    default_size: int
    options: tuple  # core.recipes.options.Option declarations


@dataclass(frozen=True)
class DeviceChoice:
    key: str
    label: str
    is_gpu: bool


@dataclass(frozen=True)
class MachineInfo:
    models: tuple[ModelChoice, ...]
    devices: tuple[DeviceChoice, ...]

    @property
    def best_device(self) -> DeviceChoice:
        return self.devices[0]

    def model(self, name: str) -> ModelChoice | None:
        return next((model for model in self.models if model.name == name), None)


def describe_model(recipe) -> ModelChoice:
    return ModelChoice(recipe.name, recipe.label, recipe.kind, recipe.summary, tuple(recipe.domains),
                       tuple(recipe.sizes), recipe.default_size, tuple(recipe.options))


def probe_machine() -> MachineInfo:
    from ..core.device import available_devices
    from ..core.registry import recipes_for_device

    devices = tuple(DeviceChoice(info.key, info.label, info.key != "cpu") for info in available_devices())
    # The models that measure best on the best device here come first, so a new run gets them.
    models = tuple(describe_model(recipe) for recipe in recipes_for_device(devices[0].key))
    return MachineInfo(models, devices)
