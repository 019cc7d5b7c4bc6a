"""Closing the app: the window says it is saving while a run stops, and SIGTERM saves and exits with code 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import tiny_config
from ganstudio.core.runs import RunFolder
from ganstudio.gui.main_window import STOPPING_WORDS
from gui_helpers import FakeEngine

TESTS = Path(__file__).resolve().parent
HANG_TIMEOUT_S = 180  # waits are on conditions (a line printed, the process ending); this only ends a hang


def test_closing_while_training_says_it_is_saving_until_it_has(qtbot, make_window, tiny_dataset, tmp_path):
    window = make_window(dataset=tiny_dataset, engine=FakeEngine(steps=50, hold_at_step=3))
    page, session = window.train_page, window.workspace.session
    with qtbot.waitSignal(session.steps_progressed, timeout=10_000):
        assert session.start(tiny_config(tiny_dataset, tmp_path / "run", steps=50), owner="train")
    assert not window.close(), "the window stays while the checkpoint is written"
    assert window.isVisible() and window.windowTitle() == STOPPING_WORDS
    assert page.progress_text.text().startswith(STOPPING_WORDS)
    assert window.status_text.text().startswith(STOPPING_WORDS)
    assert window.training_badge.text() == f"● {STOPPING_WORDS}"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert RunFolder(tmp_path / "run").checkpoints(), "it closed once the checkpoint was there"


CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from conftest import tiny_config
from ganstudio.gui import app

def opened(window):
    print("shown", flush=True)
    if {train!r}:
        session = window.workspace.session
        said = []
        def training(steps):
            if not said:
                said.append(True)
                print("training", flush=True)
        session.steps_progressed.connect(training)
        window.train_page.start(tiny_config(Path({data!r}), Path({run!r}), steps=1_000_000))

sys.exit(app.main([], on_open=opened))
"""


def start_app(train: bool, data: Path, run: Path) -> subprocess.Popen:
    script = CHILD.format(tests=str(TESTS), train=train, data=str(data), run=str(run))
    # The data folder (and with it the settings) is the test's own: conftest's private_app_folders.
    environ = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=environ, cwd=TESTS.parent)


def wait_for_line(process: subprocess.Popen, wanted: str) -> None:
    for line in process.stdout:  # blocks until the child prints; no polling
        if line.strip() == wanted:
            return
    pytest.fail(f"the app ended before saying {wanted!r}: {process.stderr.read()[-2000:]}")


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("training", [True, False], ids=["training", "idle"])
def test_sigterm_saves_the_run_and_exits_with_code_zero(tmp_path, tiny_dataset, training):
    run = tmp_path / "run"
    process = start_app(training, tiny_dataset, run)
    try:
        wait_for_line(process, "training" if training else "shown")
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=HANG_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 0, process.stderr.read()[-2000:]
    if training:
        assert RunFolder(run).checkpoints(), "the run was saved before the app exited"
        records = [json.loads(line) for line in RunFolder(run).metrics_path.read_text().splitlines()]
        assert records[-1]["event"] == "finished" and records[-1]["reason"] == "stopped"
