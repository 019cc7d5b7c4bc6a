"""On a CUDA GPU: training in mixed precision, resuming, moving a run to a CPU, converting, and the benchmark.

Every test here carries the `cuda` marker; conftest skips them where PyTorch sees no CUDA GPU (as in CI).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import tiny_config, write_pictures
from ganstudio.core import engine
from ganstudio.core import events as ev
from ganstudio.core.bench import run_bench
from ganstudio.core.checkpoint import load_checkpoint
from ganstudio.core.device import available_devices
from ganstudio.core.generate import load_generator
from ganstudio.core.runs import RunFolder
from ganstudio.core.sinks import ListSink
from ganstudio.core.translate import open_translator
from test_cyclegan_training import cyclegan_config, two_domains

pytestmark = pytest.mark.cuda


def test_the_device_list_names_the_gpu_and_its_memory_first():
    best = available_devices()[0]
    assert best.key == "cuda"
    assert torch.cuda.get_device_name(0) in best.label and best.label.endswith("GB)")
    assert best.memory_bytes == torch.cuda.get_device_properties(0).total_memory


def test_a_gpu_run_trains_in_mixed_precision_and_its_pictures_open_on_a_cpu(tiny_dataset, tmp_path):
    events = ListSink()
    result = engine.run(tiny_config(tiny_dataset, tmp_path / "run", steps=10, device="cuda", precision="auto"), events)
    started = events.of(ev.RunStarted)[0]
    assert started.precision == ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
    assert torch.cuda.get_device_name(0) in started.device
    assert result.reason == "completed" and result.step == 10
    assert events.of(ev.SamplesSaved), "no gallery picture was written"

    state = load_checkpoint(result.checkpoint)
    weights = state["recipe"]["generator"]
    assert all(tensor.device.type == "cpu" for tensor in weights.values()), "a checkpoint must open without a GPU"
    assert torch.isfinite(state["history"]["values"]).all()

    on_gpu = load_generator(result.run_dir, device="cuda").images_for_seeds([3, 4])
    on_cpu = load_generator(result.run_dir, device="cpu").images_for_seeds([3, 4])
    assert on_gpu.shape == on_cpu.shape == (2, 32, 32, 3) and on_cpu.dtype == np.uint8
    # The same seed draws the same latent on either device; the pictures agree up to kernel rounding.
    assert np.abs(on_gpu.astype(int) - on_cpu.astype(int)).mean() < 2.0


def test_fp16_scales_its_losses_and_the_scaler_is_saved(tiny_dataset, tmp_path):
    result = engine.run(tiny_config(tiny_dataset, tmp_path / "run", steps=6, device="cuda", precision="fp16"))
    recipe_state = load_checkpoint(result.checkpoint)["recipe"]
    for name in ("scaler_g", "scaler_d"):
        assert recipe_state[name].get("scale", 0) > 0, f"{name} was not enabled for fp16"


def test_a_gpu_run_resumes_where_it_stopped(tiny_dataset, tmp_path):
    interrupted = tmp_path / "run"
    first = engine.run(tiny_config(tiny_dataset, interrupted, steps=5, device="cuda"))
    saved = load_checkpoint(first.checkpoint)
    saved_history = saved["history"]["values"].clone()
    torch.cuda.manual_seed_all(12345)  # a fresh process's CUDA generator state, not the one saved

    events = ListSink()
    resumed = engine.resume(interrupted, events, steps=12)
    assert resumed.reason == "completed" and resumed.step == 12
    assert events.of(ev.RunStarted)[0].start_step == 5
    history = load_checkpoint(RunFolder(interrupted).latest_checkpoint())["history"]["values"]
    assert history.shape[0] == 12 and torch.equal(history[:5], saved_history)
    assert torch.isfinite(history).all()


def test_a_gpu_cyclegan_converts_pictures_on_the_gpu_and_the_cpu(tmp_path):
    domain_a, domain_b = two_domains(tmp_path)
    config = cyclegan_config(domain_a, domain_b, tmp_path / "run", steps=4, device="cuda")
    result = engine.run(config)
    assert result.reason == "completed"
    picture = np.asarray(np.random.default_rng(0).integers(0, 256, (37, 53, 3)), np.uint8)
    on_gpu = open_translator(run=result.run_dir, direction="AtoB", device="cuda").translate_picture(picture)
    on_cpu = open_translator(run=result.run_dir, direction="AtoB", device="cpu").translate_picture(picture)
    assert on_gpu.shape == on_cpu.shape == picture.shape
    assert np.abs(on_gpu.astype(int) - on_cpu.astype(int)).mean() < 2.0


def test_the_benchmark_measures_both_sides_and_their_peak_memory_on_the_gpu():
    results = run_bench(repeats=1, seconds=0.01, device="cuda", tiny=True)
    assert torch.cuda.get_device_name(0) in results["device"]
    for row in results["cases"]:
        training = row["training"]
        assert training["ours_per_second"] > 0 and training["textbook_per_second"] > 0
        assert training["ours_peak_memory_bytes"] > 0 and training["textbook_peak_memory_bytes"] > 0


def test_pictures_written_on_a_cpu_train_on_a_gpu_from_the_cache(tmp_path):
    """The decoded-dataset cache is shared between devices: a CPU run's cache feeds the GPU run."""
    data = tmp_path / "pictures"
    write_pictures(data, 24)
    engine.run(tiny_config(data, tmp_path / "cpu-run", steps=2))
    events = ListSink()
    engine.run(tiny_config(data, tmp_path / "gpu-run", steps=2, device="cuda"), events)
    ready = events.of(ev.DatasetReady)[0]
    assert ready.from_cache and events.of(ev.RunStarted)[0].dataset_size == 24
