"""Measure a translating model against the truth: train on an unpaired demo pair, convert held-out scenes, score.

Both built-in pairs (core/data/demo.py) draw every test scene in both domains, so each converted
picture has a true answer. Two errors, pictures in [0, 1]: the pixel error (mean absolute difference)
and a phase-blind error (mean absolute difference of the magnitude spectra, orthonormal 2-D FFT per
channel), which forgives right textures in slightly wrong places. Not a test: a tool for choosing
defaults. Example, one thread, one core, 400 steps at 64 px:

    OMP_NUM_THREADS=1 taskset -c 0 python tests/measure_translation.py --pair stripes --model cut --steps 400

A generator file trained elsewhere (the reference tool's latest_net_G_A.pth) is scored by the same arithmetic:

    python tests/measure_translation.py --pair stripes --weights checkpoints/stripes/latest_net_G_A.pth
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ganstudio.core import engine  # noqa: E402
from ganstudio.core.config import RunConfig  # noqa: E402
from ganstudio.core.data import demo  # noqa: E402
from ganstudio.core.translate import open_translator  # noqa: E402

PAIRS = {
    "daynight": (demo.make_day_night_images, ("day", "night"), demo.make_day_night_test_pairs),
    "stripes": (demo.make_stripes_images, ("plain", "striped"), demo.make_stripes_test_pairs),
}
TRAINING_PICTURES = 500  # of each domain: enough that 1,000 steps see each picture twice at most


def write_domains(pair: str, size: int, root: Path) -> tuple[Path, Path]:
    """The pair's two training domains as PNG folders, as a user would give them."""
    make, names, _ = PAIRS[pair]
    folders = []
    for side, name in zip("AB", names):
        folder = root / f"{pair}_{size}" / side
        folder.mkdir(parents=True, exist_ok=True)
        for index, pixels in enumerate(make(name, size, TRAINING_PICTURES)):
            Image.fromarray(pixels).save(folder / f"{index:04d}.png")
        folders.append(folder)
    return folders[0], folders[1]


def errors(converted: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """The pixel error and the phase-blind error of N x H x W x 3 uint8 pictures against the truth."""
    ours, true = converted.astype(np.float32) / 255, truth.astype(np.float32) / 255
    return float(np.abs(ours - true).mean()), float(np.abs(magnitude_spectrum(ours) - magnitude_spectrum(true)).mean())


def magnitude_spectrum(pictures: np.ndarray) -> np.ndarray:
    """|FFT| of each channel of N x H x W x 3 pictures, orthonormal: where a texture sits does not change it."""
    return np.abs(np.fft.fft2(pictures, axes=(1, 2), norm="ortho"))


def score(run_dir: Path, pair: str, size: int) -> dict:
    """Convert the held-out scenes as `ganstudio translate` does (at the training scale, resized back), and score them."""
    return score_translator(open_translator(run=run_dir, device="cpu"), pair, size, run_dir / "held_out.png")


def score_translator(translator, pair: str, size: int, picture: Path) -> dict:
    """Score any translator on the pair's held-out scenes; `picture` gets rows input, converted, truth to look at.

    A bare generator file opens too (`open_translator(weights=...)`), so the reference tool's own
    latest_net_G_A.pth, or the CUT tool's latest_net_G.pth, is scored by the same arithmetic: their
    conversions through our translator are bit-identical to their own test code's (checked on both pairs at
    64 px: 40 scenes each for CycleGAN, 20 for CUT).
    """
    sources, truth = PAIRS[pair][2](size)
    converted = np.stack([translator.translate_picture(pixels) for pixels in sources])
    rows = [np.concatenate(list(pictures[:8]), axis=1) for pictures in (sources, converted, truth)]
    Image.fromarray(np.concatenate(rows)).save(picture)
    pixel, phase_blind = errors(converted, truth)
    untranslated = errors(sources, truth)
    return {"pixel": round(pixel, 4), "phase_blind": round(phase_blind, 5),
            "untranslated": [round(untranslated[0], 4), round(untranslated[1], 5)]}


def option_value(text: str):
    """A --option value as the model's option wants it: a number or true/false as such, anything else as text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", choices=sorted(PAIRS), default="daynight")
    parser.add_argument("--model", default="cyclegan")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE", help="a model option")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--steps", type=int)
    target.add_argument("--minutes", type=float)
    target.add_argument("--weights", type=Path, help="score this generator file (e.g. the reference's "
                                                     "latest_net_G_A.pth) instead of training")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--width", type=int, default=0, help="base filters (0: the model's own for the device)")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run", type=Path, help="run folder to keep, with held_out.png to look at (default: a "
                                                      "temporary one, removed afterwards)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.weights:
        report = score_translator(open_translator(weights=args.weights, device="cpu"), args.pair, args.size,
                                  args.weights.with_name(f"held_out_{args.pair}.png"))
        print(json.dumps({"pair": args.pair, "weights": str(args.weights), **report}))
        return
    # The training pictures, and the run when no --run keeps it, go when the measurement ends.
    with tempfile.TemporaryDirectory(prefix="measure-translation-") as work:
        report = train_and_score(args, Path(work))
    print(json.dumps(report))


def train_and_score(args: argparse.Namespace, work: Path) -> dict:
    """Train the model on the pair's pictures written under `work`, then score its run."""
    domain_a, domain_b = write_domains(args.pair, args.size, work)
    config = RunConfig()
    config.model.name = args.model
    config.model.options = {name: option_value(value) for name, value in (option.split("=", 1) for option in args.option)}
    config.model.g_width = config.model.d_width = args.width
    config.data.paths, config.data.paths_b, config.data.size = [str(domain_a)], [str(domain_b)], args.size
    config.train.device, config.train.precision, config.train.seed = "cpu", args.precision, args.seed
    config.train.steps, config.train.minutes = args.steps, args.minutes
    config.run.dir = str(args.run or work / "run")
    config.run.metrics = ["none"]
    started = time.monotonic()
    result = engine.run(config.validate())
    return {"pair": args.pair, "model": args.model, "options": config.model.options, "steps": result.step,
            "wall_s": round(time.monotonic() - started), **score(Path(config.run.dir), args.pair, args.size)}


if __name__ == "__main__":
    main()
