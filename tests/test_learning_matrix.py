"""The defaults learn on folders of very different character: the samples move measurably towards the data.

Each dataset of the matrix (tests/datasets.py) is written as a PNG folder and trained by the engine
with the default model and settings, at 32 px for a fixed number of steps on one thread. The kernel
distance of 256 samples from the data, on small fixed features (tests/sample_distance.py), must fall
to a measured share of that of the same run's untrained generator. The steps are a count, never a time.
"""

from __future__ import annotations

import pytest
import torch

from datasets import SPECS, write_dataset
from ganstudio.core import engine
from ganstudio.core.config import RunConfig
from ganstudio.core.generate import load_generator
from ganstudio.core.registry import get_recipe
from ganstudio.core.runs import RunFolder
from sample_distance import FeatureDistance

STEPS = 200
SAMPLES = 256
# The trained samples' distance must fall below this share of the untrained generator's. Measured at 200
# steps (seed 0, one thread): strokes on dark 0.003, objects on white 0.009, 50 objects 0.009, 2,000 strokes
# 0.003 (at 300 steps 0.001 to 0.008, a third more of the suite's time); the defaults before the balance guard
# reached only 0.096 on 1,800 strokes at 300 (grey pictures). Noisy textures are close to the untrained
# generator's noise in these features to begin with: 0.56 measured, and a generator that learns nothing stays at 1.
LEARNED_SHARE = {"strokes_on_dark": 0.05, "objects_on_white": 0.05, "noisy_textures": 0.8, "objects_50": 0.05,
                 "strokes_2000": 0.05}


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def untrained_samples(run_dir, seeds: list[int]):
    """The samples the run's generator made before its first step: its own config and seed, no training."""
    config = RunFolder(run_dir).load_config()
    engine.seed_everything(config.train.seed)
    recipe = get_recipe(config.model.name)(config, torch.device("cpu"), "fp32")
    return recipe.generate(recipe.latents_for_seeds(seeds))


@pytest.mark.parametrize("name", sorted(LEARNED_SHARE))
def test_the_defaults_learn(name, tmp_path, one_thread):
    spec = SPECS[name]
    folder = write_dataset(spec, tmp_path)
    config = RunConfig()
    config.data.paths = [str(folder)]
    config.data.size = 32
    config.train.steps = STEPS
    config.train.device = "cpu"
    config.run.dir = str(tmp_path / "run")
    config.run.metrics = ["none"]
    result = engine.run(config)
    assert result.reason == "completed"

    seeds = list(range(10_000, 10_000 + SAMPLES))
    distance = FeatureDistance(spec.pictures())
    before = distance.kid(untrained_samples(result.run_dir, seeds))
    after = distance.kid(load_generator(result.run_dir, device="cpu").images_for_seeds(seeds))
    print(f"{name}: KID {before:.1f} -> {after:.1f} ({after / before:.3f} of the untrained generator's)")
    assert after < LEARNED_SHARE[name] * before
