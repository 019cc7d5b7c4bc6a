"""Making pictures with a trained generator: by seed, in batches, saved as PNGs that remember their seed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from .checkpoint import load_checkpoint
from .config import RunConfig
from .device import select_device
from .errors import CheckpointError, ConfigError
from .export import save_png
from .imaging import make_grid
from .precision import resolve_precision
from .recipes.base import GeneratingRecipe
from .registry import get_recipe
from .runs import RunFolder


@dataclass
class TrainedGenerator:
    """A checkpoint's generator, ready to sample; `run_name`, `epoch` and `step` go into file metadata."""

    recipe: GeneratingRecipe
    config: RunConfig
    run_name: str
    checkpoint_path: Path
    epoch: int
    step: int

    @property
    def latent_dim(self) -> int:
        return self.config.model.latent_dim

    def images_for_seeds(self, seeds: list[int]) -> np.ndarray:
        """N x H x W x 3 uint8, one picture per seed; a seed gives the same picture in any batch."""
        return self.recipe.generate(self.recipe.latents_for_seeds(seeds))

    def images_for_latents(self, latents: torch.Tensor) -> np.ndarray:
        return self.recipe.generate(latents)

    def metadata(self, seed: int | None = None) -> dict:
        info = {"run": self.run_name, "model": self.config.model.name, "epoch": self.epoch, "step": self.step,
                "checkpoint": self.checkpoint_path.name, "app_version": __version__}
        if seed is not None:
            info = {"seed": seed, **info}
        return info


def load_generator(run_or_checkpoint: str | Path, checkpoint: str | Path | None = None,
                   device: str = "auto") -> TrainedGenerator:
    """The generator of a run folder (its latest checkpoint, or `checkpoint`) or of a checkpoint file."""
    target = Path(run_or_checkpoint).expanduser()
    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
    elif target.is_file():
        path = target
    else:
        folder = RunFolder(target)
        if not folder.path.is_dir():
            raise ConfigError(f"{target} does not exist.")
        if not folder.is_run():
            raise ConfigError(f"{target} is not a GAN Studio run folder (it has no config.json).")
        path = folder.latest_checkpoint()
        if path is None:
            raise CheckpointError(f"{target} has no checkpoint yet; train it for at least one epoch first.")
    state = load_checkpoint(path)
    config = RunConfig.from_dict(state["config"])
    recipe_cls = get_recipe(state["model"])
    if not issubclass(recipe_cls, GeneratingRecipe):
        raise ConfigError(f"{path.name} is from an image-to-image run ({recipe_cls.label}), which converts pictures "
                          "rather than making them from seeds: use 'ganstudio translate --run RUN', or the Convert tab.")
    torch_device = select_device(device)
    recipe = recipe_cls(config, torch_device, resolve_precision("fp32", torch_device))
    try:
        recipe.load_for_inference(state["recipe"])
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path.name} does not fit its own model ({str(exc).splitlines()[0][:100]}).") from None
    counters = state["counters"]
    run_name = Path(config.run.dir).name if config.run.dir else path.parent.parent.name
    return TrainedGenerator(recipe, config, run_name, path, int(counters["epoch"]), int(counters["step"]))


# Seeds are what a run stores as its own seed: whole numbers below 2**63 (a signed 64-bit integer).
MAX_SEED = 2**63 - 1
# One command writes at most this many pictures: its seeds are listed in memory up front, and a million files
# in one folder is already past what file managers show; the next --seed makes more.
MAX_COUNT = 1_000_000
# A grid holds every picture in memory at once: 1,024 pictures (32 x 32) of 256 pixels make a 200 MB grid.
MAX_GRID_PICTURES = 1024


def check_seeds(first_seed: int, count: int, grid: bool = False) -> None:
    """A plain ConfigError for seeds and counts that cannot be made, before any network runs."""
    if count < 1:
        raise ConfigError(f"Ask for at least one picture, not {count:,}.")
    if count > MAX_COUNT:
        raise ConfigError(f"{count:,} pictures is more than the {MAX_COUNT:,} one command writes; ask for fewer and "
                          "start the next batch at the following seed.")
    if first_seed < 0 or first_seed + count - 1 > MAX_SEED:
        raise ConfigError(f"Seeds are whole numbers from 0 to {MAX_SEED:,}; {count:,} pictures from seed "
                          f"{first_seed:,} would go past that.")
    if grid and count > MAX_GRID_PICTURES:
        raise ConfigError(f"A grid holds at most {MAX_GRID_PICTURES:,} pictures, not {count:,}; ask for fewer, "
                          "or leave out the grid.")


def seed_file_names(seeds: list[int], grid: bool = False) -> list[str]:
    """The files write_seed_images makes for `seeds`: seed_0000007.png ..., and the grid's last."""
    names = [f"seed_{seed:07d}.png" for seed in seeds]
    if grid and seeds:
        names.append(f"grid_seed_{seeds[0]}-{seeds[-1]}.png")
    return names


def refuse_existing(targets: list[Path], overwrite: bool) -> None:
    """ConfigError naming the first of `targets` already there (a file or a link), unless `overwrite`."""
    existing = [target for target in targets if target.exists() or target.is_symlink()]
    if existing and not overwrite:
        more = f" (and {len(existing) - 1:,} more of these pictures)" if len(existing) > 1 else ""
        them = "them" if len(existing) > 1 else "it"
        raise ConfigError(f"{existing[0]} already exists{more}; pass --overwrite to replace {them}, or choose another "
                          "folder.")


def write_seed_images(generator: TrainedGenerator, seeds: list[int], out_dir: str | Path, grid: bool = False,
                      chunk: int = 64, overwrite: bool = False) -> list[Path]:
    """One PNG per seed in `out_dir` (seed_0000007.png ...), and a grid of them all if asked; the paths written.
    Files already there are replaced only with `overwrite`: otherwise nothing is written."""
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file, not a folder; name a folder for the pictures.")
    targets = [out / name for name in seed_file_names(seeds, grid)]
    refuse_existing(targets, overwrite)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"The folder {out} could not be created ({exc.strerror or exc}).") from None
    written: list[Path] = []
    pictures = []
    try:
        for start in range(0, len(seeds), chunk):
            batch_seeds = seeds[start:start + chunk]
            images = generator.images_for_seeds(batch_seeds)
            for offset, (seed, image) in enumerate(zip(batch_seeds, images)):
                written.append(save_png(targets[start + offset], image, generator.metadata(seed)))
            if grid:
                pictures.append(images)
        if grid and seeds:
            grid_pixels = make_grid(np.concatenate(pictures))
            info = {**generator.metadata(), "seeds": f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])}
            written.append(save_png(targets[-1], grid_pixels, info))
    except OSError as exc:
        raise ConfigError(f"A picture could not be written in {out} ({exc.strerror or exc}); {len(written):,} were "
                          "written before it.") from None
    return written
