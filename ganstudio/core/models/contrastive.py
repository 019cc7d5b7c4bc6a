"""CUT's contrastive parts: the generator's encoder features, the patch sampler with its MLP heads, and PatchNCE.

CUT (Park et al. 2020) asks a patch of the translated picture to be more like the same patch of its
input than like any other patch of that input, in the generator's own encoder features. The
generator is CycleGAN's ResnetGenerator (strided, or in the CUT tool's anti-aliased layout), so its
weights are the same file formats; this module only reads outputs of chosen layers of its `nn.Sequential`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .translation import STEM_MODULES, GeneratorSpec, ResnetGenerator

# The paper's layers 0, 4, 8, 12, 16 of the CUT tool's anti-aliased layout: the padded input pixels, the first
# and the second downsampling convolutions, and the outputs of the first and the fifth residual blocks. The
# strided layout (CycleGAN's, three modules a level where the anti-aliased one has four) has the same layers
# at 0, 4, 7, 10 and 14.
HEAD_WIDTH = 256  # the reference's netF_nc: each head is Linear(C, 256), ReLU, Linear(256, 256)
PATCHES = 256  # patches sampled per layer and picture
TEMPERATURE = 0.07
# Logits of a patch against itself among the negatives: the reference masks them with -10 before the
# temperature, far below any cosine similarity (at most 1).
SELF_LOGIT = -10.0


def nce_layers(spec: GeneratorSpec) -> tuple[int, ...]:
    """The indices, in the generator's Sequential, of the layers PatchNCE compares."""
    first_block = spec.first_block_index
    return (0, STEM_MODULES, STEM_MODULES + spec.level_modules, first_block, first_block + 4)


def layer_channels(generator: ResnetGenerator, layers: tuple[int, ...] | None = None) -> list[int]:
    """The channel count of each layer's output, read off the generator's convolutions."""
    layers = nce_layers(generator.spec) if layers is None else layers
    channels, counts = generator.spec.in_channels, {}
    for index, module in enumerate(generator.model):
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            channels = module.out_channels
        counts[index] = channels
    return [counts[layer] for layer in layers]


def _run_keeping(generator: ResnetGenerator, images: torch.Tensor, layers: tuple[int, ...],
                 last: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The generator's layers up to index `last`: the output there, and the outputs of `layers` on the way."""
    features = []
    hidden = images
    for index, module in enumerate(generator.model):
        hidden = module(hidden)
        if index in layers:
            features.append(hidden)
        if index >= last:
            break
    return hidden, features


def encode(generator: ResnetGenerator, images: torch.Tensor, layers: tuple[int, ...] | None = None) -> list[torch.Tensor]:
    """The outputs of the generator's `layers` (PatchNCE's by default) for `images`, running only as far as the last."""
    layers = nce_layers(generator.spec) if layers is None else layers
    return _run_keeping(generator, images, layers, layers[-1])[1]


def translate_with_features(generator: ResnetGenerator, images: torch.Tensor,
                            layers: tuple[int, ...] | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The generator's output and its `layers`' outputs from one pass: the input side of PatchNCE comes free
    with the translation instead of a second encoder pass (the reference runs two)."""
    layers = nce_layers(generator.spec) if layers is None else layers
    return _run_keeping(generator, images, layers, len(generator.model) - 1)


class PatchSampler(nn.Module):
    """Picks the same random positions in each layer's features of two pictures and projects them with a head per
    layer onto the unit sphere: the reference's PatchSampleF with its MLP."""

    def __init__(self, channels: list[int], width: int = HEAD_WIDTH):
        super().__init__()
        self.heads = nn.ModuleList(nn.Sequential(nn.Linear(count, width), nn.ReLU(), nn.Linear(width, width))
                                   for count in channels)
        for module in self.modules():
            if isinstance(module, nn.Linear):  # the reference's initialisation of every layer: N(0, 0.02), zero bias
                nn.init.normal_(module.weight, 0.0, 0.02)
                nn.init.zeros_(module.bias)

    def positions(self, features: list[torch.Tensor], count: int, generator: torch.Generator) -> list[torch.Tensor]:
        """For each layer, `count` distinct positions of its H x W grid (all of them when it has fewer)."""
        chosen = []
        for feature in features:
            cells = feature.shape[2] * feature.shape[3]
            order = torch.randperm(cells, generator=generator)[:min(count, cells)]
            chosen.append(order.to(feature.device, non_blocking=True))
        return chosen

    def forward(self, features: list[torch.Tensor], positions: list[torch.Tensor]) -> list[torch.Tensor]:
        """Each layer's N x C x H x W features at its positions as (N * P) x width unit vectors."""
        projected = []
        for head, feature, where in zip(self.heads, features, positions):
            rows = feature.flatten(2).transpose(1, 2)[:, where].flatten(0, 1)  # (N * P) x C
            projected.append(F.normalize(head(rows.float()), dim=1))
        return projected


def patch_nce(queries: torch.Tensor, keys: torch.Tensor, pictures: int, temperature: float = TEMPERATURE) -> torch.Tensor:
    """PatchNCE for one layer: each query patch against its own key (the positive) and the other patches of the
    same picture (the negatives), cross-entropy over similarities / temperature, averaged over patches.

    `queries` come from the translated pictures and `keys` from their inputs, (N * P) x D each with the
    pictures' patches consecutive; keys are not trained through (the reference detaches them).
    """
    with torch.autocast(queries.device.type, enabled=False):
        return _patch_nce(queries.float(), keys.detach().float(), pictures, temperature)


def _patch_nce(queries: torch.Tensor, keys: torch.Tensor, pictures: int, temperature: float) -> torch.Tensor:
    # In float32 even under mixed precision: logits reach 1 / 0.07 = 14.3, where bf16 steps by 0.06.
    positive = (queries * keys).sum(dim=1, keepdim=True)
    queries_by_picture = queries.view(pictures, -1, queries.shape[1])
    keys_by_picture = keys.view(pictures, -1, keys.shape[1])
    negatives = torch.bmm(queries_by_picture, keys_by_picture.transpose(1, 2))  # N x P x P
    patches = negatives.shape[1]
    own = torch.eye(patches, dtype=torch.bool, device=queries.device)[None]
    negatives = negatives.masked_fill(own, SELF_LOGIT).view(-1, patches)
    logits = torch.cat([positive, negatives], dim=1) / temperature
    targets = torch.zeros(logits.shape[0], dtype=torch.long, device=queries.device)
    return F.cross_entropy(logits, targets)


def nce_loss(generator: ResnetGenerator, sampler: PatchSampler, source_features: list[torch.Tensor],
             translated: torch.Tensor, positions: list[torch.Tensor]) -> torch.Tensor:
    """The PatchNCE loss between pictures (their encoder features) and their translations at the same sampled
    `positions` (PatchSampler.positions), averaged over the layers; the translations pass through the encoder again."""
    keys = sampler(source_features, positions)
    queries = sampler(encode(generator, translated), positions)
    pictures = translated.shape[0]
    return torch.stack([patch_nce(query, key, pictures) for query, key in zip(queries, keys)]).mean()
