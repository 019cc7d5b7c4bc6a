"""The model contract: a model defined in one file (tests/toy_model.py) trains, resumes, generates, and appears
in the CLI and the app's model list, with no other file naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import tiny_config
from ganstudio.core import engine
from ganstudio.core import events as ev
from ganstudio.core.checkpoint import load_checkpoint
from ganstudio.core.control import Control
from ganstudio.core.errors import ConfigError
from ganstudio.core.generate import load_generator
from ganstudio.core.registry import PLUGINS_VARIABLE, get_recipe, model_names
from ganstudio.core.runs import RunFolder
from ganstudio.core.sinks import ListSink
from test_cli import ganstudio

TOY_FILE = Path(__file__).with_name("toy_model.py")


@pytest.fixture(autouse=True)
def toy_registered(monkeypatch):
    monkeypatch.setenv(PLUGINS_VARIABLE, str(TOY_FILE))
    assert "toy" in model_names()


def toy_config(data: Path, run_dir: Path, **options):
    config = tiny_config(data, run_dir, steps=12)
    config.model.name = "toy"
    config.model.options = dict(options)
    return config.validate()


def test_the_toy_declares_itself_and_its_options_fill_in():
    recipe = get_recipe("toy")
    assert recipe.kind == "generate" and recipe.label.startswith("Toy")
    assert recipe.check_options({}) == {"activation": "tanh", "penalty": 0.0}
    with pytest.raises(ConfigError, match="toy model has no option loss"):
        recipe.check_options({"loss": "hinge"})
    with pytest.raises(ConfigError, match="activation is one of tanh, clamp"):
        recipe.check_options({"activation": "relu"})
    with pytest.raises(ConfigError, match="penalty must be from 0 to 10"):
        recipe.check_options({"penalty": 11.0})


def test_the_toy_trains_reports_only_what_is_on_and_resumes_exactly(tiny_dataset, tmp_path, monkeypatch):
    sink = ListSink()
    engine.run(toy_config(tiny_dataset, tmp_path / "plain"), sink)
    started = sink.of(ev.RunStarted)[0]
    assert started.model == "toy" and started.loss_names == ("D", "G"), "a penalty that is off is not plotted"
    assert set(sink.of(ev.StepProgress)[-1].losses) == {"D", "G"}

    penalised = ListSink()
    whole = engine.run(toy_config(tiny_dataset, tmp_path / "whole", penalty=0.5), penalised)
    assert penalised.of(ev.RunStarted)[0].loss_names == ("D", "G", "penalty")

    control = Control()

    def stop_at_step_5(event: ev.Event) -> None:
        if isinstance(event, ev.StepProgress) and event.step >= 5:
            control.request_stop()

    from ganstudio.core.training import meter
    monkeypatch.setattr(meter, "STEP_EVENT_INTERVAL_S", 0.0)
    stopped = engine.run(toy_config(tiny_dataset, tmp_path / "split", penalty=0.5), stop_at_step_5, control)
    assert stopped.reason == "stopped" and 0 < stopped.step < 12
    resumed = engine.resume(tmp_path / "split")
    assert resumed.reason == "completed" and resumed.step == 12
    expected = load_checkpoint(whole.checkpoint)["recipe"]["generator"]
    actual = load_checkpoint(resumed.checkpoint)["recipe"]["generator"]
    for name in expected:
        assert torch.equal(expected[name], actual[name]), name


def test_the_toy_generates_by_seed(tiny_dataset, tmp_path):
    result = engine.run(toy_config(tiny_dataset, tmp_path / "run", activation="clamp"))
    generator = load_generator(result.run_dir)
    pictures = generator.images_for_seeds([4, 5])
    assert pictures.shape == (2, 32, 32, 3)
    alone = generator.images_for_seeds([5]).astype(int)
    # The same picture in any batch, up to one level of rounding where a batched matmul sums in another order.
    assert abs(alone - pictures[1:]).max() <= 1


def test_the_cli_lists_the_toy_and_takes_its_flags(tiny_dataset, tmp_path):
    env = {PLUGINS_VARIABLE: str(TOY_FILE)}
    help_text = ganstudio("train", "--help", env_extra=env)
    assert help_text.returncode == 0, help_text.stderr
    assert "toy: Toy — a test of the model contract" in help_text.stdout
    assert "--activation" in help_text.stdout and "--penalty" in help_text.stdout
    run_dir = tmp_path / "run"
    result = ganstudio("train", "--model", "toy", "--data", str(tiny_dataset), "--steps", "4", "--activation",
                       "clamp", "--penalty", "0.25", "--device", "cpu", "--run", str(run_dir), env_extra=env)
    assert result.returncode == 0, result.stderr
    config = RunFolder(run_dir).load_config()
    assert config.model.options == {"activation": "clamp", "penalty": 0.25}
    wrong = ganstudio("train", "--model", "toy", "--demo", "--loss", "hinge", env_extra=env)
    assert wrong.returncode == 2 and "--loss is not an option of the toy model" in wrong.stderr
    resumed = ganstudio("resume", str(run_dir), "--steps", "6", env_extra=env)
    assert resumed.returncode == 0, resumed.stderr


def test_the_app_lists_the_toy_and_shows_its_options(qtbot, make_window, tiny_dataset):
    window = make_window(dataset=tiny_dataset)
    page = window.train_page
    qtbot.waitUntil(lambda: page.machine is not None, timeout=30_000)
    names = [page.model_choice.itemData(index) for index in range(page.model_choice.count())]
    assert names[0] == "dcgan" and "toy" in names
    assert "cyclegan" not in names, "a translating model belongs to the Image to image page"
    page.model_choice.setCurrentIndex(names.index("toy"))
    activation = page.model_options.widget("activation")
    assert activation is not None and page.model_options.widget("loss") is None
    activation.setCurrentIndex(activation.findData("clamp"))
    page.model_options.widget("penalty").setValue(0.5)
    config = page.build_config()
    assert config.model.name == "toy" and config.model.options == {"activation": "clamp", "penalty": 0.5}
    page.model_choice.setCurrentIndex(names.index("dcgan"))
    assert page.model_options.widget("activation") is None and page.model_options.widget("loss") is not None
