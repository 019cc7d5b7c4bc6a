"""Checkpoints open without running code, refuse damaged or foreign files plainly, and are written atomically."""

from __future__ import annotations

import os

import pytest
import torch

from ganstudio.core import fileio
from ganstudio.core.checkpoint import load_checkpoint, save_checkpoint
from ganstudio.core.errors import CheckpointError, TrainingDiverged


class Payload:
    """Unpickling this would run code; weights_only loading must refuse before it happens."""

    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def good_state() -> dict:
    return {"model": "dcgan", "recipe": {"weights": torch.ones(3)}, "counters": {"step": 1}}


def test_roundtrip(tmp_path):
    path = tmp_path / "step_1.pt"
    save_checkpoint(path, good_state())
    loaded = load_checkpoint(path)
    assert torch.equal(loaded["recipe"]["weights"], torch.ones(3)) and loaded["format"] == "ganstudio-checkpoint"


def test_a_pickled_object_is_refused_without_running_it(tmp_path, monkeypatch):
    path = tmp_path / "evil.pt"
    torch.save({"format": "ganstudio-checkpoint", "x": Payload()}, path)
    called = []
    monkeypatch.setattr(os, "system", lambda command: called.append(command))
    with pytest.raises(CheckpointError, match="could run code"):
        load_checkpoint(path)
    assert called == []


@pytest.mark.parametrize("content, message", [
    (b"<!DOCTYPE html><html>Sign in to download</html>", "is a web page"),
    (b"", "is empty"),
    (b"conv.weight = 0.1\n", "is a text file"),
])
def test_junk_files_are_refused_plainly(tmp_path, content, message):
    path = tmp_path / "weights.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_truncated_checkpoint_is_refused(tmp_path):
    path = tmp_path / "step_1.pt"
    save_checkpoint(path, good_state())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="damaged or incomplete"):
        load_checkpoint(path)


def test_foreign_but_safe_file_is_refused(tmp_path):
    path = tmp_path / "plain.pt"
    torch.save({"conv.weight": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="not a GAN Studio checkpoint"):
        load_checkpoint(path)


def test_non_finite_weights_are_never_written(tmp_path):
    path = tmp_path / "step_2.pt"
    save_checkpoint(path, good_state())
    before = path.read_bytes()
    bad = good_state()
    bad["recipe"]["weights"][1] = float("inf")
    with pytest.raises(TrainingDiverged):
        save_checkpoint(path, bad)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["step_2.pt"]


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_litter(tmp_path, monkeypatch):
    path = tmp_path / "step_3.pt"
    save_checkpoint(path, good_state())
    before = path.read_bytes()

    def failing_save(obj, handle, *args, **kwargs):
        handle.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError):
        save_checkpoint(path, good_state())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["step_3.pt"]


def test_atomic_text_write(tmp_path):
    target = tmp_path / "config.json"
    fileio.atomic_write_text(target, "one")
    fileio.atomic_write_text(target, "two")
    assert target.read_text() == "two" and len(list(tmp_path.iterdir())) == 1


def test_every_torch_load_in_the_package_is_weights_only():
    import re
    from pathlib import Path
    import ganstudio
    calls = []
    for path in Path(ganstudio.__file__).parent.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"torch\.load\(", text):
            depth, end = 0, match.end() - 1
            for end in range(match.end() - 1, len(text)):
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                if depth == 0:
                    break
            calls.append((path.name, text[match.start():end + 1]))
    assert calls, "the package loads checkpoints somewhere"
    for name, call in calls:
        assert "weights_only=True" in call, f"{name}: {call}"


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_respect_the_umask(tmp_path, monkeypatch, umask, mode):
    monkeypatch.setattr(fileio, "_umask", umask)  # as process_umask read it at the first write
    target = tmp_path / "export.png"
    fileio.atomic_write_bytes(target, b"picture")
    assert target.stat().st_mode & 0o777 == mode
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file is left"


def test_the_umask_is_read_without_changing_it():
    before = os.umask(0o027)
    try:
        fileio._umask = None
        assert fileio.process_umask() == 0o027
        assert os.umask(0o027) == 0o027, "put back as it was"
    finally:
        os.umask(before)
        fileio._umask = None
