"""What this machine offers, found on a worker thread at start-up: models and training devices.

Both need torch, whose import takes a second or two; doing it off the GUI thread lets the window
appear at once and fills the choices a moment later.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelChoice:
    name: str
    label: str
    domains: int


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


MODEL_LABELS = {"dcgan": "DCGAN — the classic GAN"}


def probe_machine() -> MachineInfo:
    from ..core.device import available_devices
    from ..core.registry import get_recipe, model_names

    models = []
    for name in model_names():
        recipe = get_recipe(name)
        models.append(ModelChoice(name, MODEL_LABELS.get(name, name), len(getattr(recipe, "domains", ("images",)))))
    devices = tuple(DeviceChoice(info.key, info.label, info.key != "cpu") for info in available_devices())
    return MachineInfo(tuple(models), devices)
