"""The dataset report and decoding: odd and damaged files are handled, reported, and never crash a scan."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import write_pictures
from ganstudio.core.config import DataConfig
from ganstudio.core.data.cache import load_dataset
from ganstudio.core.data.decode import DecodeError, decode_square
from ganstudio.core.data.scan import scan
from ganstudio.core.errors import DataError

WHITE = (255, 255, 255)


def decode(data: bytes, size: int = 8, fit: str = "stretch", background=WHITE) -> np.ndarray:
    return decode_square(io.BytesIO(data), size, fit, background)[0]


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_exif_orientation_is_applied():
    # A 20x10 picture, left half red, right half blue, stored with "rotate 90 clockwise to display".
    pixels = np.zeros((10, 20, 3), np.uint8)
    pixels[:, :10] = (255, 0, 0)
    pixels[:, 10:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    out = decode_square(io.BytesIO(encoded(Image.fromarray(pixels), "JPEG", exif=exif, quality=95)), 10, "stretch", WHITE)
    image, info = out
    # Displayed upright it is 10 wide and 20 tall: red on top, blue below.
    assert (info.width, info.height) == (20, 10)
    assert image[1, 5, 0] > 200 and image[1, 5, 2] < 60
    assert image[8, 5, 2] > 200 and image[8, 5, 0] < 60


def test_transparency_is_composited_on_the_background():
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., :3] = (10, 200, 10)  # hidden colour under full transparency must not show
    rgba[:, 4:, 3] = 255
    image = decode(encoded(Image.fromarray(rgba, "RGBA")), background=(0, 0, 255))
    assert tuple(image[0, 0]) == (0, 0, 255)
    assert tuple(image[0, 7]) == (10, 200, 10)


def test_palette_transparency_and_grayscale_and_la():
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    palette.info["transparency"] = 0
    assert tuple(decode(encoded(palette, transparency=0))[0, 0]) == WHITE
    gray = Image.new("L", (8, 8), 77)
    assert tuple(decode(encoded(gray))[3, 3]) == (77, 77, 77)
    la = Image.new("LA", (8, 8), (0, 0))
    assert tuple(decode(encoded(la))[3, 3]) == WHITE


def test_sixteen_bit_grayscale_is_scaled_not_clipped():
    values = np.array([[0, 32896, 65535, 1000]], dtype=np.uint16).repeat(4, 0)
    image16 = Image.fromarray(values)  # mode I;16
    out = decode(encoded(image16), size=4)
    assert list(out[0, :, 0]) == [0, 128, 255, 4]


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in print colours
    out = decode(encoded(cmyk, "JPEG", quality=95), size=16)
    red, green, blue = out[8, 8].astype(int)
    assert red > 200 and green < 60 and blue < 60


def test_fit_modes():
    wide = np.zeros((10, 30, 3), np.uint8)
    wide[:, :10] = (255, 0, 0)
    wide[:, 10:20] = (0, 255, 0)
    wide[:, 20:] = (0, 0, 255)
    data = encoded(Image.fromarray(wide))
    cropped = decode(data, size=10, fit="crop")
    assert cropped[5, 5, 1] > 200 and cropped[5, 0, 0] < 30  # only the green middle survives
    padded = decode(data, size=30, fit="pad", background=(0, 0, 0))
    assert tuple(padded[0, 15]) == (0, 0, 0) and padded[15, 2, 0] > 200
    stretched = decode(data, size=30, fit="stretch")
    assert stretched[15, 2, 0] > 200 and stretched[15, 28, 2] > 200


@pytest.mark.parametrize("content, reason", [
    (b"just some notes, not a picture\n", "not a picture"),
    (b"", "empty file"),
    (b"<!DOCTYPE html><html><body>404</body></html>", "not a picture"),
])
def test_non_pictures_are_refused_with_a_reason(content, reason):
    with pytest.raises(DecodeError, match=reason):
        decode(content)


def test_truncated_jpeg_is_reported_damaged():
    good = encoded(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)), "JPEG")
    with pytest.raises(DecodeError, match="damaged"):
        decode(good[: len(good) // 2])


def test_decompression_bomb_is_refused():
    bomb = encoded(Image.new("1", (20000, 20000)))  # 400 megapixels, a few kilobytes on disk
    with pytest.raises(DecodeError, match="too large"):
        decode(bomb)


def test_formats_outside_the_allow_list_are_refused():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    with pytest.raises(DecodeError, match="not a picture"):
        decode(eps)


@pytest.fixture
def messy_folder(tmp_path) -> Path:
    folder = tmp_path / "messy"
    write_pictures(folder / "good", 6, size=80)
    write_pictures(folder / "good" / "deeper", 2, size=80, seed=1, suffix=".jpg")
    (folder / "notes.txt").write_text("not a picture")
    (folder / ".DS_Store").write_bytes(b"\x00\x01")
    good = (folder / "good" / "picture_000.png").read_bytes()
    (folder / "broken.png").write_bytes(good[:40])
    (folder / "empty.jpg").write_bytes(b"")
    Image.new("RGB", (12, 12), (10, 120, 200)).save(folder / "tiny_blank.png")
    return folder


def test_scan_reports_every_skipped_file_with_its_reason(messy_folder):
    pixels, report = scan([str(messy_folder)], size=64)
    assert report.usable == 9 and pixels.shape == (9, 64, 64, 3)
    skipped = dict(report.skipped)
    assert set(skipped) == {"messy/notes.txt", "messy/broken.png", "messy/empty.jpg"}
    assert "not a picture" in skipped["messy/notes.txt"]
    assert "damaged" in skipped["messy/broken.png"]
    assert report.upscaled == ["messy/tiny_blank.png"]
    assert report.near_blank == ["messy/tiny_blank.png"]
    assert report.formats == {"PNG": 7, "JPEG": 2}
    warnings = " ".join(report.warnings)
    assert "Only 9 usable pictures" in warnings and "smaller than 64 px" in warnings and "one flat colour" in warnings


def test_zip_is_read_in_place_with_nested_folders(tmp_path):
    pictures = write_pictures(tmp_path / "src", 5)
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in pictures:
            zf.write(path, f"inner/{path.name}")
        zf.writestr("__MACOSX/inner/._picture_000.png", b"resource fork")
        zf.writestr("inner/readme.md", "hello")
    pixels, report = scan([str(archive)], size=32)
    assert report.usable == 5
    assert report.skipped == [("set.zip:inner/readme.md", "not a picture in a supported format")]
    assert not any(p.suffix == ".png" for p in tmp_path.glob("*.png"))  # nothing was extracted


def test_several_files_and_duplicates(tmp_path):
    paths = write_pictures(tmp_path / "a", 3)
    (tmp_path / "a" / "copy.png").write_bytes(paths[0].read_bytes())
    _, report = scan([str(p) for p in paths] + [str(tmp_path / "a" / "copy.png")], size=32)
    assert report.usable == 4 and report.duplicates == 1


def test_missing_path_and_unusable_folder_are_plain_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        scan([str(tmp_path / "nowhere")])
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("x")
    with pytest.raises(DataError, match="None of the 1 files"):
        load_dataset(DataConfig(paths=[str(tmp_path / "texts")]))


def test_cache_is_used_then_invalidated_by_a_change(tmp_path):
    folder = tmp_path / "pics"
    paths = write_pictures(folder, 6)
    config = DataConfig(paths=[str(folder)], size=32)
    first = load_dataset(config)
    second = load_dataset(config)
    assert not first.from_cache and second.from_cache
    assert np.array_equal(first.pixels, second.pixels)
    Image.new("RGB", (40, 40), (1, 2, 3)).save(paths[0])
    third = load_dataset(config)
    assert not third.from_cache and not np.array_equal(third.pixels[0], first.pixels[0])
    other_fit = load_dataset(DataConfig(paths=[str(folder)], size=32, fit="pad"))
    assert not other_fit.from_cache


def test_demo_dataset_is_deterministic():
    from ganstudio.core.data.demo import make_demo_images
    a = make_demo_images(32, count=12)
    b = make_demo_images(32, count=12)
    assert a.shape == (12, 32, 32, 3) and np.array_equal(a, b)
    assert a.std() > 30  # colourful, not blank


def test_check_json_report(messy_folder, capsys):
    from ganstudio.cli import main
    assert main(["check", str(messy_folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["usable"] == 9 and report["found"] == 12
    assert {item["file"] for item in report["skipped"]} == {"messy/notes.txt", "messy/broken.png", "messy/empty.jpg"}
    assert report["warnings"]
