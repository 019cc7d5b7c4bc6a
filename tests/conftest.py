"""Shared test setup: private data and cache folders, offscreen Qt, and small helpers to make datasets."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The GUI tests' fixtures (make_window) live with their helpers.
pytest_plugins = ["gui_helpers"]


@pytest.fixture(autouse=True)
def private_app_folders(tmp_path_factory, monkeypatch):
    """Every test gets its own data and cache folders, so nothing touches the user's real ones."""
    root = tmp_path_factory.mktemp("app")
    monkeypatch.setenv("GANSTUDIO_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("GANSTUDIO_CACHE_DIR", str(root / "cache"))
    yield root


def write_pictures(folder: Path, count: int, size: int = 40, seed: int = 0, suffix: str = ".png") -> list[Path]:
    """`count` small colourful pictures with a distinct blob each, so a model has something to learn."""
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        pixels = np.zeros((size, size, 3), np.uint8)
        pixels[:] = rng.integers(0, 256, 3)
        top, left = rng.integers(0, size // 2, 2)
        pixels[top:top + size // 2, left:left + size // 2] = rng.integers(0, 256, 3)
        path = folder / f"picture_{index:03d}{suffix}"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def tiny_dataset(tmp_path) -> Path:
    """A folder of 40 small pictures: with batch 8, five steps make an epoch."""
    folder = tmp_path / "tiny"
    write_pictures(folder, 40)
    return folder


def tiny_config(data_folder: Path, run_dir: Path, **train):
    """A run config small enough to train in well under a second a step on a CPU."""
    from ganstudio.core.config import RunConfig
    config = RunConfig()
    config.data.paths = [str(data_folder)]
    config.data.size = 32
    config.model.g_width = config.model.d_width = 8
    config.model.latent_dim = 16
    config.train.batch_size = 8
    config.train.device = "cpu"
    config.train.seed = 3
    config.run.dir = str(run_dir)
    config.run.log_every_steps = 1
    for key, value in train.items():
        setattr(config.train, key, value)
    return config.validate()


def train_tiny_run(tmp_path_factory, name: str, pictures: int = 40, run: str = "run", sample_every_epochs: int = 0,
                   **train) -> Path:
    """A tiny run trained once for a test module, with data and cache folders of its own; its folder."""
    from ganstudio.core import engine
    root = tmp_path_factory.mktemp(name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANSTUDIO_DATA_DIR", str(root / "data"))
        patch.setenv("GANSTUDIO_CACHE_DIR", str(root / "cache"))
        write_pictures(root / "pictures", pictures)
        config = tiny_config(root / "pictures", root / run, **train)
        config.run.sample_every_epochs = sample_every_epochs
        engine.run(config)
    return root / run


def scramble_global_rngs() -> None:
    """What a fresh process would have: global generators in some unrelated state."""
    import torch
    random.seed(987654)
    np.random.seed(987654)
    torch.manual_seed(987654)


def resave_checkpoint(path: Path, state: dict) -> None:
    """Write a checkpoint a test changed as GAN Studio would have written it, with the checksum of its new
    contents: the test is about what the checkpoint holds, not about a damaged file."""
    import torch

    from ganstudio.core.checkpoint import DIGEST_KEY, state_digest
    state.pop(DIGEST_KEY, None)
    state[DIGEST_KEY] = state_digest(state)
    torch.save(state, path)


def resume_with_a_fresh_piece(interrupted: Path, fresh_state: dict, piece: tuple[str, ...], run_dir: Path,
                              total_steps: int) -> Path:
    """Resume a copy of an interrupted run to total_steps after swapping one piece of its checkpoint's state
    (a key path into it) for that piece of a fresh run's: the negative control of the exact-resume tests."""
    import shutil

    import torch

    from ganstudio.core import engine
    from ganstudio.core.runs import RunFolder
    shutil.copytree(interrupted, run_dir)
    checkpoint_path = RunFolder(run_dir).latest_checkpoint()
    state = torch.load(checkpoint_path, weights_only=True)
    holder, fresh_holder = state, fresh_state
    for key in piece[:-1]:
        holder, fresh_holder = holder[key], fresh_holder[key]
    holder[piece[-1]] = fresh_holder[piece[-1]]
    resave_checkpoint(checkpoint_path, state)
    scramble_global_rngs()
    engine.resume(run_dir, steps=total_steps)
    return run_dir


def pytest_collection_modifyitems(config, items):
    """Tests marked `cuda` skip, with the reason, where PyTorch sees no CUDA GPU (CI never has one)."""
    marked = [item for item in items if item.get_closest_marker("cuda")]
    if not marked:
        return
    import torch
    if torch.cuda.is_available():
        return
    reason = pytest.mark.skip(reason="needs a CUDA GPU; PyTorch sees none here")
    for item in marked:
        item.add_marker(reason)
