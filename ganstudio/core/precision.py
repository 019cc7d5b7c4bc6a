"""Numeric precision per device: mixed precision on GPUs, float32 elsewhere unless asked."""

from __future__ import annotations

import contextlib

import torch

from .errors import ConfigError

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def cpu_has_native_bf16() -> bool:
    """True on CPUs with bfloat16 instructions (AVX512-BF16 or AMX); elsewhere bf16 is emulated and slower."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    try:
        return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    except RuntimeError:
        return False


def resolve_precision(preference: str, device: torch.device) -> str:
    """'fp32', 'bf16' or 'fp16' for this device.

    On CUDA 'auto' is bf16 where the GPU has it (Ampere and later: no loss scaling needed), fp16 with
    loss scaling before. On a CPU with bf16 instructions it is bf16 too: the DCGAN step runs 1.5 times
    faster (2-core AMD EPYC, 64 px) and at equal minutes its samples were as good or better. Elsewhere
    float32."""
    if preference == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if device.type == "cpu" and cpu_has_native_bf16():
            return "bf16"
        return "fp32"
    if preference == "fp16" and device.type == "cpu":
        raise ConfigError("Half precision (fp16) is for GPUs; on the CPU use fp32 or bf16.")
    return preference


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=AUTOCAST_DTYPES[precision])


def make_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler:
    """A gradient scaler, enabled only for fp16, where small gradients would otherwise underflow to zero."""
    return torch.amp.GradScaler(device.type if device.type != "cpu" else "cpu", enabled=precision == "fp16")
