"""Telling what a file really is from its first bytes, so a wrong file gets a sentence that names it."""

from __future__ import annotations

import codecs
import io
import json
import pickletools
import re
import struct
import zipfile
from pathlib import Path

from .printable import printable_name

SNIFF_BYTES = 512
# How much of a pickle is looked through for the classes it names, when torch refused it: a payload
# names what it calls at once, and a weights pickle names its few classes in its first kilobytes,
# so 1 MiB is plenty and stays cheap for a 3 GB file.
PICKLE_SCAN_BYTES = 2**20
# Text holds no control characters but tab, newline, carriage return and form feed; zeros, say, make it data.
_TEXT_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def sniff(path: str | Path) -> str:
    """One of: missing, empty, blank, torch-zip, pickle, safetensors, html, text, zip, image, unknown."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "unknown"
    if not head:
        return "empty"
    if not head.strip(b"\x00"):
        return "blank"  # a disk error, a preallocated download that never arrived, or a sparse file
    if head.startswith(b"PK\x03\x04"):
        return "torch-zip" if b"data.pkl" in head or b"/data/" in head or b"version" in head else "zip"
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) >= 10:
        (header_length,) = struct.unpack("<Q", head[:8])
        if 2 <= header_length < 100_000_000 and head[8:9] == b"{":
            return "safetensors"
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")) or b"<html" in stripped[:200]:
        return "html"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF", b"BM")):
        return "image"
    if _TEXT_CONTROLS.search(head):
        return "unknown"
    try:
        # Incremental, so a character cut in two by the 512-byte window still counts as text.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "text"
    except UnicodeDecodeError:
        return "unknown"


def kind_sentence(name: str, kind: str) -> str | None:
    """A sentence saying what a file that is not loadable weights is; None when the kind says nothing useful."""
    name = printable_name(name)
    sentences = {
        "missing": f"There is no file at {name}.",
        "empty": f"{name} is empty (0 bytes): the download or copy did not finish.",
        "blank": f"{name} holds only zero bytes (empty or blank data), not weights: the download or copy did "
                 "not finish, or the disk lost it.",
        "html": f"{name} is a web page (HTML), not weights: the download probably saved an error or sign-in page "
                "instead of the file.",
        "text": f"{name} is a text file, not weights.",
        "image": f"{name} is a picture, not weights.",
        "zip": f"{name} is a zip archive but not a PyTorch file.",
    }
    return sentences.get(kind)


def safetensors_header(path: str | Path) -> dict | None:
    """The JSON header of a safetensors file, or None if it is not one."""
    try:
        with open(path, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > 100_000_000:
                return None
            return json.loads(handle.read(length))
    except (OSError, struct.error, ValueError):
        return None


def pickled_global(exc: BaseException) -> str | None:
    """The class or function a refused pickle asked for ('models.networks.ResnetGenerator'), from torch's message."""
    match = re.search(r"GLOBAL ([A-Za-z_][\w.]*)", str(exc))
    return match.group(1) if match else None


def load_failure_sentence(name: str, kind: str, exc: BaseException, path: str | Path | None = None) -> str:
    """Why torch.load(weights_only=True) refused a file, in one sentence that names what the file is.

    A refused global means pickled Python objects (a whole saved model, say): loading those could run
    code, so they are never opened. torch's message names the refused class only for protocol 2
    pickles; given `path`, the pickle's opcodes are read for it (a payload of protocol 4 or 5 is
    otherwise refused as an unsupported opcode, which is not damage). Anything else from a file that
    looks like PyTorch's is damage, most often a download cut short; from a file that does not, it is
    some other kind of file.
    """
    name = printable_name(name)
    refused = pickled_global(exc)
    if refused is None and path is not None and kind in ("pickle", "torch-zip"):
        refused = named_global(path, kind)
    if refused is not None:
        return (f"{name} holds pickled Python objects ({refused}), such as a whole saved model, not plain weights; "
                "GAN Studio does not open such files because loading them could run code.")
    if kind in ("torch-zip", "pickle", "safetensors"):
        return f"{name} is damaged or incomplete (a download cut short?) and cannot be read."
    return f"{name} is not a weights file GAN Studio can read (PyTorch .pth or .safetensors)."


# The classes a PyTorch weights pickle names; any other class in a refused pickle is why it was refused.
_WEIGHTS_GLOBALS = ("torch.", "collections.OrderedDict", "builtins.set", "_codecs.encode")


def named_global(path: str | Path, kind: str) -> str | None:
    """The first class or function a pickle (or a PyTorch zip's data.pkl) names beyond plain weights, found by
    reading its opcodes, never by running it; None when it names none or cannot be read."""
    try:
        if kind == "torch-zip":
            with zipfile.ZipFile(path) as archive:
                member = next((info for info in archive.infolist() if info.filename.endswith("data.pkl")), None)
                if member is None or member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    return None
                with archive.open(member) as stream:
                    data = stream.read(PICKLE_SCAN_BYTES)
        else:
            with open(path, "rb") as handle:
                data = handle.read(PICKLE_SCAN_BYTES)
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError, NotImplementedError, UnicodeDecodeError):
        return None
    strings: list[str] = []
    try:
        for opcode, argument, _ in pickletools.genops(io.BytesIO(data)):
            if opcode.name in ("GLOBAL", "INST") and isinstance(argument, str):
                found = argument.replace(" ", ".")
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                found = f"{strings[-2]}.{strings[-1]}"
            else:
                if isinstance(argument, str):
                    strings.append(argument)
                continue
            if not found.startswith(_WEIGHTS_GLOBALS):
                return found
    except (ValueError, EOFError, struct.error, UnicodeDecodeError):
        pass  # the window ended inside the pickle, or the pickle is damaged: what was found so far stands
    return None
