"""`ganstudio bench`: every model with declared cases, each figure beside its textbook one; checked in tiny mode.

The figures themselves are the machine's; these tests check what is measured and reported, never how fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganstudio.core import bench
from ganstudio.core.recipes.base import BenchCase, GeneratingRecipe, TranslatingRecipe
from ganstudio.core.registry import get_recipe, recipes

REPOSITORY = Path(__file__).resolve().parent.parent
HANG_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def tiny_results() -> dict:
    command = [sys.executable, "-m", "ganstudio", "bench", "--tiny", "--repeats", "1", "--seconds", "0.01",
               "--device", "cpu", "--threads", "1", "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=HANG_TIMEOUT_S, cwd=REPOSITORY)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_every_model_that_declares_cases_is_measured(tiny_results):
    declared = [recipe.name for recipe in recipes() if recipe.bench_cases]
    assert {"dcgan", "cyclegan"} <= set(declared)
    assert [row["model"] for row in tiny_results["cases"]] == declared  # tiny mode: each model's first case
    assert tiny_results["tiny"] is True and tiny_results["device"].startswith("CPU")


def test_each_figure_stands_beside_its_textbook_one_with_their_ratio(tiny_results):
    for row in tiny_results["cases"]:
        recipe = get_recipe(row["model"])
        figures = [row["training"]]
        if issubclass(recipe, GeneratingRecipe):
            figures.append(row["generation"])
        if issubclass(recipe, TranslatingRecipe):
            assert list(row["conversion"]) == [str(size) for size in bench.TINY_CONVERSION_SIZES]
            figures.extend(row["conversion"].values())
        for measured in figures:
            assert measured["ours_per_second"] > 0 and measured["textbook_per_second"] > 0
            assert measured["ratio"] == pytest.approx(measured["ours_per_second"] / measured["textbook_per_second"],
                                                      rel=0.01)
            assert measured["ours_peak_memory_bytes"] is None  # a CPU keeps no per-run peak
        # Tiny mode trains at the model's own size nearest the tiny one (a model may start at 64 px).
        assert row["textbook_precision"] == "fp32"
        assert row["size"] == min(recipe.sizes, key=lambda size: abs(size - bench.TINY_SIZE))


def test_the_table_names_every_case(tiny_results):
    table = bench.format_results(tiny_results)
    assert "tiny mode" in table
    for row in tiny_results["cases"]:
        assert f"{row['model']} {row['size']} px" in table
    assert table.count("training") == len(tiny_results["cases"])


def test_a_case_is_built_from_its_declaration_for_the_device():
    import torch
    cyclegan = get_recipe("cyclegan")
    case = BenchCase(256, 1, (("preset", "default"),))
    config = bench.case_config(cyclegan, case, torch.device("cpu"), tiny=False)
    assert (config.data.size, config.train.batch_size, config.model.options["preset"]) == (256, 1, "default")
    assert config.model.g_width == 64  # the default preset's filters, filled in by the recipe itself
    dcgan = get_recipe("dcgan")
    config = bench.case_config(dcgan, dcgan.bench_cases[0], torch.device("cpu"), tiny=False)
    assert (config.model.g_width, config.train.batch_size) == (64, 64)  # the paper's width, not the CPU default


def test_out_of_memory_in_one_figure_is_recorded_and_the_bench_goes_on():
    import torch

    def too_big() -> dict:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")

    assert bench._measure("a case", too_big, lambda text: None) == {"error": "out of memory"}


def test_an_unknown_model_is_one_plain_sentence():
    result = subprocess.run([sys.executable, "-m", "ganstudio", "bench", "--models", "nosuch", "--tiny"],
                            capture_output=True, text=True, timeout=HANG_TIMEOUT_S, cwd=REPOSITORY)
    assert result.returncode == 1
    assert "No benchmark for nosuch; the models with one are" in result.stderr and "Traceback" not in result.stderr


def test_models_and_sizes_choose_the_declared_cases():
    results = bench.run_bench(models=["cyclegan"], sizes=[256], repeats=1, seconds=0.0, device="cpu", tiny=True)
    assert [(row["model"], row["options"]["preset"]) for row in results["cases"]] == [("cyclegan", "light")]


def test_compiled_training_is_timed_against_eager_with_its_compile_time(monkeypatch):
    """--compile: the same step with the networks compiled in place, beside eager; traced only (backend 'eager')."""
    monkeypatch.setattr(bench, "COMPILE_BACKEND", "eager")
    results = bench.run_bench(models=["dcgan"], repeats=1, seconds=0.01, device="cpu", tiny=True, compiled=True)
    compiled = results["cases"][0]["training_compiled"]
    assert "error" not in compiled, compiled
    assert compiled["ours_per_second"] > 0 and compiled["textbook_per_second"] > 0 and compiled["warmup_seconds"] >= 0
    assert "training, compiled" in bench.format_results(results) and "s to compile" in bench.format_results(results)


def test_a_step_that_cannot_be_compiled_is_a_recorded_figure(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise RuntimeError("no C++ compiler found\nmore detail")

    monkeypatch.setattr(torch.nn.Module, "compile", refuse)
    results = bench.run_bench(models=["dcgan"], repeats=1, seconds=0.01, device="cpu", tiny=True, compiled=True)
    assert results["cases"][0]["training_compiled"] == {"error": "could not compile: no C++ compiler found"}
    assert results["cases"][0]["training"]["ours_per_second"] > 0
