"""Step rollback: what one training step may change, kept before it runs, so a step that runs out of memory part-way is undone.

A GAN step updates D, then G (or G, then D): an out-of-memory error between the two would leave one
network a step ahead of the other. The snapshot is the recipe's whole training state (networks, their
batch-norm statistics, the averaged generator, optimisers, scalers, pools) copied on its device, and
every random generator's state, so the retried step draws the same latents and augmentations, and
which parameters want gradients (a step that freezes D for G's update may have failed while it was frozen).
"""

from __future__ import annotations

import torch

from ..checkpoint import capture_rng_state, restore_rng_state


def _copy_tensors(value, copies: dict, path: str):
    """`value` with each tensor replaced by a copy, reusing the buffer of the same path and shape in `copies`."""
    if isinstance(value, torch.Tensor):
        kept = copies.get(path)
        if kept is None or kept.shape != value.shape or kept.dtype != value.dtype or kept.device != value.device:
            kept = copies[path] = torch.empty_like(value)
        return kept.copy_(value)
    if isinstance(value, dict):
        return {key: _copy_tensors(item, copies, f"{path}/{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_tensors(item, copies, f"{path}/{index}") for index, item in enumerate(value))
    return value


class StepRollback:
    """Takes the recipe's state before a step (`keep`) and puts it back after a failed one (`undo`).

    The copies' buffers are reused from step to step, so the cost is one device-to-device copy of the
    training state a step (the weights, their averages and Adam's two moments) and no allocation.
    """

    def __init__(self, recipe):
        self.recipe = recipe
        self._buffers: dict = {}
        self._state: dict | None = None
        self._rng: dict | None = None
        self._wants_gradients: list[tuple[torch.nn.Parameter, bool]] = []

    def keep(self) -> None:
        self._state = _copy_tensors(self.recipe.state_dict(), self._buffers, "")
        self._rng = capture_rng_state()
        self._wants_gradients = [(parameter, parameter.requires_grad) for network in self.recipe.networks().values()
                                 for parameter in network.parameters()]

    def undo(self) -> None:
        if self._state is None:
            return
        self.recipe.load_state_dict(self._state)
        restore_rng_state(self._rng)
        # An optimiser's load_state_dict keeps the tensors it is given when their dtype and device fit: the
        # kept buffers are its state now, and the next `keep` takes new ones.
        self._buffers = {}
        self._state = None
        for parameter, wanted in self._wants_gradients:
            parameter.requires_grad_(wanted)
            parameter.grad = None

    def release(self) -> None:
        """Give the buffers back (after an out-of-memory error they are memory the smaller step can use)."""
        self._buffers.clear()
        self._state = self._rng = None
