"""The image-to-image commands as a user types them: train, resume, translate and export-generator, exit codes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from ganstudio.cli import _train_config, build_parser, main
from ganstudio.core.generator_files import open_generator
from ganstudio.core.registry import get_recipe
from ganstudio.core.translate import TrainingScale, open_translator
from test_cli import ganstudio
from test_cyclegan_training import two_domains
from test_generator_files import reference_forward

TINY = ["--size", "32", "--width", "4", "--device", "cpu", "--seed", "3", "--preset", "light"]


def parsed_config(*argv: str):
    return _train_config(build_parser().parse_args(["train", *argv]))


def command(capsys, *argv: str) -> tuple[int, str, str]:
    """The exit code, stdout and stderr of `ganstudio ARGV`, run in this process (start-up costs seconds)."""
    try:
        code = main(list(argv))
    except SystemExit as exit:
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cyclegan_defaults_differ_from_dcgan_only_where_they_should(tmp_path):
    config = parsed_config("--model", "cyclegan", "--data-a", str(tmp_path), "--data-b", str(tmp_path))
    assert (config.data.size, config.train.batch_size, config.model.options) == (128, 0, {"preset": "auto"})
    get_recipe("cyclegan").resolve_config(config, torch.device("cpu"))
    assert config.train.batch_size == 1
    assert config.data.paths == [str(tmp_path)] and config.data.paths_b == [str(tmp_path)]
    config = parsed_config("--model", "cyclegan", "--demo", "--size", "256", "--preset", "default")
    assert (config.data.size, config.model.options["preset"]) == (256, "default")
    dcgan = parsed_config("--demo")
    assert (dcgan.data.size, dcgan.train.batch_size, dcgan.model.options["loss"]) == (64, 0, "nonsat")
    get_recipe("dcgan").resolve_config(dcgan, torch.device("cpu"))
    assert dcgan.train.batch_size == 16


@pytest.mark.parametrize("argv", [
    ["train", "--model", "cyclegan", "--data", "somewhere"],
    ["train", "--model", "cyclegan", "--demo", "--loss", "hinge"],
    ["train", "--demo", "--preset", "light"],
    ["train", "--model", "cyclegan", "--demo", "--preset", "huge"],
    ["translate", "--weights", "x.pth", "--output", "out"],
    ["translate", "--input", "a.png", "--output", "out"],
    ["translate", "--weights", "x", "--run", "y", "--input", "a", "--output", "b"],
    ["translate", "--weights", "x", "--direction", "both", "--input", "a", "--output", "b"],
    ["export-generator", "run"],
], ids=["data-for-two-domains", "other-loss", "preset-for-dcgan", "unknown-preset", "no-input", "no-generator",
        "weights-and-run", "unknown-direction", "no-out"])
def test_usage_errors_exit_2(capsys, argv):
    code, _, err = command(capsys, *argv)
    assert code == 2 and "usage:" in err


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    domain_a, domain_b = two_domains(root)
    run_dir = root / "run"
    result = ganstudio("train", "--model", "cyclegan", "--data-a", str(domain_a), "--data-b", str(domain_b),
                       "--steps", "3", "--run", str(run_dir), *TINY)
    assert result.returncode == 0, result.stderr
    return run_dir, domain_a, result


def test_train_and_resume(trained_run, tmp_path):
    run_dir, _, result = trained_run
    assert "Finished: 3 steps" in result.stdout and "cyclegan" in result.stdout
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"]["options"] == {"preset": "light"} and config["train"]["batch_size"] == 1
    grid = Image.open(next((run_dir / "samples").iterdir()))
    assert grid.size == (6 * 34 + 2, 6 * 34 + 2)  # 6 fixed pictures a row; rows real A, fake B, rec A, ...
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)  # the other tests use the 3-step run as it is
    again = ganstudio("resume", str(copy), "--steps", "4")
    assert again.returncode == 0 and "Finished: 4 steps" in again.stdout


def test_translate_a_folder_and_a_file_with_a_run(trained_run, tmp_path, capsys):
    run_dir, domain_a, _ = trained_run
    result = ganstudio("translate", "--run", str(run_dir), "--input", str(domain_a), "--output", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert names == sorted(path.with_suffix(".png").name for path in domain_a.iterdir())
    assert "Converted 8 pictures A to B" in result.stdout
    code, _, err = command(capsys, "translate", "--run", str(run_dir), "--direction", "BtoA", "--input",
                           str(domain_a / "picture_000.png"), "--output", str(tmp_path / "one"))
    assert code == 0, err
    assert Image.open(tmp_path / "one" / "picture_000.png").size == (40, 40)


def test_a_run_converts_at_the_scale_it_learned_at_unless_asked_for_full(trained_run, tmp_path, capsys):
    run_dir, domain_a, _ = trained_run
    translator = open_translator(run=run_dir, device="cpu")
    assert translator.training_scale == TrainingScale(36, "crop")  # 32 px crops of pictures decoded at 36
    source = domain_a / "picture_000.png"  # 40 x 40: converted at 36 x 36, then back to 40 x 40
    pixels = np.array(Image.open(source).convert("RGB"))
    for scale in ("trained", "full"):
        code, _, err = command(capsys, "translate", "--run", str(run_dir), "--input", str(source), "--output",
                               str(tmp_path / f"{scale}.png"), "--scale", scale)
        assert code == 0, err
        assert np.array_equal(np.asarray(Image.open(tmp_path / f"{scale}.png")),
                              translator.translate_picture(pixels, scale=scale))
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "trained.png")),
                              np.asarray(Image.open(tmp_path / "full.png")))
    # A .safetensors export carries the scale; the reference's .pth layout has no room for it.
    assert command(capsys, "export-generator", str(run_dir), "--out", str(tmp_path / "g.safetensors"))[0] == 0
    assert open_translator(weights=tmp_path / "g.safetensors", device="cpu").training_scale == TrainingScale(36)
    checkpoint = next((run_dir / "checkpoints").iterdir())
    assert open_translator(weights=checkpoint, device="cpu").training_scale == TrainingScale(36)


def test_export_generator_pth_and_safetensors(trained_run, tmp_path, capsys):
    run_dir, domain_a, _ = trained_run
    code, out, err = command(capsys, "export-generator", str(run_dir), "--direction", "BtoA", "--out",
                             str(tmp_path / "g_b.pth"))
    assert code == 0 and "Exported the BtoA generator" in out, err
    state = torch.load(tmp_path / "g_b.pth", weights_only=True)
    checkpoint = torch.load(next((run_dir / "checkpoints").iterdir()), weights_only=True)
    assert list(state) == list(checkpoint["recipe"]["generator_b"])
    assert all(torch.equal(state[key], checkpoint["recipe"]["generator_b"][key]) for key in state)
    assert command(capsys, "export-generator", str(run_dir), "--out", str(tmp_path / "g_a.safetensors"))[0] == 0
    assert open_generator(tmp_path / "g_a.safetensors").direction == "AtoB"
    # The exported file converts exactly as the reference's arithmetic would with it.
    code, _, err = command(capsys, "translate", "--weights", str(tmp_path / "g_b.pth"), "--input",
                           str(domain_a / "picture_001.png"), "--output", str(tmp_path / "ours.png"))
    assert code == 0, err
    pixels = np.array(Image.open(domain_a / "picture_001.png").convert("RGB"))
    with torch.no_grad():
        expected = reference_forward(state, torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 127.5 - 1, 6)
    expected = ((expected[0].permute(1, 2, 0).numpy() + 1) / 2 * 255).astype(np.uint8)
    assert np.abs(np.asarray(Image.open(tmp_path / "ours.png")).astype(int) - expected).max() <= 1


def test_export_over_an_existing_file_needs_overwrite(trained_run, tmp_path, capsys):
    run_dir, _, _ = trained_run
    keep = tmp_path / "keep_me.pth"
    keep.write_bytes(b"someone else's generator")
    code, _, err = command(capsys, "export-generator", str(run_dir), "--out", str(keep))
    assert code == 1 and err == (f"ganstudio: {keep} already exists; pass --overwrite to replace it, or choose another "
                                 "name.\n")
    assert keep.read_bytes() == b"someone else's generator"
    assert command(capsys, "export-generator", str(run_dir), "--out", str(keep), "--overwrite")[0] == 0
    assert open_generator(keep).direction is None  # a plain state dict, as the reference tool writes


def test_plain_errors_exit_1(trained_run, tmp_path, capsys):
    run_dir, domain_a, _ = trained_run
    page = tmp_path / "horse2zebra.pth"
    page.write_text("<html><body>Not Found</body></html>")
    result = ganstudio("translate", "--weights", str(page), "--input", str(domain_a), "--output", str(tmp_path / "o"))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "horse2zebra.pth is a web page (HTML)" in result.stderr and "Traceback" not in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    for argv, phrase in [
        (["export-generator", str(run_dir), "--out", str(tmp_path / "g.onnx")], "name the file .pth or .safetensors"),
        (["translate", "--run", str(run_dir), "--input", str(tmp_path / "missing"), "--output", "o"], "does not exist"),
        (["translate", "--run", str(run_dir), "--input", str(empty), "--output", str(tmp_path / "o2")], "no pictures"),
        (["translate", "--run", str(domain_a), "--input", str(empty), "--output", "o"], "not a GAN Studio run folder"),
        (["export-generator", str(tmp_path), "--out", str(tmp_path / "g.pth")], "not a GAN Studio run folder"),
    ]:
        code, _, err = command(capsys, *argv)
        assert code == 1 and phrase in err and len(err.strip().splitlines()) == 1, (argv, err)
