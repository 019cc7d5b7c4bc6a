"""A one-way translating model in one file: CycleGAN's training, offered as converting A to B only.

It stands in for a one-sided model (CUT) to prove that the CLI's translate and export and the Convert
tab take a model's directions from its declaration rather than assuming both ways.
"""

from __future__ import annotations

from ganstudio.core.recipes.cyclegan import CycleGANRecipe
from ganstudio.core.registry import register


@register("one-way")
class OneWayRecipe(CycleGANRecipe):
    label = "One way — a test of translating models"
    summary = "CycleGAN's networks and training, converting A to B only."
    list_order = 910
    directions = {"AtoB": "generator_a"}
