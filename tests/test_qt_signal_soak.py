"""PySide6 6.12.0 under Python 3.11 leaks a reference to True per signal emit and aborts; ours must not."""

from __future__ import annotations

import subprocess
import sys

SOAK = """
import os
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QCoreApplication, QObject, Signal

class Emitter(QObject):
    happened = Signal(bool)
    counted = Signal(int, str)

app = QCoreApplication([])
emitter = Emitter()
received = []
emitter.happened.connect(lambda flag: received.append(flag))
emitter.counted.connect(lambda number, text: None)
for index in range(100_000):
    emitter.happened.emit(True)
    emitter.counted.emit(index, "x")
    emitter.blockSignals(False)
assert len(received) == 100_000
print("ok")
"""


def test_one_hundred_thousand_emits_do_not_crash_the_interpreter():
    result = subprocess.run([sys.executable, "-c", SOAK], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    assert result.stdout.strip() == "ok"
