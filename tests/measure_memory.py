"""Measures peak memory while training on a 20,000-picture dataset at 64 px (not collected by pytest).

Run: python tests/measure_memory.py [--count 20000] [--keep FOLDER]

It writes `count` small JPEG pictures, then trains a few steps in a fresh process, twice (first run
decodes, second run reads the decoded cache), and reports the peak resident memory (VmHWM) of each
next to a baseline run on 64 pictures, so the difference is what the dataset itself costs. The goal:
the dataset costs no more than its uint8 array (count x 64 x 64 x 3 bytes, 246 MB for 20,000).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

TRAIN_CHILD = r"""
import sys
from ganstudio.cli import main
code = main(["train", "--data", sys.argv[1], "--steps", "20", "--run", sys.argv[2], "--device", "cpu",
             "--checkpoint-minutes", "1000"])
with open("/proc/self/status") as status:
    peak = next(line for line in status if line.startswith("VmHWM")).split()[1]
print("PEAK_KB", peak)
sys.exit(code)
"""


def write_pictures(folder: Path, count: int) -> None:
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        pixels = np.empty((72, 72, 3), np.uint8)
        pixels[:] = rng.integers(0, 256, 3)
        top, left, side = *rng.integers(0, 40, 2), int(rng.integers(12, 32))
        pixels[top:top + side, left:left + side] = rng.integers(0, 256, 3)
        Image.fromarray(pixels).save(folder / f"{index:05d}.jpg", quality=90)


def peak_kb(data: Path, run_dir: Path, env: dict) -> int:
    result = subprocess.run([sys.executable, "-c", TRAIN_CHILD, str(data), str(run_dir)], capture_output=True,
                            text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return int(next(line for line in result.stdout.splitlines() if line.startswith("PEAK_KB")).split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--keep", type=Path, help="reuse or keep the pictures in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        data = args.keep or scratch / "pictures"
        if not data.is_dir() or len(list(data.iterdir())) < args.count:
            print(f"writing {args.count:,} pictures to {data} ...", flush=True)
            write_pictures(data, args.count)
        small = scratch / "small"
        write_pictures(small, 64)
        env = {**os.environ, "GANSTUDIO_CACHE_DIR": str(scratch / "cache"), "GANSTUDIO_DATA_DIR": str(scratch / "data")}
        baseline = peak_kb(small, scratch / "run-small", env)
        first = peak_kb(data, scratch / "run-first", env)
        second = peak_kb(data, scratch / "run-second", env)
        array_mb = args.count * 64 * 64 * 3 / 2**20
        print(f"dataset uint8 array: {array_mb:.0f} MiB ({args.count:,} x 64 x 64 x 3)")
        print(f"peak RSS, 64 pictures (baseline: Python, torch, models): {baseline / 1024:.0f} MiB")
        print(f"peak RSS, {args.count:,} pictures, decoding:    {first / 1024:.0f} MiB "
              f"(+{(first - baseline) / 1024:.0f} MiB over baseline)")
        print(f"peak RSS, {args.count:,} pictures, from cache:  {second / 1024:.0f} MiB "
              f"(+{(second - baseline) / 1024:.0f} MiB over baseline)")


if __name__ == "__main__":
    main()
