"""Measure whether a model's defaults learn on the dataset matrix: prints figures and writes sample grids, never asserts.

Each run trains a recipe for a number of steps on one dataset of tests/datasets.py, exactly as the
engine would (same seeding, batches and step), and reports every `--every` steps the means of its
stats, the balance guard's augmentation strength, and at the end the kernel and Fréchet distances
of 500 samples from the data (tests/sample_distance.py), beside those of the untrained generator.

    nice -n 10 python tests/measure_learning.py --datasets strokes_on_dark --size 64 --count 1800 \
        --steps 600 --threads 2 --seeds 0 1 --set train.lr_d=1e-4 --out /tmp/grids

`--set section.name=value` (or model.options.name=value) changes a setting from the defaults.
Wall-clock figures printed here are noisy on a shared machine; compare runs by steps.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datasets import SPECS, make_pictures  # noqa: E402
from sample_distance import FeatureDistance  # noqa: E402

from ganstudio.core.config import RunConfig  # noqa: E402
from ganstudio.core.data.batches import ImageBatches  # noqa: E402
from ganstudio.core.engine import seed_everything  # noqa: E402
from ganstudio.core.imaging import make_grid  # noqa: E402
from ganstudio.core.precision import resolve_precision  # noqa: E402
from ganstudio.core.registry import get_recipe  # noqa: E402

SAMPLE_COUNT = 500


def apply_settings(config: RunConfig, settings: list[str]) -> None:
    """`section.name=value` pairs onto the config, the value read as a Python literal where it is one."""
    for setting in settings:
        key, _, text = setting.partition("=")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        parts = key.split(".")
        if parts[:2] == ["model", "options"]:
            config.model.options[parts[2]] = value
        else:
            setattr(getattr(config, parts[0]), parts[1], value)


def make_config(size: int, seed: int, settings: list[str]) -> RunConfig:
    config = RunConfig()
    config.data.paths = ["(in memory)"]
    config.data.size = size
    config.train.seed = seed
    config.train.device = "cpu"
    apply_settings(config, settings)
    return config.validate()


def sample_pictures(recipe, count: int) -> np.ndarray:
    return recipe.generate(recipe.latents_for_seeds(list(range(10_000, 10_000 + count))))


def train(pixels: np.ndarray, config: RunConfig, steps: int, every: int, distance: FeatureDistance,
          guard_on: bool = True, report=None, start_strength: float | None = None) -> dict:
    """Train `steps` steps the engine's way; the stats every `every` steps and the distances before and after."""
    device = torch.device("cpu")
    precision = resolve_precision(config.train.precision, device)
    recipe_cls = get_recipe(config.model.name)
    recipe_cls.resolve_config(config, device)
    seed_everything(config.train.seed)
    recipe = recipe_cls(config, device, precision)
    if start_strength is not None:
        recipe.set_augment_strength(start_strength)
    batches = ImageBatches(pixels, device, config.train.batch_size, config.train.seed,
                           flip=config.data.augment in ("flip", "diff+flip"))
    recipe.attach_data([pixels])
    names = recipe.loss_names + recipe.stat_names
    rng_state = torch.get_rng_state()
    before = sample_pictures(recipe, SAMPLE_COUNT)
    torch.set_rng_state(rng_state)  # sampling must not change the training run
    warnings: list[str] = []
    history: list[torch.Tensor] = []
    guard = None
    if guard_on:
        from ganstudio.core.training.balance import BalanceGuard
        guard = BalanceGuard.for_recipe(recipe, warnings.append, log_every=1)
    rows, started = [], time.perf_counter()
    for step in range(1, steps + 1):
        recipe.before_step(float(step - 1), float(steps))
        values = recipe.train_step([batches.next_batch()[0]], (step - 1) * config.train.batch_size)
        history.append(values.float())
        if guard is not None:
            guard.observe(step, lambda: torch.stack(history))
        if step % every == 0:
            block = torch.stack(history[-every:]).mean(0).tolist()
            rows.append((step, dict(zip(names, block))))
            if report is not None:
                report(step, rows[-1][1])
    seconds = time.perf_counter() - started
    after = sample_pictures(recipe, SAMPLE_COUNT)
    return {"recipe": recipe, "rows": rows, "seconds": seconds, "warnings": warnings,
            "kid_before": distance.kid(before), "kid_after": distance.kid(after),
            "fd_before": distance.frechet(before), "fd_after": distance.frechet(after), "samples": after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["strokes_on_dark"], choices=sorted(SPECS))
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--count", type=int, default=0, help="pictures (0: the matrix's own count)")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", dest="settings", action="append", default=[])
    parser.add_argument("--no-guard", action="store_true", help="train without the balance guard")
    parser.add_argument("--start-strength", type=float, default=None,
                        help="the augmentation strength of step 1 (default: the recipe's own); with --no-guard "
                             "and 0, DCGAN trains as it did before the guard")
    parser.add_argument("--out", type=Path, default=None, help="folder for sample grids")
    parser.add_argument("--quiet", action="store_true", help="only the summary line of each run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.datasets:
        spec = SPECS[name]
        pixels = make_pictures(spec.kind, args.count or spec.count, args.size, spec.seed, spec.grey)
        distance = FeatureDistance(pixels)
        for seed in args.seeds:
            config = make_config(args.size, seed, args.settings)
            report = None if args.quiet else (lambda step, stats: print(
                f"  {step:5d} " + " ".join(f"{key}={value:.3f}" for key, value in stats.items()), flush=True))
            result = train(pixels, config, args.steps, args.every, distance, not args.no_guard, report,
                           args.start_strength)
            for message in result["warnings"]:
                print(f"  warning: {message}")
            settings = " ".join(args.settings + (["no guard"] if args.no_guard else [])
                                + ([f"p0={args.start_strength:g}"] if args.start_strength is not None else [])) or "defaults"
            print(f"{name} n={len(pixels)} {args.size}px seed={seed} threads={args.threads} [{settings}] "
                  f"steps={args.steps}: KID {result['kid_before']:.3f} -> {result['kid_after']:.3f}, "
                  f"FD {result['fd_before']:.1f} -> {result['fd_after']:.1f} ({result['seconds']:.0f} s, noisy)",
                  flush=True)
            if args.out is not None:
                from PIL import Image
                args.out.mkdir(parents=True, exist_ok=True)
                tag = "_".join(s.replace("=", "-").replace(".", "") for s in args.settings) or "defaults"
                tag += "_noguard" if args.no_guard else ""
                tag += f"_p{args.start_strength:g}" if args.start_strength is not None else ""
                grid = make_grid(result["samples"][:64])
                Image.fromarray(grid).save(args.out / f"{name}_{args.size}_s{seed}_t{args.threads}_{tag}.png")


if __name__ == "__main__":
    main()
