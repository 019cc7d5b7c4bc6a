"""Checkpoints are verified before they are trusted: a flipped byte or a NaN weight is refused with one sentence
that names the run's newest intact checkpoint before it, and no picture is written from a bad generator."""

from __future__ import annotations

import struct
import zipfile

import pytest
import torch

from conftest import resave_checkpoint, tiny_config
from ganstudio.core import engine
from ganstudio.core.checkpoint import DIGEST_KEY, load_checkpoint, state_digest
from ganstudio.core.errors import CheckpointError, GanStudioError, TrainingDiverged
from ganstudio.core.generate import load_generator, write_seed_images
from ganstudio.core.imaging import to_uint8_images
from ganstudio.core.runs import RunFolder
from test_cli import ganstudio


@pytest.fixture
def two_checkpoints(tiny_dataset, tmp_path):
    config = tiny_config(tiny_dataset, tmp_path / "run", steps=10)  # five steps an epoch
    config.run.checkpoint_every_minutes = 1e-9
    engine.run(config)
    folder = RunFolder(tmp_path / "run")
    assert [step for step, _ in folder.checkpoints()] == [5, 10]
    return folder


def flip_a_byte_in_the_largest_tensor(path) -> None:
    """Change one byte inside a tensor's stored data, as a bad disk or copy would; torch reads it without a word."""
    with zipfile.ZipFile(path) as archive:
        entry = max((info for info in archive.infolist() if "/data/" in info.filename), key=lambda i: i.file_size)
        assert entry.compress_type == zipfile.ZIP_STORED
    with open(path, "r+b") as handle:
        handle.seek(entry.header_offset + 26)
        name_length, extra_length = struct.unpack("<HH", handle.read(4))
        where = entry.header_offset + 30 + name_length + extra_length + entry.file_size // 2
        handle.seek(where)
        byte = handle.read(1)[0]
        handle.seek(where)
        handle.write(bytes([byte ^ 0x10]))


def test_a_checkpoint_carries_a_checksum_of_all_its_contents(two_checkpoints):
    path = two_checkpoints.latest_checkpoint()
    body = torch.load(path, weights_only=True)
    written = body.pop(DIGEST_KEY)
    assert written == state_digest(body)
    weight = next(iter(body["recipe"]["generator"].values()))
    weight[(0,) * weight.dim()] += 1e-3
    assert state_digest(body) != written


def test_a_flipped_byte_is_refused_and_the_earlier_checkpoint_offered(two_checkpoints, capsys):
    folder = two_checkpoints
    latest = folder.latest_checkpoint()
    flip_a_byte_in_the_largest_tensor(latest)
    torch.load(latest, weights_only=True)  # torch itself notices nothing
    with pytest.raises(CheckpointError, match="step_000000010.pt is damaged.*step_000000005.pt, before it, is intact"):
        engine.resume(folder.path, steps=12)
    with pytest.raises(CheckpointError, match="is damaged"):
        load_generator(folder.path)
    result = ganstudio("generate", str(folder.path), "--count", "2", "--seed", "0", "--out", str(folder.path / "x"))
    assert result.returncode == 1 and "is damaged" in result.stderr and "Traceback" not in result.stderr
    assert not (folder.path / "x").exists() or not list((folder.path / "x").iterdir())
    assert engine.resume(folder.path, steps=12, checkpoint=folder.checkpoint_path(5)).step == 12, \
        "the offered checkpoint continues"


def test_a_nan_checkpoint_is_refused_for_resume_and_generate(two_checkpoints):
    folder = two_checkpoints
    latest = folder.latest_checkpoint()
    body = torch.load(latest, weights_only=True)
    weight = next(iter(body["recipe"]["generator"].values()))
    weight[(0,) * weight.dim()] = float("nan")
    resave_checkpoint(latest, body)  # a checkpoint written as it is, NaN and all
    with pytest.raises(CheckpointError, match="NaN or infinite.*training cannot continue.*step_000000005.pt"):
        load_checkpoint(latest, for_training=True)
    with pytest.raises(CheckpointError, match="NaN or infinite.*cannot make pictures"):
        load_generator(folder.path)


def test_no_picture_is_written_from_a_generator_that_makes_nan(two_checkpoints, tmp_path, monkeypatch):
    generator = load_generator(two_checkpoints.path)
    monkeypatch.setattr(generator.recipe, "generate",
                        lambda latents: to_uint8_images(torch.full((len(latents), 3, 32, 32), float("nan"))))
    with pytest.raises(GanStudioError, match="NaN or infinite values, so none was written"):
        write_seed_images(generator, [1, 2, 3], tmp_path / "out")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_divergence_advice_names_what_the_commands_accept():
    with pytest.raises(TrainingDiverged) as raised:
        to_uint8_images(torch.tensor([[[[float("inf")]]] * 3]).view(1, 3, 1, 1))
    assert "earlier checkpoint" in str(raised.value)
    from ganstudio.core.checkpoint import DIVERGENCE_ADVICE
    assert "--lr-g" in DIVERGENCE_ADVICE and "resume" not in DIVERGENCE_ADVICE
