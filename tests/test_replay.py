"""The replay of metrics.jsonl: a continued run's history is what its last segments trained, steps only going up."""

from __future__ import annotations

import json

from ganstudio.core import events as ev
from ganstudio.core.replay import replay_run, sample_files
from ganstudio.core.runs import RunFolder

LOSS_NAMES = ("D/real", "D/fake", "G/adv")
STAT_NAMES = ("D(x)",)


def started(start_step: int, loss_names: tuple[str, ...] = LOSS_NAMES) -> ev.RunStarted:
    return ev.RunStarted(run_dir="/runs/flowers", run_name="flowers", model="dcgan", device="CPU", precision="fp32",
                         dataset_size=400, batch_size=8, steps_per_epoch=50, start_step=start_step,
                         start_epoch=start_step // 50, target="steps 400", total_steps=400, loss_names=loss_names,
                         stat_names=STAT_NAMES, visual_names=("fake",), parameters=1234)


def value(segment: int, step: int) -> float:
    """Each segment its own loss values, to tell which one a step came from."""
    return 100.0 * segment + step / 1000


def stamp(segment: int, step: int) -> float:
    """Each segment its own event times, to tell which one an epoch, grid or checkpoint came from."""
    return 10_000.0 * segment + step


def segment(segment_number: int, start_step: int, last_step: int, checkpoint_at: int | None = None,
            finished: bool = False) -> list[ev.Event]:
    """One training segment: a step event every 10 steps, an epoch and a sample grid every 50."""
    events: list[ev.Event] = [started(start_step)]
    for step in range(start_step + 10, last_step + 1, 10):
        values = dict.fromkeys(LOSS_NAMES, value(segment_number, step))
        time = stamp(segment_number, step)
        events.append(ev.StepProgress(step=step, epoch=step // 50, epoch_fraction=step % 50 / 50,
                                      images_seen=step * 8, images_per_second=400.0, elapsed_seconds=step / 10,
                                      eta_seconds=None, losses=values, stats={"D(x)": 0.5}, time=time))
        if step % 50 == 0:
            events.append(ev.EpochEnded(epoch=step // 50, step=step, seconds=5.0, losses=values, stats={}, time=time))
            events.append(ev.SamplesSaved(epoch=step // 50, step=step,
                                          path=f"/runs/flowers/samples/epoch_{step // 50:04d}.png", time=time))
        if step == checkpoint_at:
            events.append(ev.CheckpointSaved(epoch=step // 50, step=step,
                                             path=f"/runs/flowers/checkpoints/step_{step:09d}.pt", seconds=1.0,
                                             time=time))
    if finished:
        events.append(ev.RunFinished(reason="completed", step=last_step, epoch=last_step // 50,
                                     checkpoint=f"/runs/flowers/checkpoints/step_{last_step:09d}.pt",
                                     message="Finished."))
    return events


def write_metrics(path, *segments: list[ev.Event]) -> None:
    """The lines the engine's JsonlSink would have written."""
    lines = [json.dumps(ev.to_record(event)) for events in segments for event in events]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def increasing(values: list[int]) -> bool:
    return all(later > earlier for earlier, later in zip(values, values[1:]))


def test_two_continues_from_one_checkpoint_leave_the_last_segment_standing(tmp_path):
    # Trained to 300 (checkpoint at 200) and crashed; continued from 200 to 260 and crashed with no new
    # checkpoint; continued from 200 again to 400.
    metrics = tmp_path / "metrics.jsonl"
    write_metrics(metrics, segment(1, 0, 300, checkpoint_at=200), segment(2, 200, 260),
                  segment(3, 200, 400, checkpoint_at=400, finished=True))
    history = replay_run(metrics)
    steps = [event.step for event in history.steps]
    assert increasing(steps) and steps[0] == 10 and steps[-1] == 400
    assert steps == list(range(10, 401, 10))
    for event in history.steps:
        expected_segment = 1 if event.step <= 200 else 3
        assert event.losses["G/adv"] == value(expected_segment, event.step), event.step
    for kept in (history.epochs, history.samples):
        assert [event.step for event in kept] == list(range(50, 401, 50))
        assert [event.time for event in kept] == [stamp(1 if step <= 200 else 3, step) for step in range(50, 401, 50)]
    assert [event.time for event in history.checkpoints] == [stamp(1, 200), stamp(3, 400)]
    assert history.started is not None and history.started.start_step == 200
    assert history.started.loss_names == LOSS_NAMES and history.started.stat_names == STAT_NAMES
    assert history.finished is not None and history.finished.step == 400
    assert history.segments == 3


def test_a_missing_or_empty_file_is_an_empty_history(tmp_path):
    for history in (replay_run(tmp_path / "nothing.jsonl"), replay_run(write_empty(tmp_path / "empty.jsonl"))):
        assert history.steps == history.epochs == history.samples == history.checkpoints == history.warnings == ()
        assert history.started is None and history.finished is None and history.segments == 0


def write_empty(path):
    path.write_text("", encoding="utf-8")
    return path


def test_a_torn_last_line_is_left_out(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    write_metrics(metrics, segment(1, 0, 100))
    with open(metrics, "a", encoding="utf-8") as handle:
        handle.write('{"event":"step","step":110,"epoch":2,"epoch_fr')
    history = replay_run(metrics)
    assert history.steps[-1].step == 100 and history.segments == 1 and history.finished is None


def test_a_continue_from_step_0_replaces_everything(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    write_metrics(metrics, segment(1, 0, 120), segment(2, 0, 60))
    history = replay_run(metrics)
    assert [event.step for event in history.steps] == [10, 20, 30, 40, 50, 60]
    assert all(event.losses["G/adv"] == value(2, event.step) for event in history.steps)
    assert [event.step for event in history.samples] == [50]
    assert history.segments == 2


def test_a_continue_from_an_earlier_checkpoint_replaces_a_later_one(tmp_path):
    # Crashed between checkpoints: the first segment's checkpoint at 250 was not the one continued from.
    metrics = tmp_path / "metrics.jsonl"
    write_metrics(metrics, segment(1, 0, 300, checkpoint_at=250), segment(2, 100, 150))
    history = replay_run(metrics)
    assert [event.step for event in history.steps][-6:] == [100, 110, 120, 130, 140, 150]
    assert history.steps[-1].losses["G/adv"] == value(2, 150)
    assert history.checkpoints == () and history.last_checkpoint is None
    assert [event.step for event in history.samples] == [50, 100, 150]


def test_the_last_segments_run_started_and_finish_are_kept(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    renamed = ("D/loss", "G/loss")
    write_metrics(metrics, segment(1, 0, 100, checkpoint_at=100, finished=True), [started(100, renamed)],
                  [ev.Warning(message="The disk is nearly full.")])
    history = replay_run(metrics)
    assert history.started.loss_names == renamed
    assert history.finished is None, "the last segment has not finished (it crashed or still runs)"
    assert [warning.message for warning in history.warnings] == ["The disk is nearly full."]


def test_a_continue_whose_run_started_line_was_lost_still_replaces_what_it_retrains(tmp_path):
    # The first segment died in the middle of a line; the continue's RunStarted was appended to that torn
    # line, so neither reads back, and the continue's steps follow the first segment's directly.
    metrics = tmp_path / "metrics.jsonl"
    write_metrics(metrics, segment(1, 0, 300, checkpoint_at=200))
    continued = segment(2, 200, 260)
    with open(metrics, "a", encoding="utf-8") as handle:
        handle.write('{"event":"step","step":310,"ep' + json.dumps(ev.to_record(continued[0])) + "\n")
        handle.writelines(json.dumps(ev.to_record(event)) + "\n" for event in continued[1:])
    history = replay_run(metrics)
    steps = [event.step for event in history.steps]
    assert increasing(steps) and steps[-1] == 260
    assert history.steps[-1].losses["G/adv"] == value(2, 260)
    assert [event.step for event in history.samples] == [50, 100, 150, 200, 250]
    assert history.samples[-1].time == stamp(2, 250)


def test_the_gallery_gets_the_standing_grids_found_by_name_in_the_run_folder(tmp_path):
    folder = RunFolder(tmp_path / "copied-run")
    folder.create_folders()
    write_metrics(folder.metrics_path, segment(1, 0, 300, checkpoint_at=200), segment(2, 200, 260))
    for epoch in (1, 2, 3, 4, 5, 6):
        (folder.samples_dir / f"epoch_{epoch:04d}.png").write_bytes(b"png")
    (folder.samples_dir / "epoch_0002.png").unlink()  # removed by hand
    files = sample_files(folder, replay_run(folder.metrics_path))
    assert [(file.path, file.step) for file in files] == \
        [(folder.samples_dir / f"epoch_{epoch:04d}.png", epoch * 50) for epoch in (1, 3, 4, 5)], \
        "the grid at step 300 was trained again; the metrics name another computer's folder"
