"""The automatic batch size on a GPU: the model's own batch, or the largest below it whose step fits with headroom.

A probe says how many bytes one training step at a batch size peaks at (or raises the out-of-memory
error of a batch that does not fit); on CUDA it is a throwaway copy of the model taking two steps. The
search halves from the model's preferred batch until a step's peak leaves the headroom free. Tests
inject a probe, so the search is checked on any machine.
"""

from __future__ import annotations

import copy
from typing import Callable

import torch

from ..device import is_out_of_memory

# A step may use at most this share of the GPU's memory at its peak: the rest is for the allocator's
# fragmentation, the quality score's network, sample grids and checkpoints copied off the device.
HEADROOM_SHARE = 0.8

PeakProbe = Callable[[int], int]  # batch size -> peak bytes of one step; raises out-of-memory when it cannot


def fit_batch_size(preferred: int, probe: PeakProbe, capacity_bytes: int) -> tuple[int, int | None]:
    """The largest of preferred, preferred/2, ... 1 whose step's peak stays within the headroom; and that peak.

    (1, None) when not even one picture a step fits: training then tries, and says so plainly if it cannot.
    """
    limit = HEADROOM_SHARE * capacity_bytes
    batch = max(1, preferred)
    while True:
        try:
            peak = probe(batch)
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            peak = None
        if peak is not None and peak <= limit:
            return batch, peak
        if batch == 1:
            return 1, None
        batch //= 2


def device_probe(recipe_cls, config, device: torch.device, precision: str,
                 domain_shapes: list[tuple[int, int]]) -> tuple[PeakProbe, int] | None:
    """A probe of real steps and the device's memory in bytes, on CUDA; None elsewhere (a CPU's batch is the model's).

    The probe builds a throwaway copy of the model and takes two steps (the first makes Adam's state).
    """
    if device.type != "cuda":
        return None

    def probe(batch: int) -> int:
        trial = copy.deepcopy(config)
        trial.train.batch_size = batch
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        recipe = batches = None
        try:
            recipe = recipe_cls(trial, device, precision)
            batches = [torch.rand(batch, 3, height, width, device=device) * 2 - 1 for height, width in domain_shapes]
            for _ in range(2):
                recipe.train_step(batches, 0)
            torch.cuda.synchronize(device)
            return int(torch.cuda.max_memory_allocated(device))
        finally:
            del recipe, batches
            torch.cuda.empty_cache()

    return probe, int(torch.cuda.get_device_properties(device).total_memory)
