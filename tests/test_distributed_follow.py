"""The app follows a run that another process is writing (the command line, torchrun's rank 0): plot and gallery move."""

from __future__ import annotations

import numpy as np

from ganstudio.core import events as ev
from ganstudio.core.export import save_png
from ganstudio.core.sinks import JsonlSink
from ganstudio.gui.pages import runs_page as runs_page_module
from test_gui_replay import LOSS_NAMES, gallery_steps, plotted, write_segment
from conftest import tiny_config
from ganstudio.core.runs import RunFolder

FOLLOW_MS = 20  # the page's poll, shortened: the test waits on the page's own signal, not on a clock


def test_a_run_being_written_is_followed_until_it_finishes(make_window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(runs_page_module, "FOLLOW_INTERVAL_MS", FOLLOW_MS)
    folder = RunFolder(tmp_path / "run")
    folder.create_folders()
    folder.config_path.write_text(tiny_config(tmp_path, folder.path, steps=400).to_json(), encoding="utf-8")
    jsonl = JsonlSink(folder.metrics_path)
    write_segment(folder, jsonl, 1, 0, 100)  # training under way: no RunFinished yet
    jsonl.close()

    page = make_window(dataset=None).runs_page
    with qtbot.waitSignal(page.details_shown, timeout=20_000):
        assert page.open_folder(str(folder.path))
    assert len(plotted(page.plot)[LOSS_NAMES[0]][0]) == 10 and gallery_steps(page.gallery) == [50, 100]
    assert page.following

    # The other process goes on writing: ten more step events and a grid.
    jsonl = JsonlSink(folder.metrics_path)
    with qtbot.waitSignal(page.details_shown, timeout=20_000):
        for step in range(110, 201, 10):
            jsonl(ev.StepProgress(step=step, epoch=step // 5, epoch_fraction=0.0, images_seen=step * 8,
                                  images_per_second=400.0, elapsed_seconds=step * 0.02, eta_seconds=None,
                                  losses=dict.fromkeys(LOSS_NAMES, 1.0), stats={"D(x)": 0.5, "D(G(z))": 0.5}))
        grid = folder.samples_dir / "epoch_0030.png"
        save_png(grid, np.full((34, 34, 3), 200, np.uint8))
        jsonl(ev.SamplesSaved(epoch=30, step=150, path=str(grid)))
        jsonl.close()
    qtbot.waitUntil(lambda: len(plotted(page.plot)[LOSS_NAMES[0]][0]) == 20
                    and gallery_steps(page.gallery) == [50, 100, 150], timeout=20_000)

    jsonl = JsonlSink(folder.metrics_path)
    with qtbot.waitSignal(page.details_shown, timeout=20_000):
        jsonl(ev.RunFinished(reason="completed", step=200, epoch=40, checkpoint=None, run_dir=str(folder.path)))
        jsonl.close()
    assert not page.following
