"""Best so far and the health line where the user looks: above the Train page's gallery while a run trains, in the
Runs page's details of a finished run (from checkpoints/lineage.json), and the health warning in the banner."""

from __future__ import annotations

import json

from conftest import tiny_config
from gui_helpers import FakeEngine
from ganstudio.core import events as ev
from ganstudio.core.runs import RunFolder
from ganstudio.core.sinks import JsonlSink

HEALTH = "Quality has not improved for 8 checks: a good time to stop."


class ScoringFakeEngine(FakeEngine):
    """FakeEngine whose run marks the checkpoint of step 10 (epoch 2) best, as the engine and checkpointer do, and
    says the health line at epoch 3; its events also go to metrics.jsonl."""

    def run(self, config, sink, control, start_step: int = 0):
        folder = RunFolder(config.run.dir)
        folder.create_folders()
        jsonl = JsonlSink(folder.metrics_path)

        def scoring(event):
            sink(event)
            jsonl(event)
            if isinstance(event, ev.EpochEnded) and event.epoch == 2:
                checkpoint = folder.checkpoint_path(10)
                checkpoint.write_bytes(b"fake")
                for extra in (ev.CheckpointSaved(epoch=2, step=10, path=str(checkpoint), seconds=0.0),
                              ev.BestCheckpoint(step=10, epoch=2, score_name="KID ×10³", score=12.34,
                                                path=str(folder.checkpoints_dir / "best.pt"))):
                    sink(extra)
                    jsonl(extra)
                (folder.checkpoints_dir / "best.pt").write_bytes(b"fake")
                folder.lineage_path.write_text(json.dumps({"checkpoints": [checkpoint.name], "best": {
                    "checkpoint": checkpoint.name, "step": 10, "score_name": "KID ×10³", "score": 12.34}}))
            if isinstance(event, ev.EpochEnded) and event.epoch == 3:
                sink(ev.Warning(message=HEALTH))

        try:
            return super().run(config, scoring, control, start_step=start_step)
        finally:
            jsonl.close()


def test_the_train_page_shows_the_best_so_far_and_the_health_line(qtbot, make_window, tmp_path):
    window = make_window(dataset=None, engine=ScoringFakeEngine())
    page, session = window.train_page, window.workspace.session
    assert page.best_label.text() == ""
    shown = []  # the banner as the warning arrives (connected after the page, so its slot has run); the run's end
    session.warning_raised.connect(lambda event: shown.append(page.banner.message()))  # says "Finished" over it
    with qtbot.waitSignal(session.run_finished, timeout=30_000):
        assert session.start(tiny_config(tmp_path, tmp_path / "run", steps=20))
    qtbot.waitUntil(lambda: not session.busy, timeout=10_000)
    assert page.best_label.text() == "Best so far: epoch 2 (KID ×10³ 12.3)"
    assert len(shown) == 1 and HEALTH in shown[0]


def test_the_runs_page_shows_a_finished_runs_best_from_its_lineage(qtbot, make_window, tmp_path):
    window = make_window(dataset=None, engine=ScoringFakeEngine())
    session, runs_page = window.workspace.session, window.runs_page
    with qtbot.waitSignal(session.run_finished, timeout=30_000):
        assert session.start(tiny_config(tmp_path, tmp_path / "run", steps=20))
    qtbot.waitUntil(lambda: not session.busy, timeout=10_000)
    with qtbot.waitSignal(runs_page.details_shown, timeout=20_000):
        assert runs_page.open_folder(str(tmp_path / "run"))
    assert "Best so far: epoch 2 (KID ×10³ 12.3), kept as checkpoints/best.pt" in runs_page.detail_text.text()

    (tmp_path / "run" / "checkpoints" / "best.pt").unlink()  # a best.pt removed by hand is no longer claimed
    with qtbot.waitSignal(runs_page.details_shown, timeout=20_000):
        runs_page.show_run(str(tmp_path / "run"))
    assert "Best so far" not in runs_page.detail_text.text()
