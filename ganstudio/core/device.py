"""Choosing the training device and describing it in words a user understands."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from .errors import DeviceError


@dataclass(frozen=True)
class DeviceInfo:
    """A device the user can pick: `key` is what the config stores, `label` what the user reads."""

    key: str
    label: str
    memory_bytes: int | None


def _cpu_label() -> str:
    return f"CPU ({os.cpu_count() or 1} cores)"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def available_devices() -> list[DeviceInfo]:
    """Every device this machine can train on, best first."""
    found: list[DeviceInfo] = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            key = "cuda" if index == 0 else f"cuda:{index}"
            found.append(DeviceInfo(key, f"{props.name} ({props.total_memory / 2**30:.0f} GB)", props.total_memory))
    if _mps_available():
        found.append(DeviceInfo("mps", "Apple GPU (Metal)", None))
    found.append(DeviceInfo("cpu", _cpu_label(), None))
    return found


def select_device(preference: str) -> torch.device:
    """The torch device for 'auto', 'cuda', 'mps' or 'cpu'; a plain DeviceError when it is not here."""
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", 0)
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if preference.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError("CUDA was asked for, but PyTorch sees no CUDA GPU here; "
                              "use --device cpu, or install a CUDA build of PyTorch and a GPU driver.")
        return torch.device(preference)
    if preference == "mps":
        if not _mps_available():
            raise DeviceError("Apple's Metal GPU (mps) was asked for, but it is not available on this machine; use --device cpu.")
        return torch.device("mps")
    if preference == "cpu":
        return torch.device("cpu")
    raise DeviceError(f"Unknown device '{preference}'; use auto, cuda, mps or cpu.")


def describe(device: torch.device) -> str:
    """A short name for the device: 'NVIDIA H100 80GB HBM3 (79 GB)', 'Apple GPU (Metal)', 'CPU (8 cores)'."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"{props.name} ({props.total_memory / 2**30:.0f} GB)"
    if device.type == "mps":
        return "Apple GPU (Metal)"
    return f"CPU ({torch.get_num_threads()} threads)"


def is_out_of_memory(exc: BaseException) -> bool:
    """True for the out-of-memory errors of CUDA, MPS and the CPU allocator."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, (RuntimeError, MemoryError)) and ("out of memory" in text or "can't allocate memory" in text
                                                             or isinstance(exc, MemoryError))
