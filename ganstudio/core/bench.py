"""`ganstudio bench`: our DCGAN training speed beside a textbook PyTorch loop of the same architecture and batch.

The textbook loop is what the PyTorch DCGAN example does: float32, a DataLoader that converts each
decoded picture to a normalised tensor one at a time, a sigmoid discriminator with BCELoss, and
`.item()` on the losses every step (a host sync). Ours is the engine's own step: the dataset as one
uint8 tensor on the device, batched augmentation, channels-last, the averaged generator, and loss
read-back every ten steps. Both train the same networks on the same pictures; warm-up steps are
excluded, repeats alternate between the two, and the median of the repeats is reported.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable

import numpy as np
import torch
from torch import nn

from .. import __version__
from .config import RunConfig
from .data.batches import ImageBatches
from .data.demo import make_demo_images
from .device import describe, select_device
from .models.dcgan import DCGANDiscriminator, DCGANGenerator
from .precision import resolve_precision
from .registry import get_recipe

WARMUP_STEPS = 3
BENCH_IMAGES = 512
LATENT_DIM = 100
READBACK_EVERY = 10


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


class _DecodedImages(torch.utils.data.Dataset):
    """Decoded pictures converted one by one, like torchvision's ToTensor, Normalize and RandomHorizontalFlip."""

    def __init__(self, pixels: np.ndarray):
        self.pixels = pixels

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = torch.from_numpy(self.pixels[index]).permute(2, 0, 1).float().div(255)
        image = (image - 0.5) / 0.5
        if torch.rand(1).item() < 0.5:
            image = image.flip(2)
        return image


def _textbook_loop(pixels: np.ndarray, device: torch.device, size: int, width: int, batch_size: int):
    """A step function for the plain PyTorch DCGAN loop, and the loader it draws from."""
    generator = DCGANGenerator(LATENT_DIM, size, width).to(device)
    discriminator = nn.Sequential(DCGANDiscriminator(size, width), nn.Sigmoid()).to(device)
    criterion = nn.BCELoss()
    optimizer_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = torch.utils.data.DataLoader(_DecodedImages(pixels), batch_size=batch_size, shuffle=True, drop_last=True)
    batches = iter(loader)

    def step() -> None:
        nonlocal batches
        try:
            real = next(batches)
        except StopIteration:
            batches = iter(loader)
            real = next(batches)
        real = real.to(device)
        n = real.shape[0]
        label = torch.full((n,), 1.0, device=device)
        discriminator.zero_grad()
        output = discriminator(real)
        loss_real = criterion(output, label)
        loss_real.backward()
        noise = torch.randn(n, LATENT_DIM, 1, 1, device=device)
        fake = generator(noise)
        label.fill_(0.0)
        output = discriminator(fake.detach())
        loss_fake = criterion(output, label)
        loss_fake.backward()
        optimizer_d.step()
        generator.zero_grad()
        label.fill_(1.0)
        output = discriminator(fake)
        loss_g = criterion(output, label)
        loss_g.backward()
        optimizer_g.step()
        (loss_real + loss_fake).item(), loss_g.item(), output.mean().item()

    return step


def _our_loop(pixels: np.ndarray, device: torch.device, size: int, width: int, batch_size: int, precision: str):
    """A step function for the engine's DCGAN step, with its data path and read-back cadence."""
    config = RunConfig()
    config.data.demo = True
    config.data.size = size
    config.model.g_width = config.model.d_width = width
    config.train.batch_size = batch_size
    precision = resolve_precision(precision, device)
    recipe = get_recipe("dcgan")(config, device, precision)
    batches = ImageBatches(pixels, device, batch_size, seed=0)
    pending: list[torch.Tensor] = []
    images_seen = 0

    def step() -> None:
        nonlocal images_seen
        batch, _ = batches.next_batch()
        pending.append(recipe.train_step([batch], images_seen))
        images_seen += batch_size
        if len(pending) >= READBACK_EVERY:
            torch.stack(pending).cpu()
            pending.clear()

    return step, precision


def _time_steps(step: Callable[[], None], steps: int, device: torch.device) -> float:
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return time.perf_counter() - started


def run_bench(size: int = 64, batch_size: int = 64, width: int = 64, steps: int = 10, repeats: int = 5,
              device: str = "auto", precision: str = "auto", progress: Callable[[str], None] | None = None) -> dict:
    """Images per second of both loops (median of `repeats` runs of `steps` steps) and their ratio."""
    torch_device = select_device(device)
    torch.manual_seed(0)
    pixels = make_demo_images(size, BENCH_IMAGES)
    ours, precision = _our_loop(pixels, torch_device, size, width, batch_size, precision)
    textbook = _textbook_loop(pixels, torch_device, size, width, batch_size)
    say = progress or (lambda text: None)
    say(f"Warming up on {describe(torch_device)} ...")
    _time_steps(ours, WARMUP_STEPS, torch_device)
    _time_steps(textbook, WARMUP_STEPS, torch_device)
    our_rates, textbook_rates = [], []
    for repeat in range(repeats):
        # Alternating keeps a slow drift of the machine (heat, other work) from favouring either side.
        our_rates.append(steps * batch_size / _time_steps(ours, steps, torch_device))
        textbook_rates.append(steps * batch_size / _time_steps(textbook, steps, torch_device))
        say(f"repeat {repeat + 1}/{repeats}: ours {our_rates[-1]:.1f} img/s, textbook {textbook_rates[-1]:.1f} img/s")
    ours_median, textbook_median = statistics.median(our_rates), statistics.median(textbook_rates)
    return {
        "app_version": __version__,
        "torch_version": str(torch.__version__),
        "python_version": platform.python_version(),
        "device": describe(torch_device),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "model": "dcgan", "size": size, "batch_size": batch_size, "width": width,
        "steps_per_repeat": steps, "repeats": repeats, "warmup_steps": WARMUP_STEPS,
        "our_precision": precision, "textbook_precision": "fp32",
        "ours_images_per_second": round(ours_median, 2),
        "textbook_images_per_second": round(textbook_median, 2),
        "ratio": round(ours_median / textbook_median, 3),
        "ours_all": [round(r, 2) for r in our_rates],
        "textbook_all": [round(r, 2) for r in textbook_rates],
    }


def format_results(results: dict) -> str:
    return "\n".join([
        f"GAN Studio {results['app_version']}, torch {results['torch_version']}, Python {results['python_version']}",
        f"Device: {results['device']}, {results['cpu_count']} CPUs",
        f"DCGAN {results['size']} px, width {results['width']}, batch {results['batch_size']}; median of "
        f"{results['repeats']} x {results['steps_per_repeat']} steps after {results['warmup_steps']} warm-up steps",
        f"  {'GAN Studio (' + results['our_precision'] + ')':<30}{results['ours_images_per_second']:8.1f} images/s",
        f"  {'textbook PyTorch loop (fp32)':<30}{results['textbook_images_per_second']:8.1f} images/s",
        f"  {'ratio (ours / textbook)':<30}{results['ratio']:8.2f}x",
    ])
