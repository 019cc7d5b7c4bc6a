"""Converting pictures with a trained image-to-image generator: one picture to an array, or a folder to files.

Front ends call `open_translator` (a run folder, a GAN Studio checkpoint, or a bare .pth/.safetensors
generator such as the published horse2zebra.pth; any translating model's run, as its recipe declares its
directions), then `Translator.translate_picture` for one
picture or `translate_folder` for many, with a progress callback and a cancel check. Pictures keep
their size and aspect ratio: the generator needs sides that are a multiple of 4, so edges are
mirrored out to the next multiple and trimmed off again afterwards. A picture too large to convert in
one piece within the memory budget is converted in overlapping tiles, blended where they overlap.

A run knows the scale it learned at (its training pictures were decoded to a square of the load size), so by
default each picture is resized to that scale, converted, and resized back: the network then sees shapes and
textures as large as in training. A bare generator file says nothing of its training, so it converts at full
resolution, as the reference tool's `--preprocess none` does.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .. import __version__
from .checkpoint import load_checkpoint
from .generator_files import (DIRECTIONS, OpenedGenerator, generator_from_state, open_generator, save_generator,
                              training_metadata)
from .data.batches import physical_memory_bytes
from .data.decode import DecodeError, open_image, to_rgb
from .data.sources import SourceFile, SourceReader, UnreadableSource, list_dataset
from .device import is_out_of_memory, select_device
from .errors import CheckpointError, ConfigError, DataError, DeviceError
from .export import save_png
from .fileio import atomic_save
from .models.translation import SIZE_MULTIPLE
from .recipes.base import TranslatingRecipe
from .registry import get_recipe
from .runs import RunFolder

# Below this the generator's innermost padding has nothing to mirror: smaller pictures are padded up to it.
MIN_SIDE = 16
# Tiles overlap by this much and are blended linearly across it; wider than the seams instance norm leaves.
TILE_OVERLAP = 64
# No tile is smaller than this many pixels (128 x 128): smaller ones would be mostly overlap.
MIN_TILE_PIXELS = 128 * 128
# Working memory of a forward pass without gradients, per pixel and generator filter: a few full-resolution
# float32 maps alive at once. Peak growth measured 15 to 20 bytes (16 to 64 filters, 512 to 768 px); the
# anti-aliased layout's first downsampling convolution works at full resolution: 28 to 30 (16 and 32 filters, 640 px).
BYTES_PER_PIXEL_PER_FILTER = {"strided": 20, "antialiased": 32}
# Share of the machine's memory one conversion may use on a CPU.
MEMORY_SHARE = 0.25
OUTPUT_SUFFIX = ".png"
WRITABLE_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}

# Largest training scale a file's header may claim: well above the load size of the largest training size
# (1,024 px, loaded at 1,144), room for sizes to come.
MAX_TRAINING_SIDE = 4096

# How a picture is converted: at the scale the model was trained at (resized there and back), or at its own pixels.
SCALES = ("trained", "full")

ProgressFn = Callable[[int, int, str], None]  # done, total, the name of the picture just finished
CancelledFn = Callable[[], bool]


def pixels_to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """H x W x 3 uint8 to 1 x 3 x H x W in [-1, 1], by the same arithmetic as the reference's ToTensor and
    Normalize(0.5, 0.5), so the same pixels give the generator bit-identical input."""
    tensor = torch.from_numpy(np.require(pixels, requirements=["C", "W"])).permute(2, 0, 1).unsqueeze(0)
    return tensor.float().div(255).sub(0.5).div(0.5)


def tensor_to_pixels(images: torch.Tensor) -> np.ndarray:
    """1 x 3 x H x W in [-1, 1] to H x W x 3 uint8 as the reference tool saves its results (scaled, then truncated),
    so our PNGs and its PNGs agree pixel for pixel."""
    array = images[0].detach().float().cpu().numpy().transpose(1, 2, 0)
    return np.clip((array + 1) / 2.0 * 255.0, 0, 255).astype(np.uint8)


def read_picture(path_or_bytes, background: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """A picture file as H x W x 3 uint8 RGB: allow-listed formats only, EXIF rotation applied, transparency on
    `background`. DataError with the reason when it is not a usable picture."""
    name = Path(path_or_bytes).name if isinstance(path_or_bytes, (str, Path)) else "The picture"
    try:
        if isinstance(path_or_bytes, (str, Path)):
            with open(path_or_bytes, "rb") as handle:
                data = handle.read()
        else:
            data = path_or_bytes
        image = open_image(data)
        try:
            image.load()
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)
            return np.asarray(to_rgb(image, background), dtype=np.uint8).copy()
        finally:
            image.close()
    except FileNotFoundError:
        raise DataError(f"{path_or_bytes} does not exist.") from None
    except IsADirectoryError:
        raise DataError(f"{path_or_bytes} is a folder, not a picture.") from None
    except DecodeError as exc:
        raise DataError(f"{name} cannot be converted: {exc}.") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise DataError(f"{name} cannot be converted: damaged or truncated ({str(exc)[:80]}).") from None


def _memory_budget(device: torch.device) -> int:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * 0.5)  # half of what is free: the GPU holds little else while converting
    return int(physical_memory_bytes() * MEMORY_SHARE)


@dataclass(frozen=True)
class TrainingScale:
    """The scale a model learned at: training pictures were fitted (`fit`: crop, pad, stretch) to `side` x `side`."""

    side: int
    fit: str = "crop"

    def size_for(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) a picture is resized to so that it has the training pictures' scale."""
        if self.fit == "stretch":
            return self.side, self.side
        factor = self.side / (min(height, width) if self.fit == "crop" else max(height, width))
        return max(1, round(height * factor)), max(1, round(width * factor))

    @classmethod
    def from_metadata(cls, metadata: dict) -> "TrainingScale | None":
        """The scale a GAN Studio file notes (generator_files.training_metadata), or None (a published file does not say)."""
        try:
            side = int(metadata.get("training_side", ""))
        except (TypeError, ValueError):
            return None
        fit = metadata.get("training_fit", "crop")
        # A header is the file's word, not ours: a side beyond any training size would blow pictures up to it.
        return cls(side, fit) if 0 < side <= MAX_TRAINING_SIDE and fit in ("crop", "pad", "stretch") else None


def _checked_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ConfigError(f"The scale must be {' or '.join(SCALES)}, not '{scale}'.")
    return scale


def resize_pixels(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """H x W x 3 uint8 resized (Lanczos) to height x width."""
    if pixels.shape[:2] == (height, width):
        return pixels
    return np.asarray(Image.fromarray(pixels).resize((width, height), Image.Resampling.LANCZOS), dtype=np.uint8)


@dataclass
class Translator:
    """One generator, ready to convert pictures on `device`; `training_scale` when its run says what it was."""

    generator: OpenedGenerator
    device: torch.device
    direction: str | None
    source_name: str
    max_pixels: int = 0  # most pixels converted in one piece; 0: from the memory budget
    training_scale: TrainingScale | None = None
    scale: str = "trained"  # the default of translate_picture: SCALES

    def __post_init__(self) -> None:
        if not self.max_pixels:
            spec = self.generator.spec
            per_pixel = BYTES_PER_PIXEL_PER_FILTER[spec.sampling] * spec.filters
            self.max_pixels = max(MIN_TILE_PIXELS, _memory_budget(self.device) // per_pixel)

    @property
    def description(self) -> str:
        """What a user reads about the model: 'horse2zebra.pth: ResNet generator, 64 filters, 9 blocks'."""
        return f"{self.source_name}: {self.generator.note}"

    @torch.no_grad()
    def translate_tensor(self, images: torch.Tensor) -> torch.Tensor:
        """N x 3 x H x W in [-1, 1] (sides a multiple of 4) through the generator, float32 on the CPU."""
        return self.generator.network(images.to(self.device, torch.float32)).float().cpu()

    @torch.no_grad()
    def translate_picture(self, pixels: np.ndarray, max_side: int | None = None, scale: str | None = None) -> np.ndarray:
        """H x W x 3 uint8 to its translation, the same size (or `max_side` on its longer side, if smaller).

        `scale` (default the translator's): 'trained' converts the picture resized to the scale the model learned
        at and resizes the result back, where that scale is known; 'full' converts the pixels as they are.
        """
        if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
            raise ValueError(f"expected H x W x 3 uint8 pixels, got {pixels.shape} {pixels.dtype}")
        scale = _checked_scale(scale or self.scale)
        if max_side and max(pixels.shape[:2]) > max_side:
            pixels = shrink(pixels, max_side)
        if scale == "trained" and self.training_scale is not None:
            height, width = pixels.shape[:2]
            converted = self._convert(resize_pixels(pixels, *self.training_scale.size_for(height, width)))
            return resize_pixels(converted, height, width)
        return self._convert(pixels)

    def _convert(self, pixels: np.ndarray) -> np.ndarray:
        """The picture through the generator at its own pixels: whole, or in tiles when memory asks."""
        height, width = pixels.shape[:2]
        image = pixels_to_tensor(pixels)
        while True:
            try:
                whole = height * width <= self.max_pixels
                return tensor_to_pixels(self._whole(image) if whole else self._tiled(image))
            except (RuntimeError, MemoryError) as exc:
                # The estimate was too hopeful (other programs took memory): smaller tiles, down to a floor.
                if not is_out_of_memory(exc):
                    raise
                if self.max_pixels <= MIN_TILE_PIXELS:
                    raise DeviceError(f"Out of memory converting a {width} x {height} picture even in small "
                                      "tiles; close other programs or convert a smaller version.") from None
                self.max_pixels = max(MIN_TILE_PIXELS, min(self.max_pixels, height * width) // 4)
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()

    def _whole(self, image: torch.Tensor) -> torch.Tensor:
        """One picture, its sides mirrored out to what the generator needs and the result trimmed back."""
        height, width = image.shape[-2:]
        target_h = max(MIN_SIDE, -(-height // SIZE_MULTIPLE) * SIZE_MULTIPLE)
        target_w = max(MIN_SIDE, -(-width // SIZE_MULTIPLE) * SIZE_MULTIPLE)
        if (target_h, target_w) != (height, width):
            pad_h, pad_w = target_h - height, target_w - width
            # Reflection needs a margin smaller than the picture; tiny pictures repeat their edge instead.
            mode = "reflect" if pad_h < height and pad_w < width else "replicate"
            image = F.pad(image, (0, pad_w, 0, pad_h), mode=mode)
        return self.translate_tensor(image)[..., :height, :width]

    def _tiled(self, image: torch.Tensor) -> torch.Tensor:
        """A large picture in overlapping square tiles, each weighted down linearly towards its edges."""
        height, width = image.shape[-2:]
        side = max(TILE_OVERLAP * 2, int(math.sqrt(self.max_pixels)) // SIZE_MULTIPLE * SIZE_MULTIPLE)
        side = min(side, max(height, width))
        step = max(SIZE_MULTIPLE, side - TILE_OVERLAP)
        output = torch.zeros(1, 3, height, width)
        weights = torch.zeros(1, 1, height, width)
        tops = _tile_starts(height, side, step)
        lefts = _tile_starts(width, side, step)
        for top in tops:
            for left in lefts:
                tile = image[..., top:top + side, left:left + side]
                result = self._whole(tile)
                ramp = _blend_weights(result.shape[-2], result.shape[-1], TILE_OVERLAP,
                                      top > 0, top + side < height, left > 0, left + side < width)
                output[..., top:top + side, left:left + side] += result * ramp
                weights[..., top:top + side, left:left + side] += ramp
        return output / weights.clamp_min(1e-8)


def _tile_starts(length: int, side: int, step: int) -> list[int]:
    if length <= side:
        return [0]
    starts = list(range(0, length - side, step))
    return starts + [length - side]


def _blend_weights(height: int, width: int, overlap: int, top: bool, bottom: bool, left: bool,
                   right: bool) -> torch.Tensor:
    """1 in the middle, falling linearly to near 0 across `overlap` pixels on the sides that have a neighbour."""
    def ramp(length: int, start: bool, end: bool) -> torch.Tensor:
        values = torch.ones(length)
        span = min(overlap, length // 2)
        rising = (torch.arange(span, dtype=torch.float32) + 0.5) / span
        if start:
            values[:span] = rising
        if end:
            values[length - span:] = torch.minimum(values[length - span:], rising.flip(0))
        return values

    return (ramp(height, top, bottom).view(-1, 1) * ramp(width, left, right).view(1, -1)).view(1, 1, height, width)


def shrink(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """The picture scaled down (Lanczos) so its longer side is `max_side`, keeping its aspect ratio."""
    height, width = pixels.shape[:2]
    scale = max_side / max(height, width)
    return resize_pixels(pixels, max(1, round(height * scale)), max(1, round(width * scale)))


def _run_generator(run: str | Path, direction: str, device: torch.device,
                   checkpoint: str | Path | None = None) -> tuple[OpenedGenerator, RunFolder, dict]:
    """The `direction` generator of an image-to-image run's latest checkpoint (or `checkpoint`), and the checkpoint."""
    folder = RunFolder(run)
    if not folder.path.is_dir():
        raise ConfigError(f"{run} does not exist.")
    config = folder.load_config()
    recipe = get_recipe(config.model.name)
    if not issubclass(recipe, TranslatingRecipe):
        raise ConfigError(f"{folder.name} is not an image-to-image run: its model ({recipe.label}) makes pictures "
                          "from seeds. Use 'ganstudio generate', or the Generate page.")
    if direction not in recipe.directions:
        raise ConfigError(f"{folder.name} converts {' and '.join(recipe.directions)} only, not '{direction}'.")
    path = Path(checkpoint).expanduser() if checkpoint else folder.latest_checkpoint()
    if path is None:
        raise CheckpointError(f"{folder.name} has no checkpoint yet; train it a little longer first.")
    state = load_checkpoint(path)
    network_state = recipe.generator_state(state.get("recipe", {}), direction)
    if not isinstance(network_state, dict):
        raise CheckpointError(f"{path.name} does not hold the {direction} generator.")
    return generator_from_state(network_state, path.name, path, device, direction), folder, state


def open_translator(weights: str | Path | None = None, run: str | Path | None = None, direction: str = "AtoB",
                    device: str = "auto", checkpoint: str | Path | None = None, scale: str = "trained") -> Translator:
    """A translator from a bare generator file (`weights`) or from a run folder (`run`, its latest checkpoint
    or `checkpoint`). A run and a GAN Studio checkpoint hold both generators: `direction` picks one. `scale` is
    its default for each picture (SCALES); a run, a checkpoint and a GAN Studio .safetensors export know their
    training scale, other files convert at full resolution either way."""
    if direction not in DIRECTIONS:
        raise ConfigError(f"The direction must be AtoB or BtoA, not '{direction}'.")
    _checked_scale(scale)
    if (weights is None) == (run is None):
        raise ConfigError("Give either a generator file or a run folder to convert with.")
    torch_device = select_device(device)
    if weights is not None:
        opened = open_generator(weights, direction, torch_device)
        return Translator(opened, torch_device, opened.direction, Path(weights).name,
                          training_scale=TrainingScale.from_metadata(opened.metadata), scale=scale)
    opened, folder, _ = _run_generator(run, direction, torch_device, checkpoint)
    return Translator(opened, torch_device, direction, f"{folder.name} ({opened.source.name})",
                      training_scale=TrainingScale.from_metadata(training_metadata(folder.load_config())), scale=scale)


def _check_export_target(target: Path, overwrite: bool) -> None:
    if target.is_dir():
        raise ConfigError(f"{target} is a folder; name a file ending .pth or .safetensors for the generator.")
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise ConfigError(f"{target} already exists; pass --overwrite to replace it, or choose another name.")


def export_generator(run: str | Path, out: str | Path, direction: str = "AtoB",
                     checkpoint: str | Path | None = None, overwrite: bool = False) -> Path:
    """Write a run's `direction` generator to `out`: .pth in the reference tool's layout (a plain state dict it
    loads as latest_net_G_A.pth), or .safetensors with the run, step and direction in its header. An existing
    file at `out` is replaced only with `overwrite`."""
    target = Path(out).expanduser()
    if target.suffix.lower() not in (".pth", ".pt", ".safetensors"):
        raise ConfigError(f"Export to {target.name} is not possible: name the file .pth or .safetensors.")
    _check_export_target(target, overwrite)
    opened, folder, state = _run_generator(run, direction, torch.device("cpu"), checkpoint)
    counters = state.get("counters", {})
    metadata = {"direction": direction, "run": folder.name, "step": str(counters.get("step", "")),
                "epoch": str(counters.get("epoch", "")), "app": f"GAN Studio {__version__}",
                **training_metadata(folder.load_config())}
    _check_export_target(target, overwrite)  # again: the file may have appeared while the run was read
    try:
        return save_generator(opened.network, target, metadata)
    except OSError as exc:
        raise ConfigError(f"{target} could not be written ({exc.strerror or exc}).") from None


@dataclass
class FolderResult:
    """What a folder conversion did: files written, pictures skipped with the reason, and whether it was cancelled.

    `output` is the folder the results went to and `note` a sentence about it when that is not the folder the
    user chose (a new subfolder, because the chosen one holds the input)."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    total: int = 0
    output: Path | None = None
    note: str = ""


class UnsafeName(ValueError):
    """A name that cannot become a path inside the output folder; its message is the reason, for a skipped list."""


# "C:" or "C:name" at the start of a name from Windows: a drive, which a relative name cannot carry.
_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_relative_path(name: str) -> Path:
    """`name` (a zip member's or a file's name relative to the input) as a relative path that cannot leave the
    folder it is joined to: backslashes count as separators, leading slashes and a drive letter are dropped.
    UnsafeName for names that climb out ('..') or that no file system can store (NUL)."""
    if "\x00" in name:
        raise UnsafeName("its name holds a NUL character, which no file name can")
    parts = [part for part in re.split(r"[\\/]+", name) if part not in ("", ".")]
    if parts and _DRIVE.match(parts[0]):
        parts[0] = parts[0][2:]
        if not parts[0]:
            parts.pop(0)
    if ".." in parts:
        raise UnsafeName("its name climbs out of its folder ('..'), so its result would land outside the output "
                         "folder")
    if not parts:
        raise UnsafeName("its name has no file name in it")
    return Path(*parts)


def relative_name(source: SourceFile, root: Path) -> Path:
    """A picture's path relative to what the user gave: inside the folder, inside the zip, or its bare name.

    A file reached through a link keeps the link's own place under `root`, never its target's, so a link to a
    picture elsewhere is converted as if it were here. UnsafeName when a zip member's name cannot be made safe."""
    if source.member is not None:
        inside = safe_relative_path(source.member)
        if not root.is_dir():
            return inside
        return _below(Path(source.path), root).with_suffix("") / inside
    if root.is_dir():
        return _below(Path(source.path), root)
    return Path(Path(source.path).name)


def _below(path: Path, root: Path) -> Path:
    """`path` relative to the folder `root`, taken from the path as it was found (links not followed)."""
    absolute = Path(os.path.abspath(path))
    if absolute.is_relative_to(root):
        return safe_relative_path(str(absolute.relative_to(root)))
    return Path(absolute.name)  # found through a differently spelt root: its name is all that is certain


def output_names(sources: list[SourceFile], root: Path) -> tuple[dict[SourceFile, Path], list[tuple[str, str]]]:
    """Where each picture's result goes, relative to the output folder: its own relative path with .png. Two
    pictures that would collide (a.jpg and a.png) keep their whole names instead (a.jpg.png, a.png.png).

    Also the pictures refused, with the reason: names that cannot be made safe, and a second picture whose
    result would take a name already given (zips can hold 'a.png' and '/a.png')."""
    relative: dict[SourceFile, Path] = {}
    refused: list[tuple[str, str]] = []
    first_of: dict[str, str] = {}  # a result's name, lower case: the picture that has it
    for source in sources:
        try:
            name = relative_name(source, root)
        except UnsafeName as exc:
            refused.append((source.member or source.label, str(exc)))
            continue
        if str(name).lower() in first_of:
            refused.append((source.member or str(name), f"its result would have the same name as that of "
                                                        f"{first_of[str(name).lower()]}"))
            continue
        first_of[str(name).lower()] = source.member or str(name)
        relative[source] = name
    plain = {source: name.with_suffix(OUTPUT_SUFFIX) for source, name in relative.items()}
    counts: dict[str, int] = {}
    for target in plain.values():
        counts[str(target).lower()] = counts.get(str(target).lower(), 0) + 1
    names = {source: (relative[source].with_name(relative[source].name + OUTPUT_SUFFIX)
                      if counts[str(target).lower()] > 1 else target) for source, target in plain.items()}
    return names, refused


def inside_folder(target: Path, folder: Path) -> bool:
    """Whether writing `target` puts a file inside `folder` (resolved), with every link on the way followed.
    The file's own name is not followed: an atomic write replaces a link there rather than writing through it."""
    return Path(os.path.realpath(target.parent)).is_relative_to(Path(os.path.realpath(folder)))


@dataclass
class FolderPlan:
    """Where each picture of a folder conversion goes, decided before anything is converted.

    `targets` maps each picture to its result's path, inside `output`; `refused` holds the pictures that will not
    be converted, with the reason; `existing` the results that would replace files already there."""

    root: Path
    output: Path
    note: str
    targets: dict[SourceFile, Path]
    labels: dict[SourceFile, str]
    refused: list[tuple[str, str]]
    existing: list[Path]
    total: int


def plan_folder(input_path: str | Path, output_dir: str | Path) -> FolderPlan:
    """Where the results of converting `input_path` into `output_dir` would go, and which would replace a file.

    The output folder may not be the input folder (the originals would sit among their results). One that holds
    the input (its parent, say) gets the results in a new subfolder named after the input, so they do not mix
    with the user's other files and the input is not read as results of an earlier conversion."""
    root = Path(input_path).expanduser().resolve()
    chosen = Path(output_dir).expanduser().resolve()
    if root.is_dir() and chosen == root:
        raise ConfigError("Choose an output folder other than the input folder, so no original is overwritten.")
    out, note = chosen, ""
    if root.is_relative_to(chosen):
        out = chosen / f"{root.stem if root.is_file() else root.name}-converted"
        note = f"{chosen} holds {root.name}, so the results go into its new subfolder {out.name}."
    # Members and links that will not be read (unsafe names, loops, dangling links) are skipped with their reason.
    listing = list_dataset([str(root)])
    sources = listing.sources
    if root.is_dir():
        # Results of an earlier conversion into a folder inside the input are not pictures to convert again.
        sources = [source for source in sources if not Path(source.path).resolve().is_relative_to(out)]
    names, refused = output_names(sources, root)
    refused = list(listing.skipped) + refused
    targets: dict[SourceFile, Path] = {}
    for source, name in names.items():
        target = out / name
        if inside_folder(target, out):
            targets[source] = target
        else:
            refused.append((str(name), f"its result would be written outside {out} (through a link in it)"))
    labels = {source: str(relative_name(source, root)) for source in targets}
    originals = {Path(source.path).resolve() for source in sources if source.member is None}
    existing = [target for target in targets.values()
                if (target.exists() or target.is_symlink()) and target.resolve() not in originals]
    return FolderPlan(root, out, note, targets, labels, refused, existing, len(sources) + len(listing.skipped))


def existing_results_sentence(existing: list[Path], folder: Path) -> str:
    """'3 results would replace files already in OUT (OUT/a.png first)', for a refusal or a question."""
    if len(existing) == 1:
        return f"The result {existing[0]} would replace a file already there"
    return f"{len(existing):,} results would replace files already in {folder} ({existing[0]} first)"


def translate_folder(translator: Translator, input_path: str | Path, output_dir: str | Path,
                     progress: ProgressFn | None = None, cancelled: CancelledFn | None = None,
                     max_side: int | None = None, overwrite: bool = False, scale: str | None = None) -> FolderResult:
    """Convert every picture in a folder (searched recursively, zips read in place) into `output_dir`.

    Each result keeps its picture's relative path and name with the extension .png and is written
    atomically, so a cancel never leaves half a file. Every result lies inside the output folder: a name
    that would lead out is skipped with the reason. Results that would replace files already there are
    refused up front unless `overwrite`; originals are never replaced. Unreadable pictures are skipped
    with the reason; a result that cannot be written stops the conversion. `cancelled` is checked before
    each picture, `progress` told after each.
    """
    plan = plan_folder(input_path, output_dir)
    out = plan.output
    if plan.existing and not overwrite:
        raise ConfigError(f"{existing_results_sentence(plan.existing, out)}; pass --overwrite to replace them, "
                          "or choose another output folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"The output folder {out} could not be created ({exc.strerror or exc}).") from None
    originals = {Path(source.path).resolve() for source in plan.targets if source.member is None}
    result = FolderResult(total=plan.total, output=out, note=plan.note, skipped=list(plan.refused))
    done = len(plan.refused)
    with SourceReader() as reader:
        for source, target in plan.targets.items():
            if cancelled is not None and cancelled():
                result.cancelled = True
                break
            label = plan.labels[source]
            converted = None
            if target.resolve() in originals:
                result.skipped.append((label, "its result would overwrite an original"))
            elif not inside_folder(target, out):
                result.skipped.append((label, f"its result would be written outside {out} (through a link in it)"))
            elif not overwrite and (target.exists() or target.is_symlink()):
                result.skipped.append((label, f"{target.name} appeared in the output folder while converting; it "
                                              "is kept"))
            else:
                try:
                    with reader.read(source) as handle:
                        pixels = read_picture(handle.read())
                    converted = translator.translate_picture(pixels, max_side, scale)
                except DataError as exc:
                    result.skipped.append((label, str(exc).split(": ", 1)[-1].rstrip(".")))
                except UnreadableSource as exc:
                    result.skipped.append((label, str(exc)))
                except OSError as exc:
                    result.skipped.append((label, f"could not be read ({exc.strerror or exc})"))
            if converted is not None:
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if not inside_folder(target, out):
                        raise ConfigError(f"{target} would be written outside {out} (a link appeared in it); "
                                          f"{len(result.written):,} pictures were converted before it.")
                    save_png(target, converted, {"source": label, "model": translator.source_name,
                                                 "direction": translator.direction or "", "app_version": __version__})
                except OSError as exc:
                    raise ConfigError(f"{target} could not be written ({exc.strerror or exc}); "
                                      f"{len(result.written):,} pictures were converted before it.") from None
                result.written.append(target)
            done += 1
            if progress is not None:
                progress(done, plan.total, label)
    return result


def file_target(input_path: str | Path, output: str | Path) -> Path:
    """Where converting one picture to `output` writes: `output` itself when it names a picture file (.png, .jpg,
    .webp), else `<name>.png` inside the folder `output`."""
    source = Path(input_path).expanduser()
    target = Path(output).expanduser()
    if target.is_dir() or target.suffix.lower() not in WRITABLE_SUFFIXES:
        target = target / (source.stem + OUTPUT_SUFFIX)
    return target


def _check_file_target(source: Path, target: Path, overwrite: bool) -> None:
    if target.resolve() == source.resolve():
        raise ConfigError(f"Writing the result to {target} would overwrite the original; choose another name.")
    if target.is_dir():
        raise ConfigError(f"{target} is a folder; name a picture file for the result, or another folder.")
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise ConfigError(f"{target} already exists; pass --overwrite to replace it, or choose another name.")


def translate_file(translator: Translator, input_path: str | Path, output: str | Path,
                   max_side: int | None = None, overwrite: bool = False, scale: str | None = None) -> Path:
    """Convert one picture; `output` is a file (.png, .jpg, .webp) or a folder to put `<name>.png` in. An
    existing file there is replaced only with `overwrite`; the original never."""
    source = Path(input_path).expanduser()
    target = file_target(source, output)
    _check_file_target(source, target, overwrite)
    pixels = read_picture(source)
    converted = translator.translate_picture(pixels, max_side, scale)
    _check_file_target(source, target, overwrite)  # again: the file may have appeared while converting
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix.lower() == OUTPUT_SUFFIX:
            save_png(target, converted, {"source": source.name, "model": translator.source_name,
                                         "direction": translator.direction or "", "app_version": __version__})
        else:
            image_format = WRITABLE_SUFFIXES[target.suffix.lower()]
            atomic_save(target, lambda handle: Image.fromarray(converted).save(handle, format=image_format,
                                                                               quality=95))
    except OSError as exc:
        raise ConfigError(f"{target} could not be written ({exc.strerror or exc}).") from None
    return target
