"""What the commands write and say under hostile input: only inside the folder given, nothing replaced unasked, one sentence."""

from __future__ import annotations

import io
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganstudio import cli
from ganstudio.core.errors import ConfigError
from ganstudio.core.export import read_png_metadata
from ganstudio.core.generator_files import save_generator
from ganstudio.core.models.translation import GeneratorSpec
from ganstudio.core.translate import UnsafeName, open_translator, safe_relative_path, translate_folder
from conftest import train_tiny_run, write_pictures
from test_cli import ganstudio
from test_generator_files import random_generator


def command(capsys, *argv: str) -> tuple[int, str, str]:
    """The exit code, stdout and stderr of `ganstudio ARGV`, run in this process (start-up costs seconds)."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exit:
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def png_bytes(seed: int = 0, side: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def all_files(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


@pytest.fixture
def weights(tmp_path) -> Path:
    path = tmp_path / "weights" / "style.pth"
    path.parent.mkdir()
    save_generator(random_generator(GeneratorSpec(filters=4, blocks=2), seed=3), path)
    return path


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory) -> Path:
    """A 32-pixel picture-making run trained three steps: enough to write pictures from."""
    return train_tiny_run(tmp_path_factory, "outputs", pictures=16, steps=3)


# -- nothing is written outside the folder given ---------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("a.png", "a.png"), ("/somewhere/evil.png", "somewhere/evil.png"), ("//two/x.png", "two/x.png"),
    ("sub\\pic.png", "sub/pic.png"), ("C:\\win\\c.png", "win/c.png"), ("C:c.png", "c.png"), ("./a/./b.png", "a/b.png"),
])
def test_names_are_made_relative(name, expected):
    assert safe_relative_path(name) == Path(expected)


@pytest.mark.parametrize("name", ["../up.png", "a/../../b.png", "a\\..\\..\\b.png", "C:..\\x.png", "/", "a\x00.png"])
def test_names_that_climb_out_or_cannot_be_stored_are_refused(name):
    with pytest.raises(UnsafeName):
        safe_relative_path(name)


def test_a_zip_member_with_an_absolute_name_lands_inside_the_output(tmp_path, weights, capsys):
    outside = tmp_path / "somewhere"
    archive = tmp_path / "archive.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr(str(outside / "evil.png"), png_bytes(1))
        writer.writestr("C:\\Windows\\win.png", png_bytes(2))
        writer.writestr("a\\..\\..\\climb.png", png_bytes(3))
        writer.writestr("fine/ok.png", png_bytes(4))
    out = tmp_path / "out"
    code, stdout, err = command(capsys, "translate", "--weights", str(weights), "--input", str(archive),
                                "--output", str(out), "--device", "cpu")
    assert code == 0, err
    assert not outside.exists() and not (tmp_path / "climb.png").exists()
    assert all_files(tmp_path) - {archive, weights} == all_files(out)
    # Reading refuses names that are absolute, carry a drive letter or climb: each is skipped with its reason.
    assert {path.relative_to(out).as_posix() for path in all_files(out)} == {"fine/ok.png"}
    skipped = [line for line in err.splitlines() if line.startswith("skipped ")]
    assert len(skipped) == 3 and all(name in err for name in ("evil.png", "win.png", "climb.png"))
    assert "Converted 1 picture " in stdout and "3 skipped" in stdout


def test_a_link_in_the_input_to_a_picture_elsewhere_is_converted_in_its_own_place(tmp_path, weights):
    elsewhere = tmp_path / "elsewhere"
    write_pictures(elsewhere, 1)
    source = tmp_path / "in"
    write_pictures(source, 1)
    (source / "linked.png").symlink_to(elsewhere / "picture_000.png")
    result = translate_folder(open_translator(weights=weights, device="cpu"), source, tmp_path / "out")
    assert sorted(path.name for path in result.written) == ["linked.png", "picture_000.png"] and not result.skipped
    assert read_png_metadata(tmp_path / "out" / "linked.png")["source"] == "linked.png"


def test_a_link_in_the_output_folder_that_leads_out_is_not_written_through(tmp_path, weights):
    source, out, elsewhere = tmp_path / "in", tmp_path / "out", tmp_path / "elsewhere"
    write_pictures(source / "sub", 1)
    write_pictures(source, 1)
    elsewhere.mkdir()
    out.mkdir()
    (out / "sub").symlink_to(elsewhere, target_is_directory=True)
    result = translate_folder(open_translator(weights=weights, device="cpu"), source, out)
    assert [path.name for path in result.written] == ["picture_000.png"]
    assert result.skipped == [(str(Path("sub/picture_000.png")),
                               f"its result would be written outside {out.resolve()} (through a link in it)")]
    assert not any(elsewhere.iterdir())


def test_an_output_folder_that_holds_the_input_gets_a_new_subfolder_and_says_so(tmp_path, weights, capsys):
    source = tmp_path / "photos"
    write_pictures(source, 2)
    code, stdout, err = command(capsys, "translate", "--weights", str(weights), "--input", str(source),
                                "--output", str(tmp_path), "--device", "cpu")
    assert code == 0, err
    results = tmp_path / "photos-converted"
    assert sorted(path.name for path in results.iterdir()) == ["picture_000.png", "picture_001.png"]
    assert f"note: {tmp_path} holds photos, so the results go into its new subfolder photos-converted." in err
    assert f"into {results}" in stdout
    with zipfile.ZipFile(tmp_path / "pack.zip", "w") as writer:
        writer.writestr("p.png", png_bytes())
    zipped = translate_folder(open_translator(weights=weights, device="cpu"), tmp_path / "pack.zip", tmp_path)
    assert zipped.written == [tmp_path / "pack-converted" / "p.png"]


def test_the_input_folder_itself_is_refused_as_the_output(tmp_path, weights, capsys):
    source = tmp_path / "photos"
    write_pictures(source, 1)
    code, _, err = command(capsys, "translate", "--weights", str(weights), "--input", str(source),
                           "--output", str(source), "--device", "cpu")
    assert code == 1 and err == ("ganstudio: Choose an output folder other than the input folder, so no original is "
                                 "overwritten.\n")
    assert all_files(source) == {source / "picture_000.png"}


# -- nothing of the user's is replaced without consent ---------------------------------------------

def test_translating_a_picture_over_an_existing_file_needs_overwrite(tmp_path, weights, capsys):
    write_pictures(tmp_path, 1)
    keep = tmp_path / "keep_me.png"
    keep.write_bytes(b"the user's own picture")
    argv = ["translate", "--weights", str(weights), "--input", str(tmp_path / "picture_000.png"),
            "--output", str(keep), "--device", "cpu"]
    code, _, err = command(capsys, *argv)
    assert code == 1 and err == f"ganstudio: {keep} already exists; pass --overwrite to replace it, or choose another name.\n"
    assert keep.read_bytes() == b"the user's own picture"
    code, _, err = command(capsys, *argv, "--overwrite")
    assert code == 0, err
    assert Image.open(keep).size == (40, 40)


def test_a_folder_conversion_over_earlier_results_is_refused_up_front(tmp_path, weights, capsys):
    source, out = tmp_path / "in", tmp_path / "out"
    write_pictures(source, 3)
    out.mkdir()
    (out / "picture_001.png").write_bytes(b"mine")
    (out / "picture_002.png").write_bytes(b"mine too")
    argv = ["translate", "--weights", str(weights), "--input", str(source), "--output", str(out), "--device", "cpu"]
    code, _, err = command(capsys, *argv)
    assert code == 1 and err == (f"ganstudio: 2 results would replace files already in {out} "
                                 f"({out / 'picture_001.png'} first); pass --overwrite to replace them, or choose "
                                 "another output folder.\n")
    assert all_files(out) == {out / "picture_001.png", out / "picture_002.png"}  # nothing written, not even the new one
    assert (out / "picture_001.png").read_bytes() == b"mine"
    code, _, err = command(capsys, *argv, "--overwrite")
    assert code == 0, err
    assert len(all_files(out)) == 3 and Image.open(out / "picture_001.png").size == (40, 40)


def test_generate_over_existing_seed_pictures_needs_overwrite(seed_run, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "seed_0000000.png").write_bytes(b"the user's own picture")
    argv = ["generate", str(seed_run), "--count", "2", "--seed", "0", "--out", str(out), "--device", "cpu"]
    code, _, err = command(capsys, *argv)
    assert code == 1 and err == (f"ganstudio: {out / 'seed_0000000.png'} already exists; pass --overwrite to replace "
                                 "it, or choose another folder.\n")
    assert all_files(out) == {out / "seed_0000000.png"}
    assert (out / "seed_0000000.png").read_bytes() == b"the user's own picture"
    code, _, err = command(capsys, *argv, "--overwrite")
    assert code == 0, err
    assert read_png_metadata(out / "seed_0000000.png")["seed"] == "0" and (out / "seed_0000001.png").is_file()


# -- every mistake gets a sentence -----------------------------------------------------------------

@pytest.mark.parametrize("count, seed, grid, phrase", [
    ("1000000000000", "0", False, "1,000,000,000,000 pictures is more than the 1,000,000 one command writes"),
    ("2", str(2**63 - 1), False, "would go past that"),
    ("2000", "0", True, "A grid holds at most 1,024 pictures, not 2,000"),
])
def test_counts_and_seeds_out_of_bounds_are_one_sentence(seed_run, tmp_path, capsys, count, seed, grid, phrase):
    argv = ["generate", str(seed_run), "--count", count, "--seed", seed, "--out", str(tmp_path / "out")]
    code, _, err = command(capsys, *argv, *(["--grid"] if grid else []))
    assert code == 1 and phrase in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv", [
    ["generate", "run", "--count", "1", "--seed", str(2**64), "--out", "o"],
    ["generate", "run", "--count", "1", "--seed", str(2**63), "--out", "o"],
    ["animate", "run", "--from-seed", "0", "--to-seed", str(2**70), "--out", "a.gif"],
])
def test_seeds_past_what_a_run_stores_are_usage_errors(capsys, argv):
    code, _, err = command(capsys, *argv)
    assert code == 2 and "is past the largest seed, 9223372036854775807" in err


def test_names_that_are_not_utf8_print_on_a_strict_ascii_terminal(tmp_path):
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/bad\xff"))
    write_pictures(folder, 1)
    (folder / os.fsdecode(b"notes\xfe.txt")).write_text("not a picture")
    result = ganstudio("check", str(folder), env_extra={"PYTHONIOENCODING": "ascii:strict"})
    assert "Traceback" not in result.stderr and "UnicodeEncodeError" not in result.stderr
    assert "bad\\xff/notes\\xfe.txt: not a picture" in result.stdout, "the report's own escapes"


def test_printing_to_a_strict_stream_is_made_safe(monkeypatch, capsys):
    strict = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict")
    monkeypatch.setattr(sys, "stdout", strict)
    monkeypatch.setattr(cli, "COMMANDS", {**cli.COMMANDS, "check": lambda args: print("caf\u00e9 \udcff") or 0})
    assert cli.main(["check", "anything"]) == 0
    strict.flush()
    assert strict.buffer.getvalue() == b"caf\\xe9 \\udcff\n"


# -- one rule: an unexpected error is one sentence naming the log ----------------------------------

def bug(args):
    raise RuntimeError("an invariant broke\nwith a second line")


def test_an_unexpected_error_is_one_sentence_naming_the_log(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", {**cli.COMMANDS, "generate": bug})
    code, out, err = command(capsys, "generate", "run", "--count", "1", "--seed", "0", "--out", "o")
    log = cli.log_path()
    assert code == 1 and out == ""
    assert err == (f"ganstudio: something went wrong inside GAN Studio (RuntimeError: an invariant broke); the "
                   f"details are in {log}. Please report it.\n")
    written = log.read_text(encoding="utf-8")
    assert "Traceback" in written and "RuntimeError: an invariant broke" in written and "in bug" in written
    assert "ganstudio generate run --count 1" in written


def test_an_unexpected_error_is_one_sentence_even_when_the_log_cannot_be_written(tmp_path, monkeypatch, capsys):
    (tmp_path / "a file").write_text("")
    monkeypatch.setenv("GANSTUDIO_DATA_DIR", str(tmp_path / "a file"))
    monkeypatch.setattr(cli, "COMMANDS", {**cli.COMMANDS, "generate": bug})
    code, _, err = command(capsys, "generate", "run", "--count", "1", "--seed", "0", "--out", "o")
    assert code == 1 and len(err.splitlines()) == 1 and "could not be written to" in err and "Traceback" not in err


def test_ctrl_c_keeps_its_exit_code(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "COMMANDS", {**cli.COMMANDS, "generate": interrupted})
    code, _, err = command(capsys, "generate", "run", "--count", "1", "--seed", "0", "--out", "o")
    assert code == 130 and "Traceback" not in err
