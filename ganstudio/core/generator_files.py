"""Bare CycleGAN generator weights: open published and user files safely, tell their shape, refuse the rest plainly.

A published CycleGAN model (horse2zebra.pth, style_monet.pth, ...), a `latest_net_G_A.pth` of the
reference tool and a `latest_net_G.pth` of the CUT tool (its anti-aliased layout) are plain state dicts
of a ResNet generator. Nothing in the file says how wide or
deep the network is, so the shape is read off the keys and tensor shapes. Files saved before PyTorch
0.4 also carry running statistics for InstanceNorm layers that no longer keep any; those keys are
dropped, and what remains must fit the network exactly (a strict load), or the file is refused with
one sentence that says what it is. Reading never runs code: torch.load(weights_only=True) or
safetensors, with no fallback.
"""

from __future__ import annotations

import pickle
import re
import struct
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from .errors import CheckpointError, ConfigError
from .fileio import atomic_save
from .filetypes import kind_sentence, load_failure_sentence, safetensors_header, sniff
from .printable import printable_name
from .models.translation import GeneratorSpec, ResnetGenerator

DIRECTIONS = ("AtoB", "BtoA")
OBSOLETE_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")
# Wrappers other tools put around a state dict; one level of them is looked into.
WRAPPER_KEYS = ("state_dict", "model", "generator", "netG", "netG_A", "G_A", "params")
SAFETENSORS_FORMAT = "cyclegan-resnet-generator"
_BLOCK_KEY = re.compile(r"^model\.(\d+)\.conv_block\.(\d+)\.weight$")
# A published CycleGAN generator (64 filters, 9 blocks: 11.4 million float32 weights) is 45 MB, and a
# GAN Studio CycleGAN checkpoint, with both generators, both discriminators and their optimiser
# state, about 350 MB. 1 GiB leaves room for wider networks and is refused before anything is read:
# torch.load holds the whole file in memory, and a 3 GB file took 3.4 GB and 17 s to refuse after it.
MAX_WEIGHTS_BYTES = 2**30


@dataclass
class OpenedGenerator:
    """A generator ready to convert, what it is, and what was set aside to open it."""

    network: ResnetGenerator
    spec: GeneratorSpec
    source: Path
    dropped_keys: list[str] = field(default_factory=list)
    direction: str | None = None  # known for GAN Studio files; a bare published file does not say
    note: str = ""
    # What a GAN Studio file notes of its training (a .safetensors export's header, a checkpoint's run
    # settings as training_side and training_fit); empty for a published file.
    metadata: dict = field(default_factory=dict)


def read_weights(path: str | Path) -> dict:
    """The tensors (or nested dicts) of a .pth or .safetensors file; CheckpointError with one sentence otherwise."""
    path = Path(path).expanduser()
    name = printable_name(path.name)
    if path.is_dir():
        raise CheckpointError(f"{printable_name(path)} is a folder, not a weights file.")
    kind = sniff(path)
    plain = kind_sentence(name, kind)
    if plain is not None:
        raise CheckpointError(plain)
    too_large = _too_large_sentence(path, kind)
    if too_large is not None:
        raise CheckpointError(too_large)
    if kind == "safetensors":
        return _read_safetensors(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, zipfile.BadZipFile, EOFError, OSError, ValueError, TypeError,
            AttributeError, KeyError, IndexError, UnicodeDecodeError) as exc:
        raise CheckpointError(load_failure_sentence(name, kind, exc, path)) from None
    return state


def _too_large_sentence(path: Path, kind: str) -> str | None:
    """Why a file is too large to open as weights, from its size on disk and, for PyTorch's zip format, the
    sizes its directory declares (which torch allocates); None when it is not."""
    name = printable_name(path.name)
    limit = f"{MAX_WEIGHTS_BYTES / 2**20:,.0f} MB"
    try:
        size = path.stat().st_size
    except OSError:
        return None  # torch.load says why it cannot be read
    if size > MAX_WEIGHTS_BYTES:
        return (f"{name} is {size / 2**20:,.0f} MB, more than the {limit} any generator or GAN Studio checkpoint "
                "comes to (a published CycleGAN generator is 45 MB), so it is not opened.")
    if kind == "torch-zip":
        try:
            with zipfile.ZipFile(path) as archive:
                declared = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, UnicodeDecodeError, struct.error):
            return None  # a damaged directory: torch.load refuses it and says so
        if declared > MAX_WEIGHTS_BYTES:
            return (f"{name} declares {declared / 2**20:,.0f} MB of contents in {size / 2**20:,.1f} MB on disk, more "
                    f"than the {limit} any generator comes to; it is damaged or not a weights file, so it is not "
                    "opened.")
    return None


def _read_safetensors(path: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    damaged = f"{printable_name(path.name)} is damaged or incomplete (a download cut short?) and cannot be read."
    header = safetensors_header(path)
    if header is None:
        raise CheckpointError(damaged)
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError):
        raise CheckpointError(damaged) from None
    return tensors


def _stored_direction(path: Path) -> str | None:
    """The direction a GAN Studio .safetensors export notes in its header, if any."""
    header = safetensors_header(path) or {}
    direction = (header.get("__metadata__") or {}).get("direction")
    return direction if direction in DIRECTIONS else None


def _is_tensor_dict(value) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(v, torch.Tensor) for v in value.values())


def _unwrap(state: dict, name: str) -> dict:
    """The state dict itself: one level of wrapper dicts looked into, a DataParallel 'module.' prefix removed."""
    if isinstance(state, dict) and not _is_tensor_dict(state):
        for key in WRAPPER_KEYS:
            if _is_tensor_dict(state.get(key)):
                state = state[key]
                break
    if not _is_tensor_dict(state):
        raise CheckpointError(f"{name} does not hold a network's weights (it holds {_describe_value(state)}).")
    if all(key.startswith("module.") for key in state):
        state = {key[len("module."):]: value for key, value in state.items()}
    return dict(state)


def _describe_value(value) -> str:
    if isinstance(value, dict):
        keys = ", ".join(sorted(map(str, value))[:4])
        return f"a dictionary of other things: {keys}" if keys else "an empty dictionary"
    if isinstance(value, torch.Tensor):
        return f"a single tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


def identify_other(state: dict, name: str) -> str | None:
    """A sentence naming what a state dict is when it is some other network than a ResNet generator."""
    keys = set(state)
    if any(key.startswith("model.model.") for key in keys):
        return (f"{name} is a pix2pix U-Net generator, not a CycleGAN ResNet generator; GAN Studio converts pictures "
                "with ResNet generators only.")
    first = state.get("model.0.weight")
    if isinstance(first, torch.Tensor) and first.ndim == 4 and first.shape[-2:] == (4, 4):
        return (f"{name} is a PatchGAN discriminator (the judge used in training), not a generator; open the "
                "generator file instead (latest_net_G_A.pth converts A to B, latest_net_G_B.pth B to A).")
    if any(key.startswith("net.0.") for key in keys) and "net.0.weight" in keys:
        return f"{name} is a pixel discriminator (the judge used in training), not a generator."
    if "model.1.weight" not in keys:
        sample = ", ".join(sorted(keys)[:3])
        return (f"{name} holds the weights of some other network (keys like {sample}), not a CycleGAN ResNet "
                "generator.")
    return None


def detect_generator(state: dict, name: str = "The file") -> GeneratorSpec:
    """The generator's shape from its keys: filters, residual blocks, dropout, normalisation and channels."""
    other = identify_other(state, name)
    if other is not None:
        raise CheckpointError(other)
    stem = state["model.1.weight"]
    if stem.ndim != 4 or stem.shape[-2:] != (7, 7):
        raise CheckpointError(f"{name} starts like a CycleGAN generator but its first layer is not a 7x7 "
                              "convolution; it is some other network.")
    filters, in_channels = int(stem.shape[0]), int(stem.shape[1])
    norm = "batch" if "model.2.weight" in state else "instance"
    # The CUT tool's anti-aliased layout keeps its fixed blur kernel after the first downsampling convolution.
    layout = GeneratorSpec(sampling="antialiased" if "model.7.filt" in state else "strided")
    first_block = layout.first_block_index
    blocks_seen: dict[int, set[int]] = {}
    for key, value in state.items():
        match = _BLOCK_KEY.match(key)
        if match and value.ndim == 4:  # convolutions; batch norm's scales share the pattern
            blocks_seen.setdefault(int(match.group(1)), set()).add(int(match.group(2)))
    blocks = 0
    while first_block + blocks in blocks_seen:
        blocks += 1
    if blocks != len(blocks_seen):
        raise CheckpointError(f"{name} looks like a CycleGAN generator, but its residual blocks are not numbered "
                              "one after another; the file is damaged or from a modified network.")
    dropout = False
    if blocks:
        convs = blocks_seen[first_block]
        if convs == {1, 6}:
            dropout = True
        elif convs != {1, 5}:
            raise CheckpointError(f"{name} looks like a CycleGAN generator, but its residual blocks are laid out "
                                  "differently (another padding or a modified network), so it cannot be used.")
    final = state.get(f"model.{replace(layout, blocks=blocks).last_convolution_index}.weight")
    if not isinstance(final, torch.Tensor) or final.ndim != 4:
        raise CheckpointError(f"{name} looks like a CycleGAN generator, but its last layer is missing; the file is "
                              "damaged or from a modified network.")
    return GeneratorSpec(filters=filters, blocks=blocks, dropout=dropout, norm=norm, in_channels=in_channels,
                         out_channels=int(final.shape[0]), sampling=layout.sampling)


def drop_obsolete_keys(state: dict, network: nn.Module) -> tuple[dict, list[str]]:
    """Remove the running statistics InstanceNorm layers kept before PyTorch 0.4; the cleaned dict and what went."""
    instance_norms = {module_name for module_name, module in network.named_modules()
                      if isinstance(module, nn.InstanceNorm2d) and not module.track_running_stats}
    kept, dropped = {}, []
    for key, value in state.items():
        owner, _, leaf = key.rpartition(".")
        if owner in instance_norms and leaf in OBSOLETE_SUFFIXES:
            dropped.append(key)
        else:
            kept[key] = value
    return kept, dropped


def load_strict(network: nn.Module, state: dict, name: str) -> None:
    """Load every tensor into `network`, all of them and nothing else, or refuse in one sentence."""
    expected = network.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        detail = f"missing {missing[0]}" if missing else f"unexpected {unexpected[0]}"
        raise CheckpointError(f"{name} does not fit the CycleGAN generator its keys describe ({detail}); the file is "
                              "damaged or from a modified network.")
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise CheckpointError(f"{name} does not fit the CycleGAN generator its keys describe ({key} has shape "
                                  f"{tuple(state[key].shape)}, expected {tuple(tensor.shape)}); the file is damaged or "
                                  "from a modified network.")
        if not state[key].is_floating_point() and tensor.is_floating_point():
            raise CheckpointError(f"{name} holds {state[key].dtype} numbers in {key} where weights should be; "
                                  "it cannot be used.")
        # The anti-aliased layout's blur kernels are fixed, never trained: other values are another network.
        if key.endswith(".filt") and not torch.allclose(state[key].float(), tensor, atol=1e-6):
            raise CheckpointError(f"{name} has blur kernels ({key}) unlike the anti-aliased generator's fixed ones; "
                                  "it is from a modified network and cannot be used.")
    network.load_state_dict(state, strict=True)


def generator_from_state(state: dict, name: str, source: Path, device: torch.device | str = "cpu",
                         direction: str | None = None) -> OpenedGenerator:
    """Build the generator a bare state dict describes and load it strictly."""
    state = _unwrap(state, name)
    spec = detect_generator(state, name)
    network = ResnetGenerator(spec)
    state, dropped = drop_obsolete_keys(state, network)
    if any(not torch.isfinite(value).all() for value in state.values() if value.is_floating_point()):
        raise CheckpointError(f"{name} holds NaN or infinite weights (its training diverged); it cannot convert "
                              "pictures.")
    load_strict(network, {key: value.float() if value.is_floating_point() else value for key, value in state.items()},
                name)
    network.eval().to(device)
    note = f"{spec.describe()}"
    if dropped:
        note += f"; set aside {len(dropped)} obsolete InstanceNorm statistics from an old PyTorch"
    return OpenedGenerator(network, spec, source, dropped, direction, note)


def open_generator(path: str | Path, direction: str = "AtoB", device: torch.device | str = "cpu") -> OpenedGenerator:
    """A generator from a file: a bare state dict (.pth, .safetensors) or a GAN Studio CycleGAN checkpoint.

    `direction` only matters for a checkpoint, which holds both generators; a bare file converts the
    way it was trained.
    """
    path = Path(path).expanduser()
    state = read_weights(path)
    name = printable_name(path.name)
    if isinstance(state, dict) and state.get("format") == "ganstudio-checkpoint":
        from .recipes.base import TranslatingRecipe
        from .registry import find_recipe
        model = state.get("model")
        recipe = find_recipe(str(model))
        if recipe is None or not issubclass(recipe, TranslatingRecipe):
            raise CheckpointError(f"{name} is a GAN Studio {model} checkpoint, not an image-to-image model.")
        networks = state.get("recipe", {})
        generator_state = recipe.generator_state(networks, direction) if isinstance(networks, dict) else None
        if not _is_tensor_dict(generator_state):
            raise CheckpointError(f"{name} is a GAN Studio checkpoint without its generators; it cannot convert.")
        opened = generator_from_state(generator_state, name, path, device, direction)
        opened.metadata = _checkpoint_training_scale(state.get("config"))
        return opened
    header = (safetensors_header(path) or {}) if sniff(path) == "safetensors" else {}
    metadata = header.get("__metadata__") or {}
    opened = generator_from_state(state, name, path, device, _stored_direction(path) if header else None)
    opened.metadata = dict(metadata) if isinstance(metadata, dict) else {}
    return opened


def training_metadata(config) -> dict[str, str]:
    """The scale a translating run's pictures were decoded at, as a file notes it: training_side (its recipe's
    load size) and training_fit."""
    from .registry import get_recipe
    return {"training_side": str(get_recipe(config.model.name).load_size(config)), "training_fit": config.data.fit}


def _checkpoint_training_scale(raw_config) -> dict:
    """training_metadata from a checkpoint's run settings; empty when they cannot be read."""
    from .config import RunConfig
    try:
        return training_metadata(RunConfig.from_dict(raw_config))
    except (ConfigError, CheckpointError, TypeError, ValueError, KeyError, AttributeError):
        return {}  # settings of an older or damaged run: it converts at full resolution instead


def generator_tensors(network: nn.Module) -> dict[str, torch.Tensor]:
    """The generator's state dict as plain contiguous float32 CPU tensors, in the reference tool's key layout."""
    return {key: value.detach().to("cpu", torch.float32 if value.is_floating_point() else value.dtype)
            .contiguous().clone() for key, value in network.state_dict().items()}


def save_generator(network: ResnetGenerator, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write the generator as .pth (a plain state dict the reference tool loads) or .safetensors, atomically."""
    path = Path(path).expanduser()
    tensors = generator_tensors(network)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors.torch import save

        info = {"format": "pt", "architecture": SAFETENSORS_FORMAT,
                **{key: str(value) for key, value in network.spec.to_dict().items()}, **(metadata or {})}
        payload = save(tensors, metadata=info)
        atomic_save(path, lambda handle: handle.write(payload))
    elif suffix in (".pth", ".pt"):
        atomic_save(path, lambda handle: torch.save(tensors, handle))
    else:
        raise CheckpointError(f"Export to {path.name} is not possible: name the file .pth or .safetensors.")
    return path
