"""The metric seam: a metric defined in one file (tests/toy_metric.py) is scheduled as a hook, measured in the
background, written to metrics.jsonl, replayed and printed, and leaves training bitwise as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from conftest import tiny_config
from ganstudio.core import engine
from ganstudio.core import events as ev
from ganstudio.core.checkpoint import load_checkpoint
from ganstudio.core.errors import ConfigError
from ganstudio.core.registry import PLUGINS_VARIABLE, get_metric
from ganstudio.core.replay import replay_run
from ganstudio.core.sinks import ListSink
from test_cli import ganstudio

TOY_METRIC = Path(__file__).with_name("toy_metric.py")


@pytest.fixture(autouse=True)
def toy_metric_registered(monkeypatch):
    monkeypatch.setenv(PLUGINS_VARIABLE, os.pathsep.join([str(TOY_METRIC), os.environ.get(PLUGINS_VARIABLE, "")]))
    metric = get_metric("toy-colour")
    yield metric
    metric.fail_after_step = None


def config_with(data, run_dir, metrics):
    config = tiny_config(data, run_dir, epochs=3)  # 40 pictures, batch 8: five steps an epoch
    config.run.metrics = metrics
    return config.validate()


def test_a_metric_is_measured_each_epoch_logged_and_replayed(tiny_dataset, tmp_path):
    sink = ListSink()
    result = engine.run(config_with(tiny_dataset, tmp_path / "run", ["toy-colour"]), sink)
    measured = sink.of(ev.MetricMeasured)
    assert [event.step for event in measured] == [5, 10, 15] and all(e.name == "toy-colour" for e in measured)
    assert all(0 <= event.values["colour distance"] <= 3 for event in measured)
    finished_at = sink.index(sink.of(ev.RunFinished)[0])
    assert all(sink.index(event) < finished_at for event in measured), "the run waits for its measurements"
    assert sink.of(ev.RunStarted)[0].metric_names == ("colour distance",)
    history = replay_run(result.run_dir / "metrics.jsonl")
    assert [event.step for event in history.metrics] == [5, 10, 15]


def test_a_metric_leaves_training_bitwise_the_same(tiny_dataset, tmp_path):
    plain = engine.run(config_with(tiny_dataset, tmp_path / "plain", ["none"]))
    measured = engine.run(config_with(tiny_dataset, tmp_path / "measured", ["toy-colour"]))
    expected = load_checkpoint(plain.checkpoint)["recipe"]["generator"]
    actual = load_checkpoint(measured.checkpoint)["recipe"]["generator"]
    assert all(torch.equal(expected[name], actual[name]) for name in expected)


def test_a_failing_measurement_is_a_warning_and_training_goes_on(tiny_dataset, tmp_path, toy_metric_registered):
    toy_metric_registered.fail_after_step = 0
    sink = ListSink()
    result = engine.run(config_with(tiny_dataset, tmp_path / "run", ["toy-colour"]), sink)
    assert result.reason == "completed" and not sink.of(ev.MetricMeasured)
    assert any("Colour distance could not be measured at step 5" in w.message for w in sink.of(ev.Warning))


def test_auto_leaves_out_metrics_that_are_off_by_default_and_names_are_checked(tiny_dataset, tmp_path):
    sink = ListSink()
    engine.run(config_with(tiny_dataset, tmp_path / "run", ["auto"]), sink)
    assert not [event for event in sink.of(ev.MetricMeasured) if event.name == "toy-colour"]
    with pytest.raises(ConfigError, match="no metric called 'sharpness'"):
        config_with(tiny_dataset, tmp_path / "other", ["sharpness"])


def test_the_cli_takes_and_prints_a_metric(tiny_dataset, tmp_path):
    env = {PLUGINS_VARIABLE: str(TOY_METRIC)}
    result = ganstudio("train", "--data", str(tiny_dataset), "--size", "32", "--width", "8", "--batch-size", "8",
                       "--epochs", "1", "--device", "cpu", "--metrics", "toy-colour", "--run", str(tmp_path / "run"),
                       env_extra=env)
    assert result.returncode == 0, result.stderr
    assert "toy-colour at step 5: colour distance " in result.stdout


def test_the_app_plots_a_metric_live_and_on_the_runs_page(qtbot, make_window, tiny_dataset, tmp_path):
    window = make_window(dataset=tiny_dataset)
    page, session = window.train_page, window.workspace.session
    config = config_with(tiny_dataset, tmp_path / "run", ["toy-colour"])
    with qtbot.waitSignal(session.run_finished, timeout=120_000):
        assert session.start(config)
    qtbot.waitUntil(lambda: not session.busy, timeout=10_000)
    x, y = page.plot.curve_data("colour distance")
    assert list(x) == [5, 10, 15] and all(0 <= value <= 3 for value in y)
    runs = window.runs_page
    with qtbot.waitSignal(runs.details_shown, timeout=30_000):
        assert runs.open_folder(str(tmp_path / "run"))
    replayed_x, replayed_y = runs.plot.curve_data("colour distance")
    assert list(replayed_x) == list(x) and list(replayed_y) == list(y)
