"""The engine as a front end sees it: events, the run folder, pause and stop, and failures that keep the work."""

from __future__ import annotations

import errno
import json
import threading

import pytest
import torch

from conftest import tiny_config
from ganstudio.core import engine
from ganstudio.core import events as ev
from ganstudio.core.control import Control
from ganstudio.core.errors import GanStudioError, TrainingDiverged
from ganstudio.core.runs import RunFolder
from ganstudio.core.sinks import ListSink, read_metrics
from ganstudio.core.training import checkpointer, meter


def test_events_are_plain_data_and_tell_the_story(tiny_dataset, tmp_path):
    sink = ListSink()
    config = tiny_config(tiny_dataset, tmp_path / "run", epochs=2)
    config.run.sample_every_epochs = 1
    result = engine.run(config, sink)
    assert result.reason == "completed" and result.step == 10 and result.epoch == 2
    kinds = [type(event) for event in sink]
    assert kinds[0] in (ev.DataProgress, ev.DatasetReady)
    started = sink.of(ev.RunStarted)[0]
    assert started.loss_names == ("D/real", "D/fake", "G/adv") and started.stat_names == (
        "D(x)", "D(G(z))", "sign D(x)", "sign D(G(z))", "augment p")
    assert started.steps_per_epoch == 5 and started.total_steps == 10 and started.dataset_size == 40
    steps = sink.of(ev.StepProgress)
    assert steps and steps[-1].step == 10 and set(steps[-1].losses) == {"D/real", "D/fake", "G/adv"}
    assert [e.epoch for e in sink.of(ev.EpochEnded)] == [1, 2]
    samples = sink.of(ev.SamplesSaved)
    assert [e.epoch for e in samples] == [1, 2]
    assert samples[0].grid.dtype.name == "uint8" and samples[0].grid.shape == (274, 274, 3)
    assert isinstance(sink[-1], ev.RunFinished) and sink[-1].reason == "completed"
    for event in sink:
        for value in vars(event).values():
            assert not isinstance(value, torch.Tensor)


def test_metrics_jsonl_replays_the_run(tiny_dataset, tmp_path):
    sink = ListSink()
    engine.run(tiny_config(tiny_dataset, tmp_path / "run", steps=7), sink)
    folder = RunFolder(tmp_path / "run")
    lines = folder.metrics_path.read_text().splitlines()
    assert all(json.loads(line)["event"] for line in lines)
    replayed = read_metrics(folder.metrics_path)
    live = [e for e in sink if not isinstance(e, (ev.DataProgress, ev.DatasetReady))]
    assert [type(e) for e in replayed] == [type(e) for e in live]
    assert replayed[-1].message == live[-1].message
    config = json.loads(folder.config_path.read_text())
    assert config["app_version"] and config["torch_version"] and config["train"]["steps"] == 7
    assert config["model"]["g_width"] == 8


def test_pause_holds_training_until_resumed(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(meter, "STEP_EVENT_INTERVAL_S", 0.0)
    control = Control()
    paused = threading.Event()
    sink = ListSink()

    def watch(event):
        sink(event)
        if isinstance(event, ev.StepProgress) and event.step == 3:
            control.pause()
        if isinstance(event, ev.Paused):
            paused.set()

    worker = threading.Thread(target=engine.run, args=(tiny_config(tiny_dataset, tmp_path / "run", steps=8), watch,
                                                        control))
    worker.start()
    assert paused.wait(60)
    steps_while_paused = len(sink.of(ev.StepProgress))
    worker.join(0.3)
    assert worker.is_alive() and len(sink.of(ev.StepProgress)) == steps_while_paused
    control.resume()
    worker.join(60)
    assert not worker.is_alive()
    assert sink.of(ev.Paused)[0].step == 3 and sink.of(ev.Resumed)[0].step == 3
    assert sink[-1].reason == "completed" and sink[-1].step == 8


def test_stop_while_paused_still_saves(tiny_dataset, tmp_path):
    control = Control()
    control.pause()
    threading.Timer(0.5, control.request_stop).start()
    result = engine.run(tiny_config(tiny_dataset, tmp_path / "run", steps=50), control=control)
    assert result.reason == "stopped" and result.checkpoint is not None and result.checkpoint.is_file()


def test_divergence_stops_without_overwriting_the_last_good_checkpoint(tiny_dataset, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    engine.run(tiny_config(tiny_dataset, run_dir, steps=5))
    good = RunFolder(run_dir).latest_checkpoint()
    good_bytes = good.read_bytes()
    from ganstudio.core.recipes.dcgan import DCGANRecipe
    original = DCGANRecipe.train_step

    def poisoned(self, batches, images_seen):
        values = original(self, batches, images_seen)
        with torch.no_grad():
            next(self.generator.parameters()).fill_(float("nan"))
        return values * float("nan")

    monkeypatch.setattr(DCGANRecipe, "train_step", poisoned)
    sink = ListSink()
    with pytest.raises(TrainingDiverged, match="diverged at step 6"):
        engine.resume(run_dir, sink, steps=10)
    assert sink[-1].reason == "diverged"
    assert RunFolder(run_dir).checkpoints() == [(5, good)] and good.read_bytes() == good_bytes


def test_full_disk_is_a_plain_message_and_keeps_the_old_checkpoint(tiny_dataset, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    engine.run(tiny_config(tiny_dataset, run_dir, steps=3))

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpointer, "save_checkpoint", no_space)
    with pytest.raises(GanStudioError, match="The disk is full"):
        engine.resume(run_dir, steps=6)
    assert [step for step, _ in RunFolder(run_dir).checkpoints()] == [3]


def test_only_the_newest_checkpoints_are_kept(tiny_dataset, tmp_path):
    config = tiny_config(tiny_dataset, tmp_path / "run", epochs=5)
    config.run.checkpoint_every_minutes = 1e-9  # one at every epoch end
    config.run.keep_checkpoints = 2
    engine.run(config)
    assert [step for step, _ in RunFolder(tmp_path / "run").checkpoints()] == [20, 25]


def test_starting_over_an_existing_run_is_refused(tiny_dataset, tmp_path):
    engine.run(tiny_config(tiny_dataset, tmp_path / "run", steps=2))
    with pytest.raises(GanStudioError, match="already holds a run"):
        engine.run(tiny_config(tiny_dataset, tmp_path / "run", steps=2))


def test_changed_dataset_is_refused_on_resume(tiny_dataset, tmp_path):
    engine.run(tiny_config(tiny_dataset, tmp_path / "run", steps=2))
    next(tiny_dataset.iterdir()).unlink()
    with pytest.raises(GanStudioError, match="dataset changed"):
        engine.resume(tmp_path / "run", steps=4)


def test_default_target_depends_on_dataset_size(tiny_dataset, tmp_path):
    config = tiny_config(tiny_dataset, tmp_path / "run")
    config.train.steps = None
    engine.resolve_target(config, dataset_size=2000, device=torch.device("cpu"))
    assert config.train.epochs == 150
    demo = tiny_config(tiny_dataset, tmp_path / "run")
    demo.train.steps = None
    demo.data.demo = True
    engine.resolve_target(demo, dataset_size=3000, device=torch.device("cpu"))
    assert demo.train.minutes == engine.DEMO_CPU_MINUTES and demo.train.epochs is None
