"""The health line and the best-so-far mark: each rule on made-up streams of checks, said once per condition;
BestCheckpoint through metrics.jsonl and the console; and a tiny run that emits it as best.pt is kept."""

from __future__ import annotations

import io
import json

import pytest

from conftest import tiny_config
from ganstudio.core import engine
from ganstudio.core import events as ev
from ganstudio.core.metrics import kid
from ganstudio.core.quality import VARIETY_NAME, QualityWatch
from ganstudio.core.replay import replay_events, replay_run
from ganstudio.core.runs import RunFolder
from ganstudio.core.sinks import ConsoleSink, JsonlSink, ListSink

SCORE = "KID ×10³"


def checks(scores, varieties=None):
    """MetricMeasured events a check apart (three training minutes), epoch = index."""
    varieties = varieties or [None] * len(scores)
    stream = []
    for index, (score, spread) in enumerate(zip(scores, varieties)):
        values = {SCORE: score}
        if spread is not None:
            values[VARIETY_NAME] = spread
        stream.append(ev.MetricMeasured(name="kid", step=100 * (index + 1), epoch=index, elapsed_seconds=180.0 * index,
                                        values=values))
    return stream


def warnings_of(stream, watch=None):
    watch = watch or QualityWatch(SCORE)
    return [(index, warning.message) for index, measured in enumerate(stream) for warning in watch.observe(measured)]


def test_eight_checks_without_progress_say_once_that_it_is_a_good_time_to_stop():
    # Falling to 40 by the fifth check, then 12 checks that wander within the noise (KID varies by 3-10 by chance).
    said = warnings_of(checks([400, 200, 100, 60, 40, 44, 36, 41, 33, 38, 45, 35, 39, 42, 37, 40, 36]))
    assert len(said) == 1
    index, message = said[0]
    assert index == 4 + 8  # the eighth check after the best (index 4)
    assert message.startswith("Quality has not improved for 8 checks: a good time to stop.")
    assert "epoch 4 (KID ×10³ 40.0)" in message


def test_a_run_that_keeps_improving_is_never_told_to_stop():
    assert warnings_of(checks([800 * 0.85 ** index for index in range(30)])) == []


def test_slow_progress_counts_once_it_adds_up_past_the_noise():
    # Down 3 a check: no single check beats the best by the noise floor of 10, but every fourth does so in all.
    assert warnings_of(checks([100 - 3 * index for index in range(30)])) == []


def test_improving_after_the_warning_rearms_it_and_it_is_said_again_after_eight_more():
    scores = [50] + [55] * 8 + [20] + [22] * 8
    said = warnings_of(checks(scores))
    assert [index for index, _ in said] == [8, 17]


def test_higher_is_better_scores_improve_upwards():
    watch = QualityWatch("accuracy", higher_is_better=True, noise_floor=0.01, relative_noise=0.0)
    stream = [ev.MetricMeasured(name="toy", step=index, epoch=index, elapsed_seconds=0.0,
                                values={"accuracy": 0.5 + 0.05 * index}) for index in range(12)]
    assert warnings_of(stream, watch) == []
    flat = [ev.MetricMeasured(name="toy", step=index, epoch=index, elapsed_seconds=0.0, values={"accuracy": 0.5})
            for index in range(9)]
    assert len(warnings_of(flat, QualityWatch("accuracy", higher_is_better=True))) == 1


def test_a_failed_check_says_nothing():
    assert warnings_of(checks([float("nan")] * 12)) == []


def test_variety_collapsing_is_said_once_after_two_low_checks():
    varieties = [0.05, 0.3, 0.7, 0.8, 0.75, 0.3, 0.1, 0.05, 0.04, 0.03]
    said = warnings_of(checks([800 * 0.8 ** index for index in range(10)], varieties))
    assert len(said) == 1
    index, message = said[0]
    assert index == 6  # 0.3 then 0.1: two checks running below 0.4 and under half the highest (0.8)
    assert message.startswith("Samples are losing variety: at step 700 they spread 10% as widely as the training "
                              "pictures (at most 80% earlier)")


def test_a_generator_never_varied_is_not_said_to_lose_variety():
    # An untrained generator's noise spreads about 2% as widely as real pictures; that is not a fall.
    assert warnings_of(checks([900 * 0.8 ** index for index in range(10)], [0.02, 0.02, 0.03, 0.02, 0.03] * 2)) == []


def test_one_low_check_is_chance_and_recovery_rearms_the_warning():
    varieties = [0.8, 0.3, 0.8, 0.3, 0.2, 0.8, 0.8, 0.3, 0.2]
    said = warnings_of(checks([100 - 20 * index for index in range(9)], varieties))
    assert [index for index, _ in said] == [4, 8]


def best_event(step=4960, epoch=31, score=12.34):
    return ev.BestCheckpoint(step=step, epoch=epoch, score_name=SCORE, score=score, path="/runs/a/checkpoints/best.pt")


def test_the_best_so_far_is_replayed_from_metrics_jsonl(tmp_path):
    sink = JsonlSink(tmp_path / "metrics.jsonl")
    for event in (best_event(step=100, epoch=1, score=300.0), best_event()):
        sink(event)
    sink.close()
    history = replay_run(tmp_path / "metrics.jsonl")
    assert (history.best.step, history.best.epoch, history.best.score_name, history.best.score) == (4960, 31, SCORE,
                                                                                                  12.34)
    assert json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])["event"] == "best"
    assert replay_events([]).best is None


def test_the_console_says_the_best_so_far():
    stream = io.StringIO()
    ConsoleSink(stream)(best_event())
    assert stream.getvalue().strip() == ("Best so far: epoch 31 (KID ×10³ 12.3), step 4,960, kept as "
                                        "checkpoints/best.pt")


def test_a_run_emits_its_best_checkpoint_as_lineage_records_it(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(kid, "CPU_SAMPLE_COUNT", 16)
    monkeypatch.setattr(kid, "CPU_REAL_COUNT", 16)
    monkeypatch.setattr(kid.KernelDistance, "every_seconds", 0.0)
    monkeypatch.setattr(kid.KernelDistance, "every_epochs", 1)
    config = tiny_config(tiny_dataset, tmp_path / "run", epochs=3)
    config.run.metrics = ["kid"]
    sink = ListSink()
    engine.run(config.validate(), sink)
    measured = sink.of(ev.MetricMeasured)
    bests = sink.of(ev.BestCheckpoint)
    assert measured and bests and all(VARIETY_NAME in event.values for event in measured)
    scores = [event.values[SCORE] for event in measured]
    assert [best.score for best in bests] == [score for index, score in enumerate(scores)
                                              if score < min(scores[:index], default=float("inf"))]
    lineage = json.loads(RunFolder(tmp_path / "run").lineage_path.read_text())
    assert lineage["best"]["step"] == bests[-1].step and lineage["best"]["score"] == pytest.approx(bests[-1].score)
    assert replay_run(RunFolder(tmp_path / "run").metrics_path).best.step == bests[-1].step


def test_the_health_line_reaches_the_run_and_a_continue_counts_on_from_its_history(tiny_dataset, tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setattr(kid, "CPU_SAMPLE_COUNT", 16)
    monkeypatch.setattr(kid, "CPU_REAL_COUNT", 16)
    monkeypatch.setattr(kid.KernelDistance, "every_seconds", 0.0)
    monkeypatch.setattr(kid.KernelDistance, "every_epochs", 1)
    # No check counts as progress (a noise floor of 10^9). How many checks a run takes depends on the machine: a
    # check still running when the next is due is skipped. So the first run never warns, and the continue warns
    # at as many checks after the best as the first run had in all: only if it counts on from the first run's.
    stall = {"checks": 10 ** 6}
    monkeypatch.setattr(engine, "QualityWatch", lambda name, higher_is_better: QualityWatch(
        name, higher_is_better, stall_checks=stall["checks"], noise_floor=1e9))
    config = tiny_config(tiny_dataset, tmp_path / "run", epochs=2)
    config.run.metrics = ["kid"]
    first = ListSink()
    engine.run(config.validate(), first)
    stall["checks"] = len(first.of(ev.MetricMeasured))
    assert stall["checks"] >= 1
    continued = ListSink()
    engine.resume(tmp_path / "run", continued, epochs=3)  # one more epoch: one check
    assert len(continued.of(ev.MetricMeasured)) == 1
    said = [w.message for w in continued.of(ev.Warning) if w.message.startswith("Quality has not improved")]
    # Starting afresh, the continue's one check would be its best, and nothing would be said.
    assert len(said) == 1 and said[0].startswith(f"Quality has not improved for {stall['checks']} check")
    assert any(w.message == said[0] for w in replay_run(RunFolder(tmp_path / "run").metrics_path).warnings)
