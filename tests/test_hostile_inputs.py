"""Reading what users give us when it is hostile: lying zips, bad members, link loops, odd names, huge files."""

from __future__ import annotations

import io
import json
import os
import pickle
import stat
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from ganstudio.core.data import sources
from ganstudio.core.data.cache import load_dataset
from ganstudio.core.config import DataConfig
from ganstudio.core.data.decode import DecodeError, decode_square, open_image
from ganstudio.core.data.scan import scan
from ganstudio.core.data.sources import SourceReader, UnreadableSource, list_dataset, safe_member_name
from ganstudio.core.errors import CheckpointError
from ganstudio.core.filetypes import sniff
from ganstudio.core.generator_files import read_weights
from ganstudio.core.printable import printable_name


def png(colour=(200, 40, 40), size=24) -> bytes:
    pixels = np.zeros((size, size, 3), np.uint8)
    pixels[:] = colour
    pixels[: size // 2, : size // 2] = (20, 180, 60)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def skipped_reasons(report_or_listing) -> dict[str, str]:
    return dict(report_or_listing.skipped)


# ---- zips are bounded by the bytes actually inflated -------------------------------------------------


def test_a_member_whose_header_says_it_is_smaller_is_read_no_further_and_skipped_as_damaged(tmp_path):
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("good.png", png())
        zf.writestr("bomb.png", bytes(4 * 2**20))  # 4 MB of zeros deflate to about 4 KB
    data = bytearray(archive.read_bytes())
    # Its declared size, in the local header (the first time its name appears) and the central one (the last).
    local = data.rindex(b"PK\x03\x04", 0, data.index(b"bomb.png"))
    central = data.rindex(b"PK\x01\x02", 0, data.rindex(b"bomb.png"))
    data[local + 22:local + 26] = data[central + 24:central + 28] = (1000).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    _, report = scan([str(archive)], size=16)
    assert report.usable == 1
    assert skipped_reasons(report) == {"liar.zip:bomb.png": "damaged inside the zip (its CRC check failed)"}


def test_reading_a_member_stops_at_the_cap_counting_inflated_bytes(tmp_path, monkeypatch):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("huge.png", bytes(2 * 2**20))
    (source,) = list_dataset([str(archive)]).sources
    # The header was honest when listed; what counts while reading is what actually comes out.
    monkeypatch.setattr(sources, "MAX_MEMBER_BYTES", 64 * 1024)
    monkeypatch.setattr(sources, "READ_CHUNK", 4096)
    inflated = []
    real_read = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        data = real_read(self, n)
        inflated.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    with SourceReader() as reader, pytest.raises(UnreadableSource, match="too large for a picture"):
        reader.read(source)
    assert sum(inflated) <= 64 * 1024 + 4096  # stopped within one chunk of the cap, not at 2 MB


def test_a_member_declaring_more_than_the_cap_is_skipped_without_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_MEMBER_BYTES", 64 * 1024)
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.png", png())
        zf.writestr("b.png", bytes(200 * 1024))
    listing = list_dataset([str(archive)])
    assert [s.label for s in listing.sources] == ["set.zip:a.png"]
    assert "too large for a picture" in skipped_reasons(listing)["set.zip:b.png"]


def test_many_members_under_the_cap_stop_at_the_archive_total(tmp_path, monkeypatch):
    """An archive may inflate to 50 times its size plus one member; a bomb of many members is cut off there."""
    monkeypatch.setattr(sources, "MAX_MEMBER_BYTES", 256 * 1024)
    monkeypatch.setattr(sources, "MAX_INFLATION_RATIO", 2)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for index in range(12):
            zf.writestr(f"part_{index:02d}.png", bytes(200 * 1024))
    allowance = 2 * archive.stat().st_size + 256 * 1024
    listing = list_dataset([str(archive)])
    assert len(listing.sources) == 12
    read, refused = 0, []
    with SourceReader() as reader:
        for source in listing.sources:
            try:
                read += len(reader.read(source).getvalue())
            except UnreadableSource as exc:
                refused.append(str(exc))
    assert read <= allowance
    assert len(refused) >= 10 and all("zip bomb" in reason for reason in refused)
    # In a scan the rest are skipped with that reason, and the scan finishes.
    _, report = scan([str(archive)], size=16)
    assert sum("zip bomb" in reason for reason in skipped_reasons(report).values()) >= 10


def test_bzip2_and_lzma_members_are_refused_since_they_inflate_without_a_bound(tmp_path):
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("plain.png", png())
        zf.writestr("b.png", png(), compress_type=zipfile.ZIP_BZIP2)
        zf.writestr("l.png", png(), compress_type=zipfile.ZIP_LZMA)
    _, report = scan([str(archive)], size=16)
    assert report.usable == 1
    reasons = skipped_reasons(report)
    assert "compressed with bzip2" in reasons["set.zip:b.png"] and "compressed with LZMA" in reasons["set.zip:l.png"]


# ---- bad members are one skipped file each ------------------------------------------------------------


def patch_flag(data: bytes, name: bytes, flag: int) -> bytes:
    """Set `flag` in the general-purpose bits of both headers of the member called `name`."""
    out = bytearray(data)
    position = 0
    while (position := data.find(name, position + 1)) != -1:
        for signature, flag_offset, name_offset in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
            start = position - name_offset
            if start >= 0 and data[start:start + 4] == signature:
                value = int.from_bytes(out[start + flag_offset:start + flag_offset + 2], "little") | flag
                out[start + flag_offset:start + flag_offset + 2] = value.to_bytes(2, "little")
    return bytes(out)


def test_encrypted_damaged_and_undecodable_members_are_skipped_and_the_rest_is_read(tmp_path):
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # stored, so the picture bytes can be damaged in place
        zf.writestr("good.png", png())
        zf.writestr("secret.png", png((1, 2, 3)))
        zf.writestr("crc.png", png((9, 9, 9)))
        zf.writestr("café.png", png((5, 5, 5)))
    data = patch_flag(archive.read_bytes(), b"secret.png", 0x1)
    damaged = data.index(b"IDAT", data.index(b"crc.png")) + 8
    data = data[:damaged] + bytes([data[damaged] ^ 0xFF]) + data[damaged + 1:]
    data = data.replace("café.png".encode(), b"caf\xff\xfe.png")  # same length, not UTF-8, flag still set
    archive.write_bytes(data)
    _, report = scan([str(archive)], size=16)
    assert report.usable == 1 and report.found == 4
    reasons = skipped_reasons(report)
    assert "password" in reasons["set.zip:secret.png"]
    assert "CRC" in reasons["set.zip:crc.png"]
    assert "not valid UTF-8" in reasons["set.zip:caf\\xff\\xfe.png"]


def test_unsafe_member_names_and_links_are_mentioned_never_read(tmp_path):
    archive = tmp_path / "evil.zip"
    link = zipfile.ZipInfo("link.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok/good.png", png())
        for name in ("/somewhere/evil.png", "../up.png", "a/../../up2.png", "dir\\win.png", "C:/drive.png",
                     "C:drive2.png", "bell\x07.png", "./ok/dot.png"):
            zf.writestr(zipfile.ZipInfo(name), png((7, 7, 7)))
        zf.writestr(link, "../../etc/passwd")
    listing = list_dataset([str(archive)])
    assert [(s.label, s.relative) for s in listing.sources] == [("evil.zip:./ok/dot.png", "ok/dot.png"),
                                                                ("evil.zip:ok/good.png", "ok/good.png")]
    reasons = skipped_reasons(listing)
    assert "absolute path" in reasons["evil.zip:/somewhere/evil.png"]
    assert "'..'" in reasons["evil.zip:../up.png"] and "'..'" in reasons["evil.zip:a/../../up2.png"]
    assert "backslashes" in reasons["evil.zip:dir\\win.png"]
    assert "drive letter" in reasons["evil.zip:C:/drive.png"] and "drive letter" in reasons["evil.zip:C:drive2.png"]
    assert "control characters" in reasons["evil.zip:bell\\x07.png"]
    assert "never followed" in reasons["evil.zip:link.png"]
    _, report = scan([str(archive)], size=16)
    assert report.found == 10 and report.usable == 2 and len(report.skipped) == 8


@pytest.mark.parametrize("raw, safe", [
    ("a/b.png", "a/b.png"), ("./a//b.png", "a/b.png"), ("/etc/x.png", None), ("../x.png", None),
    ("a/../x.png", None), ("a\\x.png", None), ("\\\\server\\x.png", None), ("C:x.png", None), ("D:/x.png", None),
    ("a\x00.png", None), ("new\nline.png", None), ("rtl\u202egnp.exe", None), ("", None), ("./", None),
    ("naïve/日本.png", "naïve/日本.png"), ("ab:c.png", "ab:c.png"), ("a:b.png", None),
])
def test_safe_member_name(raw, safe):
    assert safe_member_name(raw) == safe


# ---- links in folders ----------------------------------------------------------------------------------


def test_links_are_followed_to_pictures_and_loops_and_dangling_links_are_skipped(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "far.png").write_bytes(png((1, 100, 200)))
    folder = tmp_path / "pics"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.png").write_bytes(png())
    (folder / "sub" / "b.png").write_bytes(png((0, 0, 250)))
    (folder / "far.png").symlink_to(outside / "far.png")  # outside the folder: fine for reading
    (folder / "outside_dir").symlink_to(outside)
    (folder / "same_a.png").symlink_to(folder / "a.png")  # the same file twice: listed once
    (folder / "gone.png").symlink_to(tmp_path / "nowhere.png")
    (folder / "self.png").symlink_to(folder / "self.png")
    (folder / "sub" / "up").symlink_to(folder)  # a loop through a parent folder
    (folder / "sub" / "again").symlink_to(folder / "sub")  # a loop through itself
    os.mkfifo(folder / "pipe.png")  # opening it would wait for ever
    listing = list_dataset([str(folder)])
    labels = [s.label for s in listing.sources]
    assert labels == ["pics/a.png", "pics/far.png", "pics/sub/b.png"]
    assert [s.relative for s in listing.sources] == ["a.png", "far.png", "sub/b.png"]
    reasons = skipped_reasons(listing)
    assert set(reasons) == {"pics/gone.png", "pics/self.png", "pics/sub/up", "pics/sub/again", "pics/pipe.png"}
    assert "does not exist" in reasons["pics/gone.png"] and "nowhere.png" in reasons["pics/gone.png"]
    assert "loop" in reasons["pics/self.png"]
    assert "loop" in reasons["pics/sub/up"] and "loop" in reasons["pics/sub/again"]
    assert "not a regular file" in reasons["pics/pipe.png"]
    _, report = scan([str(folder)], size=16)
    assert report.usable == 3 and report.found == 8
    assert "pics/gone.png" in report.format_text()


def test_a_link_to_a_folder_is_followed_once(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "x.png").write_bytes(png())
    folder = tmp_path / "top"
    folder.mkdir()
    (folder / "one").symlink_to(real)
    (folder / "two").symlink_to(real)
    listing = list_dataset([str(folder)])
    assert [s.label for s in listing.sources] == ["top/one/x.png"] and not listing.skipped


# ---- reasons that are true -----------------------------------------------------------------------------


def encoded_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_a_100_megapixel_picture_opens_and_a_larger_one_names_its_real_size():
    image = open_image(encoded_png(Image.new("1", (10_000, 10_000))))  # over Pillow's own 89.5 megapixels
    assert image.size == (10_000, 10_000)
    image.close()
    with pytest.raises(DecodeError) as caught:
        open_image(encoded_png(Image.new("1", (14_000, 14_000))))
    assert str(caught.value) == "too large (14,000 x 14,000 pixels, 196 megapixels; the limit is 180)"


def test_empty_and_blank_files_say_so(tmp_path):
    with pytest.raises(DecodeError, match="^empty file"):
        decode_square(b"", 16, "crop", (0, 0, 0))
    with pytest.raises(DecodeError, match="^blank data"):
        decode_square(bytes(10_000), 16, "crop", (0, 0, 0))


def test_a_sparse_file_of_zeros_is_blank_data_not_text(tmp_path):
    zeros = tmp_path / "zeros.pth"
    with open(zeros, "wb") as handle:
        handle.truncate(3 * 2**30)  # sparse: 3 GB of zeros that take no disk space
    assert sniff(zeros) == "blank"
    with pytest.raises(CheckpointError, match="only zero bytes \\(empty or blank data\\)"):
        read_weights(zeros)
    (tmp_path / "notes.pth").write_text("these are not weights, ünïcode cut " + "é" * 300)
    assert sniff(tmp_path / "notes.pth") == "text"


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo never run",))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_a_pickle_payload_is_pickled_python_objects_not_damaged(tmp_path, protocol):
    payload = tmp_path / "model.pkl"
    payload.write_bytes(pickle.dumps(_Payload(), protocol=protocol))
    with pytest.raises(CheckpointError) as caught:
        read_weights(payload)
    assert f"holds pickled Python objects ({os.system.__module__}.system)" in str(caught.value)


# ---- weight files refused from their size and header ----------------------------------------------------


def test_a_3_gb_weights_file_is_refused_from_its_size_before_loading(tmp_path, monkeypatch):
    path = tmp_path / "huge.pth"
    torch.save({"w": torch.zeros(4)}, path)
    with open(path, "r+b") as handle:
        handle.truncate(3 * 2**30)  # a real PyTorch start, 3 GB long, sparse

    def no_load(*args, **kwargs):
        raise AssertionError("torch.load was called on an over-large file")

    monkeypatch.setattr(torch, "load", no_load)
    with pytest.raises(CheckpointError) as caught:
        read_weights(path)
    message = str(caught.value)
    assert message == ("huge.pth is 3,072 MB, more than the 1,024 MB any generator or GAN Studio checkpoint comes "
                       "to (a published CycleGAN generator is 45 MB), so it is not opened.")


def test_a_weights_zip_declaring_huge_contents_is_refused_before_loading(tmp_path, monkeypatch):
    path = tmp_path / "liar.pth"
    torch.save({"w": torch.zeros(4)}, path)
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 24:central + 28] = (0xFFFFFFF0).to_bytes(4, "little")  # the first member says 4 GB
    path.write_bytes(bytes(data))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    with pytest.raises(CheckpointError, match="declares 4,096 MB of contents"):
        read_weights(path)


# ---- names that are not UTF-8 are printable in every report --------------------------------------------


def test_printable_name_escapes_undecodable_bytes_and_controls_and_is_idempotent():
    raw = os.fsdecode(b"caf\xe9\x1b[31m.png")
    shown = printable_name(raw)
    assert shown == "caf\\xe9\\x1b[31m.png" and printable_name(shown) == shown
    assert printable_name(b"\xff.png") == "\\xff.png" and printable_name("日本.png") == "日本.png"


def test_reports_of_names_that_are_not_utf8_are_printable(tmp_path):
    folder = tmp_path / "pics"
    folder.mkdir()
    (folder / "good.png").write_bytes(png())
    with open(os.path.join(os.fsencode(folder), b"pic\xff.png"), "wb") as handle:
        handle.write(png((3, 3, 200)))
    with open(os.path.join(os.fsencode(folder), b"note\xe9.txt"), "wb") as handle:
        handle.write(b"not a picture")
    _, report = scan([str(folder)], size=16)
    assert report.usable == 2
    text = report.format_text()
    text.encode("utf-8")  # strict: a surrogate would raise
    text.encode("ascii", "backslashreplace").decode("ascii")
    assert "pics/note\\xe9.txt: not a picture" in text
    json.dumps(report.to_dict(), ensure_ascii=False).encode("utf-8")
    assert "pics/pic\\xff.png" in report.usable_labels
    cached = load_dataset(DataConfig(paths=[str(folder)], size=16))
    again = load_dataset(DataConfig(paths=[str(folder)], size=16))
    assert again.from_cache and again.report.skipped == cached.report.skipped


def test_weights_file_names_that_are_not_utf8_are_printable(tmp_path):
    path = os.path.join(os.fsencode(tmp_path), b"w\xff.pth")
    with open(path, "wb") as handle:
        handle.write(b"not weights at all\n")
    with pytest.raises(CheckpointError) as caught:
        read_weights(os.fsdecode(path))
    assert str(caught.value) == "w\\xff.pth is a text file, not weights."
