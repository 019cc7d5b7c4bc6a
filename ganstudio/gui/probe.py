"""What this machine offers, found on a worker thread at start-up: models, training devices and the torch build.

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
    torch_build: str = ""  # "torch 2.14.1, CUDA 13.0", "torch 2.14.1, CPU only", as torch_build_words says

    @property
    def best_device(self) -> DeviceChoice:
        return self.devices[0]

    def model(self, name: str) -> ModelChoice | None:
        return next((model for model in self.models if model.name == name), None)


def describe_model(recipe) -> ModelChoice:
    return ModelChoice(recipe.name, recipe.label, recipe.kind, recipe.summary, tuple(recipe.domains),
                       tuple(recipe.sizes), recipe.default_size, tuple(recipe.options))


def torch_build_words(version: str, cuda: str | None, hip: str | None, mps_built: bool, has_gpu: bool) -> str:
    """Which torch build the app runs on, in words: a CUDA build on a machine without an NVIDIA GPU carries
    about 3 GB of libraries it cannot use, and this is where a user finds that out (the README says what to do)."""
    version = version.split("+")[0]
    if cuda:
        build = f"CUDA {cuda}" + ("" if has_gpu else " (no NVIDIA GPU found)")
    elif hip:
        build = f"ROCm {hip}"
    elif mps_built:
        build = "Apple Metal"
    else:
        build = "CPU only"
    return f"torch {version}, {build}"


def probe_machine() -> MachineInfo:
    import torch

    from ..core.device import available_devices
    from ..core.registry import recipes_for_device

    devices = tuple(DeviceChoice(info.key, info.label, info.key != "cpu") for info in available_devices())
    # The models that measure best on the best device here come first, so a new run gets them.
    models = tuple(describe_model(recipe) for recipe in recipes_for_device(devices[0].key))
    build = torch_build_words(str(torch.__version__), torch.version.cuda, getattr(torch.version, "hip", None),
                              torch.backends.mps.is_built(), any(device.key.startswith("cuda") for device in devices))
    return MachineInfo(models, devices, build)
