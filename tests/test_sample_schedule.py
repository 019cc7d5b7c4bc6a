"""Sample grids come within the first minute of training and then at a steady pace in time, whatever the dataset size."""

from __future__ import annotations

import pytest

from conftest import tiny_config, write_pictures
from ganstudio.core import engine
from ganstudio.core import events as ev
from ganstudio.core.control import Control
from ganstudio.core.runs import RunFolder
from ganstudio.core.sinks import ListSink
from ganstudio.core.training.samples import FIRST_SAMPLE_SECONDS, SAMPLE_SECONDS

SECONDS_PER_STEP = 7.0


class HandClock:
    """Seconds that pass only when a training step does: the test decides how long a step takes."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SteppedTrainer(engine._Trainer):
    """The engine's trainer, with each training step taking SECONDS_PER_STEP on the hand clock."""

    def _prepare(self):
        state = super()._prepare()
        train_step = self.recipe.train_step

        def timed_step(*args, **kwargs):
            self.clock.now += SECONDS_PER_STEP
            return train_step(*args, **kwargs)

        self.recipe.train_step = timed_step
        return state


def train_by_hand_clock(config) -> ListSink:
    sink = ListSink()
    SteppedTrainer(config, sink, Control(), None, clock=HandClock()).run()
    return sink


def grid_seconds(sink: ListSink) -> list[float]:
    """When each grid was written, in training seconds: the step it followed times the step's length."""
    return [event.step * SECONDS_PER_STEP for event in sink.of(ev.SamplesSaved)]


@pytest.mark.parametrize("steps_per_epoch", [5, 40])
def test_grids_come_within_the_first_minute_then_every_minute(tmp_path, steps_per_epoch):
    # 40 pictures make an epoch of 5 steps, 320 one of 40 steps (longer than the run): the schedule is the same.
    write_pictures(tmp_path / "pictures", steps_per_epoch * 8, size=32)
    config = tiny_config(tmp_path / "pictures", tmp_path / "run", steps=40)
    sink = train_by_hand_clock(config)
    seconds = grid_seconds(sink)
    assert seconds[0] <= 60 and seconds[0] >= FIRST_SAMPLE_SECONDS
    gaps = [later - earlier for earlier, later in zip(seconds[:-1], seconds[1:-1])]  # the last is the run's end
    assert gaps and all(SAMPLE_SECONDS <= gap < SAMPLE_SECONDS + SECONDS_PER_STEP for gap in gaps)
    # 40 steps of 7 s: grids at 21 s, then each minute (4 of them), and one at the end of the run.
    assert len(seconds) == 1 + int((40 * SECONDS_PER_STEP - seconds[0]) // SAMPLE_SECONDS) + 1
    assert seconds[-1] == 40 * SECONDS_PER_STEP


def test_grids_asked_for_by_epoch_come_as_well_and_reset_the_clock(tiny_dataset, tmp_path):
    config = tiny_config(tiny_dataset, tmp_path / "run", steps=30)
    config.run.sample_every_epochs = 1  # every 5 steps, 35 s: after the first, the grid a minute never falls due
    sink = train_by_hand_clock(config)
    samples = sink.of(ev.SamplesSaved)
    assert [event.step for event in samples] == [3, 5, 10, 15, 20, 25, 30]
    assert [event.epoch for event in samples] == [0, 1, 2, 3, 4, 5, 6]
    assert [event.path.rsplit("/", 1)[-1] for event in samples[:3]] == [
        "step_000000003.png", "epoch_0001.png", "epoch_0002.png"]


def test_a_continued_run_gets_its_first_grid_as_soon_as_a_new_one(tiny_dataset, tmp_path):
    config = tiny_config(tiny_dataset, tmp_path / "run", steps=10)
    train_by_hand_clock(config)
    sink = ListSink()
    folder = tmp_path / "run"
    config = RunFolder(folder).load_config()
    config.train.steps = 20
    trainer = SteppedTrainer(config, sink, Control(), RunFolder(folder).latest_checkpoint(), clock=HandClock())
    trainer.run()
    # The first session trained 70 s; the continued one's first grid is 21 s into it (step 13), not at once.
    assert [event.step for event in sink.of(ev.SamplesSaved)] == [13, 20]
