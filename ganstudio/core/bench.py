"""`ganstudio bench`: each registered model's declared cases, timed beside the same work done the textbook way in plain PyTorch.

For every case a model declares (`Recipe.bench_cases`: size, batch, preset) it measures, in one run:

- training images a second: ours is the engine's own step (the dataset as one uint8 tensor on the
  device, augmentation there, the model's precision, the step's rollback copy, losses read back every
  ten steps); the textbook one is float32, a standard DataLoader converting decoded pictures one at a
  time, and a host sync every step: the model's own `textbook_step` where it declares one (DCGAN's is
  the pytorch/examples loop, CycleGAN's the reference tool's optimize_parameters), else the recipe
  itself fed and read back that way;
- generation (models that make pictures from seeds): pictures a second in batches of 64, beside the
  textbook script's loop over seeds, one picture a call;
- conversion (image-to-image models) at 256 and 1024 px: GAN Studio's converter (it tiles what does
  not fit), beside the reference tool's way: a PIL picture through ToTensor and Normalize, the network,
  and its tensor2im;
- the peak memory of each, on CUDA (a CPU keeps no per-run peak that PyTorch can read).

With `compiled`, each training figure gets a second one: the same step with every network compiled in
place (torch.compile through `nn.Module.compile`; mode reduce-overhead, which captures CUDA graphs, on
CUDA), against eager, with the seconds its first calls took to compile. Training runs eager: on this
project's 2-core CPU compiling did not pay (DCGAN 64 px, batch 64, bf16: 0.619 CPU-seconds a step eager,
0.647 compiled, after 54 s of compiling; CycleGAN light at 128 px, batch 1: 0.459 against 0.430, 6%
faster, after 186 s), and on a GPU it has not been measured yet: this is the measurement that decides.

Warm-up calls are excluded, repeats alternate ours and the textbook's (a drifting machine favours
neither), and the median is reported. Nothing here judges a figure: the bench never fails on timing.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable

import numpy as np
import torch

from .. import __version__
from .config import RunConfig
from .data.batches import ImageBatches
from .data.demo import make_demo_images
from .device import describe, is_out_of_memory, select_device
from .generator_files import generator_from_state
from .precision import resolve_precision
from .recipes.base import BenchCase, GeneratingRecipe, TranslatingRecipe
from .registry import recipes
from .training.rollback import StepRollback
from .translate import Translator, tensor_to_pixels

WARMUP_CALLS = 2
BENCH_IMAGES = 128  # pictures per domain: enough for several batches of 64 without shuffling the same few
READBACK_EVERY = 10
GENERATION_BATCH = 64
CONVERSION_SIZES = (256, 1024)
# The compiler torch.compile hands graphs to; the suite swaps in "eager" (tracing only) to stay quick.
COMPILE_BACKEND = "inductor"
# Tiny mode, for the test suite: every declared case shrunk to this, so each model's whole path runs in seconds.
TINY_SIZE, TINY_BATCH, TINY_WIDTH, TINY_CONVERSION_SIZES = 32, 2, 4, (32, 64)

Step = Callable[[], None]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


class _DecodedImages(torch.utils.data.Dataset):
    """Decoded pictures converted one by one, as torchvision's RandomCrop, ToTensor, Normalize and
    RandomHorizontalFlip would."""

    def __init__(self, pixels: np.ndarray, crop: int):
        self.pixels = pixels
        self.crop = crop

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = torch.from_numpy(self.pixels[index]).permute(2, 0, 1).float().div(255)
        height, width = image.shape[1:]
        if self.crop < min(height, width):
            top = int(torch.randint(0, height - self.crop + 1, ()))
            left = int(torch.randint(0, width - self.crop + 1, ()))
            image = image[:, top:top + self.crop, left:left + self.crop]
        image = (image - 0.5) / 0.5
        if torch.rand(1).item() < 0.5:
            image = image.flip(2)
        return image


def _forever(loader):
    while True:
        yield from loader


def case_config(recipe_cls, case: BenchCase, device: torch.device, tiny: bool) -> RunConfig:
    """The run config of one declared case (shrunk in tiny mode), automatic values resolved for `device`."""
    config = RunConfig()
    config.model.name = recipe_cls.name
    config.model.options = dict(case.options)
    config.data.demo = True
    config.data.size = min(recipe_cls.sizes, key=lambda size: abs(size - TINY_SIZE)) if tiny else case.size
    config.train.batch_size = TINY_BATCH if tiny else case.batch_size
    width = TINY_WIDTH if tiny else case.width
    config.model.g_width = config.model.d_width = width
    config.train.device = device.type
    recipe_cls.resolve_config(config, device)
    config.model.options = recipe_cls.check_options(config.model.options)
    return config.validate()


def _domain_pixels(recipe_cls, config: RunConfig, count: int) -> list[np.ndarray]:
    size = recipe_cls.load_size(config)
    return [make_demo_images(size, count, seed=11 + index) for index in range(len(recipe_cls.domains))]


def _our_training(recipe_cls, config: RunConfig, device: torch.device, precision: str, pixels: list[np.ndarray]):
    """The engine's step: device batches, the rollback copy, read-back every ten steps. The recipe, and the step."""
    recipe = recipe_cls(config, device, precision)
    recipe.attach_data(pixels)
    batches = [ImageBatches(domain, device, config.train.batch_size, seed=index, crop=config.data.size)
               for index, domain in enumerate(pixels)]
    rollback = StepRollback(recipe)
    pending: list[torch.Tensor] = []
    seen = 0

    def step() -> None:
        nonlocal seen
        rollback.keep()
        pending.append(recipe.train_step([domain.next_batch()[0] for domain in batches], seen))
        seen += config.train.batch_size
        if len(pending) >= READBACK_EVERY:
            torch.stack(pending).cpu()
            pending.clear()

    return recipe, step


def _compiled_training(recipe_cls, config: RunConfig, device: torch.device, precision: str,
                       pixels: list[np.ndarray]) -> tuple[Step, float]:
    """Our step with every network compiled in place (its state_dict keys unchanged), and the seconds its
    warm-up calls took: compiling happens there, and is what a run would pay before the first faster step."""
    recipe, step = _our_training(recipe_cls, config, device, precision, pixels)
    mode = "reduce-overhead" if device.type == "cuda" else None
    for network in recipe.networks().values():
        network.compile(mode=mode, backend=COMPILE_BACKEND)
    _sync(device)
    started = time.perf_counter()
    for _ in range(WARMUP_CALLS):
        step()
    _sync(device)
    return step, time.perf_counter() - started


def _textbook_training(recipe_cls, config: RunConfig, device: torch.device, pixels: list[np.ndarray]) -> Step:
    loaders = [_forever(torch.utils.data.DataLoader(_DecodedImages(domain, config.data.size),
                                                    batch_size=config.train.batch_size, shuffle=True, drop_last=True))
               for domain in pixels]
    declared = recipe_cls.textbook_step(config, device)
    if declared is not None:
        return lambda: declared([next(loader) for loader in loaders])
    recipe = recipe_cls(config, device, "fp32")
    recipe.attach_data(pixels)

    def step() -> None:
        recipe.train_step([next(loader).to(device) for loader in loaders], 0).tolist()  # a host sync every step

    return step


def _rates(step: Step, work: int, device: torch.device, seconds: float, least_calls: int) -> float:
    """Work a second over one repeat: calls until `seconds` have passed and at least `least_calls` were made."""
    _sync(device)
    started = time.perf_counter()
    calls = 0
    while calls < least_calls or time.perf_counter() - started < seconds:
        step()
        calls += 1
    _sync(device)
    return work * calls / (time.perf_counter() - started)


def _peak_memory(step: Step, device: torch.device) -> int | None:
    """Peak bytes allocated by one call, on CUDA; None elsewhere."""
    if device.type != "cuda":
        return None
    _sync(device)
    torch.cuda.reset_peak_memory_stats(device)
    step()
    _sync(device)
    return int(torch.cuda.max_memory_allocated(device))


def compare(ours: Step, textbook: Step, work: int, device: torch.device, repeats: int, seconds: float,
            least_calls: int) -> dict:
    """Both sides warmed up, then `repeats` alternating timings: medians, every figure, ratio, peak memory."""
    for _ in range(WARMUP_CALLS):
        ours()
        textbook()
    ours_peak, textbook_peak = _peak_memory(ours, device), _peak_memory(textbook, device)
    ours_rates, textbook_rates = [], []
    for _ in range(repeats):
        ours_rates.append(_rates(ours, work, device, seconds, least_calls))
        textbook_rates.append(_rates(textbook, work, device, seconds, least_calls))
    ours_median, textbook_median = statistics.median(ours_rates), statistics.median(textbook_rates)
    return {"ours_per_second": round(ours_median, 3), "textbook_per_second": round(textbook_median, 3),
            "ratio": round(ours_median / textbook_median, 3) if textbook_median > 0 else None,
            "ours_all": [round(rate, 3) for rate in ours_rates],
            "textbook_all": [round(rate, 3) for rate in textbook_rates],
            "ours_peak_memory_bytes": ours_peak, "textbook_peak_memory_bytes": textbook_peak}


def _generation(recipe: GeneratingRecipe) -> tuple[Step, Step]:
    latents = recipe.latents_for_seeds(list(range(GENERATION_BATCH)))

    def one_at_a_time() -> None:
        for latent in latents:
            recipe.generate(latent[None])

    return (lambda: recipe.generate(latents)), one_at_a_time


def _conversion(recipe: TranslatingRecipe, device: torch.device, size: int) -> tuple[Step, Step]:
    direction = next(iter(recipe.directions))
    opened = generator_from_state(type(recipe).generator_state(recipe.state_dict(), direction), "bench", None,
                                  device, direction)
    translator = Translator(opened, device, direction, "bench")
    picture = make_demo_images(size, 1, seed=5)[0]
    network = opened.network.eval()

    @torch.no_grad()
    def reference_way() -> None:
        from PIL import Image
        image = torch.from_numpy(np.array(Image.fromarray(picture))).permute(2, 0, 1).float().div(255)
        result = network(((image - 0.5) / 0.5).unsqueeze(0).to(device))
        tensor_to_pixels(result.cpu())

    return (lambda: translator.translate_picture(picture)), reference_way


def _measure(label: str, run: Callable[[], dict], say: Callable[[str], None]) -> dict:
    """One figure; a failure (out of memory at a size this device cannot hold) is recorded, never raised."""
    say(f"  {label} ...")
    try:
        return run()
    except (RuntimeError, MemoryError) as exc:
        if not is_out_of_memory(exc):
            raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return {"error": "out of memory"}


def bench_case(recipe_cls, case: BenchCase, device: torch.device, precision: str, repeats: int, seconds: float,
               tiny: bool, say: Callable[[str], None], compiled: bool = False) -> dict:
    """Every figure of one declared case."""
    config = case_config(recipe_cls, case, device, tiny)
    resolved = resolve_precision(precision, device)
    pixels = _domain_pixels(recipe_cls, config, BENCH_IMAGES if not tiny else 8)
    least_calls = 1 if tiny else 3
    row = {"model": recipe_cls.name, "case": case.label, "size": config.data.size,
           "batch_size": config.train.batch_size, "options": dict(case.options), "widths": [config.model.g_width,
                                                                                           config.model.d_width],
           "our_precision": resolved, "textbook_precision": "fp32"}
    torch.manual_seed(0)
    recipe, ours = _our_training(recipe_cls, config, device, resolved, pixels)
    textbook = _textbook_training(recipe_cls, config, device, pixels)
    row["training"] = _measure(f"{recipe_cls.name} {case.label}: training", lambda: compare(
        ours, textbook, config.train.batch_size, device, repeats, seconds, least_calls), say)
    if compiled:
        row["training_compiled"] = _measure(f"{recipe_cls.name} {case.label}: training, compiled",
                                            lambda: _compiled_against_eager(recipe_cls, config, device, resolved,
                                                                            pixels, ours, repeats, seconds,
                                                                            least_calls), say)
    if isinstance(recipe, GeneratingRecipe):
        generate_ours, generate_textbook = _generation(recipe)
        row["generation"] = _measure(f"{recipe_cls.name} {case.label}: generation", lambda: compare(
            generate_ours, generate_textbook, GENERATION_BATCH, device, repeats, seconds, 1), say)
    if isinstance(recipe, TranslatingRecipe):
        row["conversion"] = {}
        for size in (TINY_CONVERSION_SIZES if tiny else CONVERSION_SIZES):
            convert_ours, convert_reference = _conversion(recipe, device, size)
            row["conversion"][str(size)] = _measure(f"{recipe_cls.name} {case.label}: conversion at {size} px",
                                                    lambda: compare(convert_ours, convert_reference, 1, device,
                                                                    repeats, seconds, 1), say)
    return row


def _compiled_against_eager(recipe_cls, config: RunConfig, device: torch.device, precision: str,
                            pixels: list[np.ndarray], eager: Step, repeats: int, seconds: float,
                            least_calls: int) -> dict:
    """The compiled step's figure where `compare` puts ours, eager's where it puts the textbook's."""
    torch.manual_seed(0)
    try:
        step, warmup_seconds = _compiled_training(recipe_cls, config, device, precision, pixels)
    except Exception as exc:  # noqa: BLE001 - no compiler installed, an operator it cannot trace: a figure, not a crash
        if is_out_of_memory(exc):
            raise
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        return {"error": f"could not compile: {reason}"}
    measured = compare(step, eager, config.train.batch_size, device, repeats, seconds, least_calls)
    return {**measured, "warmup_seconds": round(warmup_seconds, 1), "backend": COMPILE_BACKEND}


def run_bench(models: list[str] | None = None, sizes: list[int] | None = None, repeats: int = 3, seconds: float = 2.0, device: str = "auto",
              precision: str = "auto", tiny: bool = False, progress: Callable[[str], None] | None = None,
              compiled: bool = False) -> dict:
    """Every declared case of every registered model (or of `models`, at `sizes`), each beside its textbook way."""
    torch_device = select_device(device)
    say = progress or (lambda text: None)
    chosen = [recipe for recipe in recipes() if recipe.bench_cases and (not models or recipe.name in models)]
    say(f"Benchmarking {', '.join(recipe.name for recipe in chosen)} on {describe(torch_device)} ...")
    cases = [(recipe, case) for recipe in chosen for case in recipe.bench_cases if not sizes or case.size in sizes]
    if tiny:
        # Tiny mode shrinks every case to the same size, so one case a model covers each path it has.
        first_cases: dict = {}
        for recipe, case in cases:
            first_cases.setdefault(recipe, case)
        cases = list(first_cases.items())
    rows = [bench_case(recipe, case, torch_device, precision, repeats, seconds, tiny, say, compiled)
            for recipe, case in cases]
    return {
        "app_version": __version__,
        "torch_version": str(torch.__version__),
        "python_version": platform.python_version(),
        "device": describe(torch_device),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "repeats": repeats, "seconds_per_repeat": seconds, "warmup_calls": WARMUP_CALLS, "tiny": tiny,
        "fast_path": "eager", "compiled_measured": compiled,
        "cases": rows,
    }


def _figure(measured: dict | None, unit: str) -> str:
    if not measured:
        return ""
    if "error" in measured:
        return f"{measured['error']:>40}"
    peak = measured.get("ours_peak_memory_bytes")
    memory = f"  peak {peak / 2**20:,.0f} MB (textbook {measured['textbook_peak_memory_bytes'] / 2**20:,.0f})" \
        if peak is not None else ""
    ratio = f"{measured['ratio']:.2f}x" if measured["ratio"] is not None else "-"
    return (f"{measured['ours_per_second']:10.2f} {unit}  textbook {measured['textbook_per_second']:10.2f}  "
            f"ratio {ratio:>6}{memory}")


def format_results(results: dict) -> str:
    lines = [f"GAN Studio {results['app_version']}, torch {results['torch_version']}, Python "
             f"{results['python_version']}",
             f"Device: {results['device']}, {results['cpu_count']} CPUs; median of {results['repeats']} repeats of "
             f"at least {results['seconds_per_repeat']:g} s after {results['warmup_calls']} warm-up calls"
             f"{'; tiny mode (sizes and widths shrunk: a test, not a measurement)' if results['tiny'] else ''}",
             "ours: GAN Studio's path; textbook: float32, a DataLoader of decoded pictures, a host sync per step"]
    for row in results["cases"]:
        options = "".join(f", {value}" for value in row["options"].values())
        lines.append(f"{row['model']} {row['size']} px{options}, batch {row['batch_size']} (ours "
                     f"{row['our_precision']}, widths {row['widths'][0]}/{row['widths'][1]})")
        lines.append(f"  {'training':<22}{_figure(row['training'], 'img/s')}")
        if "training_compiled" in row:
            compiled = row["training_compiled"]
            figure = _figure(compiled, "img/s").replace("textbook", "   eager")
            warmup = f"  ({compiled['warmup_seconds']:g} s to compile)" if "warmup_seconds" in compiled else ""
            lines.append(f"  {'training, compiled':<22}{figure}{warmup}")
        if "generation" in row:
            lines.append(f"  {'generation':<22}{_figure(row['generation'], 'img/s')}")
        for size, measured in row.get("conversion", {}).items():
            lines.append(f"  {'conversion ' + size + ' px':<22}{_figure(measured, 'pic/s')}")
    return "\n".join(lines)
