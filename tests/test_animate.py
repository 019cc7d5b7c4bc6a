"""ganstudio animate and the core morph behind it: a loop from seed A to B and back, GIF or MP4, plain refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence

from conftest import train_tiny_run
from ganstudio import __version__
from ganstudio.cli import build_parser, main
from ganstudio.core import animation, engine
from ganstudio.core.animation import enlarge_frames, find_ffmpeg, loop_latents, morph_frames
from ganstudio.core.generate import load_generator
from test_cli import ganstudio
from test_cyclegan_cli import command
from test_cyclegan_training import cyclegan_config, two_domains


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A 32-pixel DCGAN trained six steps: enough for pictures that differ from seed to seed."""
    return train_tiny_run(tmp_path_factory, "animate", steps=6)


def gif_frames(path) -> tuple[list[np.ndarray], dict]:
    with Image.open(path) as gif:
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)], dict(gif.info)


def as_gif_colours(pixels: np.ndarray) -> np.ndarray:
    """A picture enlarged and reduced to 256 colours the way write_gif does, so it can be compared exactly."""
    enlarged = enlarge_frames(pixels[None])[0]
    quantized = Image.fromarray(enlarged).quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                   dither=Image.Dither.NONE)
    return np.asarray(quantized.convert("RGB"))


def test_the_latents_go_there_and_back_without_a_jump():
    start, end = torch.randn(2, 16, generator=torch.Generator().manual_seed(5)).numpy()
    latents = loop_latents(start, end, 6)
    assert latents.shape == (12, 16)
    assert np.array_equal(latents[0], start) and np.array_equal(latents[6], end)
    # The way back retraces the way there: frame 6 + k sits where frame 6 - k did.
    for k in range(1, 6):
        assert np.allclose(latents[6 + k], latents[6 - k], atol=1e-5)
    steps = np.linalg.norm(np.diff(np.concatenate([latents, latents[:1]]), axis=0), axis=1)
    assert steps.max() < 2 * steps.min(), "even steps, the last frame included, so the loop has no jump"


def test_morph_frames_start_on_seed_a_and_turn_on_seed_b(trained_run, monkeypatch):
    generator = load_generator(trained_run, device="cpu")
    whole = morph_frames(generator, 3, 4, 5)
    assert whole.shape == (10, 32, 32, 3) and whole.dtype == np.uint8
    seed_pictures = generator.images_for_seeds([3, 4])
    assert np.array_equal(whole[0], seed_pictures[0]) and np.array_equal(whole[5], seed_pictures[1])
    monkeypatch.setattr(animation, "FRAME_CHUNK", 3)
    told = []
    chunked = morph_frames(generator, 3, 4, 5, progress=lambda done, total: told.append((done, total)))
    assert np.array_equal(chunked, whole), "frames made in chunks are the frames made at once"
    assert told == [(3, 10), (6, 10), (9, 10), (10, 10)]


def test_animate_writes_a_looping_gif_that_starts_on_the_generated_picture(trained_run, tmp_path, capsys):
    out = tmp_path / "made" / "morph.gif"
    result = ganstudio("animate", str(trained_run), "--from-seed", "3", "--to-seed", "4", "--frames", "5",
                       "--fps", "10", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout and "10 frames" in result.stdout
    frames, info = gif_frames(out)
    assert len(frames) == 10 and frames[0].shape == (256, 256, 3)  # 32 px enlarged 8 times
    assert info["loop"] == 0 and info["duration"] == 100  # ms a frame at 10 fps (GIF keeps hundredths)
    code, _, err = command(capsys, "generate", str(trained_run), "--count", "1", "--seed", "3",
                           "--out", str(tmp_path / "pictures"))
    assert code == 0, err
    picture = np.asarray(Image.open(tmp_path / "pictures" / "seed_0000003.png").convert("RGB"))
    assert np.array_equal(frames[0], as_gif_colours(picture))
    assert not np.array_equal(frames[0], frames[5])
    metadata = json.loads(info["comment"])
    assert metadata["run"] == "run" and metadata["step"] == 6 and metadata["model"] == "dcgan"
    assert metadata["seed_from"] == 3 and metadata["seed_to"] == 4 and metadata["frames"] == 10
    assert metadata["app_version"] == __version__


def test_an_existing_file_is_kept_unless_overwrite_is_given(trained_run, tmp_path, capsys):
    out = tmp_path / "morph.gif"
    out.write_bytes(b"precious")
    code, _, err = command(capsys, "animate", str(trained_run), "--from-seed", "1", "--to-seed", "2",
                           "--frames", "2", "--out", str(out), "--device", "cpu")
    assert code == 1 and err.strip() == (f"ganstudio: {out} already exists; pass --overwrite to replace it, "
                                         "or choose another name.")
    assert out.read_bytes() == b"precious"
    code, _, err = command(capsys, "animate", str(trained_run), "--from-seed", "1", "--to-seed", "2",
                           "--frames", "2", "--out", str(out), "--device", "cpu", "--overwrite")
    assert code == 0, err
    assert len(gif_frames(out)[0]) == 4
    assert sorted(path.name for path in tmp_path.iterdir()) == ["morph.gif"], "no scratch file is left behind"


def test_user_errors_are_one_plain_sentence_and_exit_1(trained_run, tmp_path, capsys, monkeypatch):
    base = ["animate", str(trained_run), "--from-seed", "1", "--to-seed", "2", "--device", "cpu"]
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    folder = tmp_path / "folder.gif"
    folder.mkdir()
    for extra, sentence in [
        (["--out", str(tmp_path / "morph.webm")],
         "An animation is written as .gif or .mp4, not .webm; name it morph.gif or morph.mp4."),
        (["--out", str(tmp_path / "morph")],
         "An animation is written as .gif or .mp4, not a name without a suffix; name it morph.gif or morph.mp4."),
        (["--frames", "1", "--out", str(tmp_path / "m.gif")], "An animation needs at least 2 frames each way, not 1."),
        (["--out", str(blocker / "m.gif")], f"The folder {blocker} could not be created"),
        (["--out", str(folder)], f"{folder} is a folder; name a file ending .gif or .mp4"),
    ]:
        code, out, err = command(capsys, *base, *extra)
        assert code == 1 and err.startswith(f"ganstudio: {sentence}"), (extra, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, _, err = command(capsys, "animate", str(tmp_path), "--from-seed", "1", "--to-seed", "2",
                           "--out", str(tmp_path / "m.gif"))
    assert code == 1 and "is not a GAN Studio run folder" in err
    monkeypatch.setattr(animation, "find_ffmpeg", lambda: None)
    code, _, err = command(capsys, *base, "--out", str(tmp_path / "m.mp4"))
    assert code == 1 and "install ffmpeg" in err and "write a .gif instead" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file", "folder.gif"], "nothing written on a refusal"
    assert list(folder.iterdir()) == []


def test_an_image_to_image_run_is_refused_plainly(tmp_path, capsys):
    domain_a, domain_b = two_domains(tmp_path)
    run_dir = tmp_path / "cyclegan-run"
    engine.run(cyclegan_config(domain_a, domain_b, run_dir, steps=1))
    code, _, err = command(capsys, "animate", str(run_dir), "--from-seed", "1", "--to-seed", "2",
                           "--out", str(tmp_path / "m.gif"), "--device", "cpu")
    assert code == 1 and "is from an image-to-image run" in err and "ganstudio translate" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "m.gif").exists()


@pytest.mark.parametrize("argv", [
    ["animate", "run", "--to-seed", "2", "--out", "m.gif"],
    ["animate", "run", "--from-seed", "1", "--to-seed", "2"],
    ["animate", "run", "--from-seed", "1", "--to-seed", "2", "--out", "m.gif", "--frames", "many"],
    ["animate", "run", "--from-seed", "-1", "--to-seed", "2", "--out", "m.gif"],
    ["animate", "run", "--from-seed", "1", "--to-seed", "2", "--out", "m.gif", "--fps", "0"],
    ["animate", "run", "--from-seed", "1", "--to-seed", "2", "--out", "m.gif", "--device", "tpu"],
], ids=["no-from-seed", "no-out", "frames-not-a-number", "negative-seed", "zero-fps", "unknown-device"])
def test_usage_errors_exit_2(capsys, argv):
    code, _, err = command(capsys, *argv)
    assert code == 2 and "usage:" in err


def test_the_command_line_defaults_are_the_pages():
    args = build_parser().parse_args(["animate", "run", "--from-seed", "1", "--to-seed", "2", "--out", "m.gif"])
    assert args.frames == animation.DEFAULT_FRAMES_EACH_WAY and args.fps == animation.DEFAULT_FPS
    assert not args.overwrite and args.device == "auto" and args.checkpoint is None


@pytest.mark.skipif(find_ffmpeg() is None, reason="needs an ffmpeg program; none is on the PATH here")
def test_animate_writes_an_mp4_when_ffmpeg_is_here(trained_run, tmp_path, capsys):
    out = tmp_path / "morph.mp4"
    code, _, err = command(capsys, "animate", str(trained_run), "--from-seed", "3", "--to-seed", "4",
                           "--frames", "3", "--out", str(out), "--device", "cpu")
    assert code == 0, err
    data = out.read_bytes()
    assert data[4:8] == b"ftyp" and len(data) > 1000
    assert b'"seed_from": 3' in data, "the metadata travels in the comment"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["morph.mp4"]
