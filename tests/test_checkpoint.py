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
    """Every part a checkpoint holds, small: what resume, generate and translate read."""
    return {"model": "dcgan", "config": {"model": {"name": "dcgan"}},
            "recipe": {"weights": torch.ones(3), "optimizer_g": {"state": {}, "param_groups": []}},
            "counters": {"step": 1, "epoch": 0, "position": 1, "images_seen": 8, "train_seconds": 0.5},
            "data": {"domains": [{"position": 1, "count": 40}]},
            "history": {"names": ["G/adv"], "values": torch.zeros(1, 1)},
            "rng": {"python": (3, (0,) * 625, None), "numpy": {}, "torch": torch.get_rng_state()}}


def without(state: dict, piece: tuple[str, ...]) -> dict:
    holder = state
    for key in piece[:-1]:
        holder = holder[key]
    del holder[piece[-1]]
    return state


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


# Every part training reads, each left out in turn: a sentence naming it, never a KeyError.
TRAINING_PARTS = [
    (("counters",), "its training counters"), (("rng",), "random number generators"),
    (("data",), "the order of its pictures"), (("history",), "its loss history"),
    (("recipe",), "the weights of its model"), (("model",), "the name of its model"),
    (("config",), "the settings of its run"), (("counters", "position"), "the position among its training counters"),
    (("counters", "train_seconds"), "the train seconds"), (("rng", "torch"), "its torch random number generator"),
    (("data", "domains"), "the order of its pictures"), (("history", "values"), "its loss history"),
    (("recipe", "optimizer_g", "param_groups"), "its optimiser optimizer_g"),
]


@pytest.mark.parametrize("piece, named", TRAINING_PARTS, ids=["/".join(p) for p, _ in TRAINING_PARTS])
def test_a_checkpoint_missing_a_part_is_one_sentence_naming_it(tmp_path, piece, named):
    path = tmp_path / "step_000000001.pt"
    save_checkpoint(path, without(good_state(), piece))
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(path, for_training=True)
    message = str(raised.value)
    assert named in message and "step_000000001.pt is incomplete" in message
    assert "earlier checkpoint" in message and "\n" not in message


def test_generating_reads_less_than_training(tmp_path):
    path = tmp_path / "step_000000001.pt"
    save_checkpoint(path, without(without(good_state(), ("rng",)), ("history",)))
    assert load_checkpoint(path)["counters"]["step"] == 1, "generate needs no RNG state or loss history"
    save_checkpoint(path, without(good_state(), ("counters", "epoch")))
    with pytest.raises(CheckpointError, match="lacks the epoch among its training counters, so it cannot be opened"):
        load_checkpoint(path)


def test_a_part_of_the_wrong_kind_counts_as_missing(tmp_path):
    path = tmp_path / "step_000000001.pt"
    state = good_state()
    state["counters"] = [1, 0]
    save_checkpoint(path, state)
    with pytest.raises(CheckpointError, match="lacks its training counters"):
        load_checkpoint(path)


def raw_save(path, version) -> None:
    body = {"format": "ganstudio-checkpoint", "app_version": "9.0", **good_state()}
    if version is not None:
        body["format_version"] = version
    torch.save(body, path)


def test_a_checkpoint_from_a_newer_version_asks_for_an_update(tmp_path):
    path = tmp_path / "step_1.pt"
    raw_save(path, 2)
    with pytest.raises(CheckpointError, match="written by a newer GAN Studio .9.0.; update to open it"):
        load_checkpoint(path)


@pytest.mark.parametrize("version", [0, -3, None, "1", True, 1.0], ids=str)
def test_a_format_version_no_gan_studio_wrote_is_refused_plainly(tmp_path, version):
    path = tmp_path / "step_1.pt"
    raw_save(path, version)
    with pytest.raises(CheckpointError, match="carries no checkpoint format version GAN Studio ever wrote"):
        load_checkpoint(path)


def test_the_checkpointer_never_makes_a_checkpoint_resume_would_refuse_the_newest(tmp_path):
    from ganstudio.core.runs import RunFolder
    from ganstudio.core.training.checkpointer import Checkpointer
    folder = RunFolder(tmp_path / "run")
    folder.create_folders()
    checkpointer = Checkpointer(folder, keep=2, resumed_from=None)
    checkpointer.save(good_state(), step=1)
    with pytest.raises(CheckpointError, match="read back without its loss history; the last good checkpoint is kept"):
        checkpointer.save(without(good_state(), ("history",)) | {"counters": {**good_state()["counters"], "step": 2}}, 2)
    assert folder.latest_checkpoint() == folder.checkpoint_path(1)
