"""The metric contract: what a measure taken while training declares, and the two halves of taking it.

A metric is one file in core/metrics (or a file named in GANSTUDIO_PLUGINS) with a Metric subclass
registered by @register_metric("name"). The engine schedules it as a hook, every `every_seconds`
of training time or every `every_epochs` epochs. `snapshot` runs on the training thread between
steps and must be cheap and draw from no shared random generator, so training stays bitwise the
same with or without the metric; `measure` runs on a background thread with what the snapshot
took, and returns named numbers that front ends plot beside the losses. A metric whose __init__ raises
GanStudioError (its pretrained weights are missing, say) is skipped with that sentence as a warning.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from ..config import RunConfig
from ..registry import GENERATE


class Metric:
    """One measure, taken now and then while a run trains."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""  # what a person reads: "Quality (KID)"
    summary: ClassVar[str] = ""  # one plain sentence: what it says and which way is better
    value_names: ClassVar[tuple[str, ...]] = ()  # the numbers `measure` returns, in order
    higher_is_better: ClassVar[bool] = False
    kinds: ClassVar[tuple[str, ...]] = (GENERATE,)  # the kinds of model it can measure
    default_on: ClassVar[bool] = True  # measured when the run asks for the "auto" set of metrics
    every_seconds: ClassVar[float] = 0.0
    every_epochs: ClassVar[int] = 0
    # A metric that ranks checkpoints is measured right after a checkpoint of the same step (the engine
    # writes one if needed), and the checkpoint with the best first value is kept as checkpoints/best.pt.
    ranks_checkpoints: ClassVar[bool] = False

    def __init__(self, config: RunConfig, device: torch.device, domain_pixels: list[np.ndarray]):
        """`domain_pixels`: each domain's decoded training pictures, N x H x W x 3 uint8."""
        self.config = config
        self.device = device

    @classmethod
    def measures(cls, recipe_cls: type) -> bool:
        """Whether this metric can measure runs of `recipe_cls`."""
        return recipe_cls.kind in cls.kinds

    def snapshot(self, recipe) -> Any:
        """What `measure` needs from the recipe now (a copy of the sampling network, say), taken between steps."""
        raise NotImplementedError

    def measure(self, snapshot: Any) -> dict[str, float]:
        """The metric's values for the snapshot, on a background thread: {value name: number}."""
        raise NotImplementedError
