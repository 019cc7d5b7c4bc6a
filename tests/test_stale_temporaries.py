"""Saves killed midway leave temporary files; opening the run removes the stale ones and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import tiny_config
from ganstudio.core import engine
from ganstudio.core.runs import STALE_TEMPORARY_SECONDS, RunFolder

# The save is killed the way a power cut or SIGKILL kills it: after writing part of the file, before the rename.
KILLED_SAVE = """
import os, signal, sys
from ganstudio.core.fileio import atomic_save

def half_then_killed(handle):
    handle.write(b"half a checkpoint" * 1000)
    handle.flush()
    os.kill(os.getpid(), signal.SIGKILL)

atomic_save(sys.argv[1], half_then_killed)
"""


def killed_save(target: Path) -> Path:
    """The temporary file a save of `target` killed midway really leaves behind."""
    before = set(target.parent.iterdir())
    result = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(target)], capture_output=True, timeout=600)
    assert result.returncode == -9, result.stderr
    (left,) = set(target.parent.iterdir()) - before
    return left


def aged(path: Path, seconds: float) -> Path:
    if not path.exists():
        path.write_text("a user's own file")
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_opening_a_run_removes_what_killed_saves_left_and_keeps_the_rest(tiny_dataset, tmp_path):
    run_dir = tmp_path / "run"
    engine.run(tiny_config(tiny_dataset, run_dir, steps=5))
    folder = RunFolder(run_dir)
    stale = [aged(killed_save(target), STALE_TEMPORARY_SECONDS + 60) for target in (
        folder.checkpoint_path(9), folder.samples_dir / "step_000000009.png", folder.exports_dir / "generator.pth",
        folder.metrics_path, folder.lineage_path)]
    assert stale[0].name.startswith(".step_000000009.pt.") and stale[0].name.endswith(".tmp")
    being_written = killed_save(folder.checkpoint_path(10))  # as another process's save in progress looks
    users_own = [aged(folder.path / name, STALE_TEMPORARY_SECONDS + 60)
                 for name in (".notes.tmp", "notes.tmp", ".draft.txt.tmp", "step_000000009.pt.abcdefgh.tmp")]
    a_folder = folder.checkpoints_dir / ".step_000000011.pt.abcdefgh.tmp"
    a_folder.mkdir()
    aged(a_folder, STALE_TEMPORARY_SECONDS + 60)

    engine.resume(run_dir, steps=6)
    assert [path for path in stale if path.exists()] == []
    assert being_written.exists(), "a temporary still changing may belong to a live writer"
    assert all(path.exists() for path in users_own), "only our own temporaries' names are removed"
    assert a_folder.is_dir()


def test_a_temporary_just_short_of_stale_is_kept(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.create_folders()
    left = killed_save(folder.checkpoint_path(3))
    written = left.stat().st_mtime
    assert folder.remove_stale_temporaries(now=written + STALE_TEMPORARY_SECONDS - 1) == []
    assert folder.remove_stale_temporaries(now=written + STALE_TEMPORARY_SECONDS + 1) == [left]
    assert not left.exists()
