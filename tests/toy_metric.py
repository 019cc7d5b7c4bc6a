"""A toy metric in one file, to prove the metric seam: how far the samples' mean colour is from the data's.

Named in GANSTUDIO_PLUGINS, it is found, scheduled, measured in the background, logged, replayed and
printed without any other file naming it. Its `fail_after` lets a test see a failing measurement.
"""

from __future__ import annotations

import numpy as np

from ganstudio.core.metrics.base import Metric
from ganstudio.core.registry import register_metric


@register_metric("toy-colour")
class MeanColourDistance(Metric):
    label = "Colour distance"
    summary = "how far the mean colour of 16 samples is from the data's (lower is better)"
    value_names = ("colour distance",)
    default_on = False
    every_epochs = 1
    fail_after_step: int | None = None  # a test sets this to see a measurement fail

    def __init__(self, config, device, domain_pixels):
        super().__init__(config, device, domain_pixels)
        self.data_mean = domain_pixels[0].reshape(-1, 3).mean(0) / 255.0

    def snapshot(self, recipe):
        # Seeded latents of its own: no shared generator is drawn from, so training is undisturbed.
        return recipe.generate(recipe.latents_for_seeds(list(range(16)))), recipe.config

    def measure(self, snapshot) -> dict[str, float]:
        pictures, _ = snapshot
        if self.fail_after_step is not None:
            raise RuntimeError("the toy metric was told to fail")
        sample_mean = pictures.reshape(-1, 3).mean(0) / 255.0
        return {"colour distance": float(np.abs(sample_mean - self.data_mean).sum())}

