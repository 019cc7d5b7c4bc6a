"""Telling what a file really is from its first bytes, so a wrong file gets a sentence that names it."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

SNIFF_BYTES = 512


def sniff(path: str | Path) -> str:
    """One of: missing, empty, torch-zip, pickle, safetensors, html, text, zip, image, unknown."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "unknown"
    if not head:
        return "empty"
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
    try:
        head.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "unknown"


def kind_sentence(name: str, kind: str) -> str | None:
    """A sentence saying what a file that is not loadable weights is; None when the kind says nothing useful."""
    sentences = {
        "missing": f"There is no file at {name}.",
        "empty": f"{name} is empty (0 bytes): the download or copy did not finish.",
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


def load_failure_sentence(name: str, kind: str, exc: BaseException) -> str:
    """Why torch.load(weights_only=True) refused a file, in one sentence that names what the file is.

    A refused global means pickled Python objects (a whole saved model, say): loading those could run
    code, so they are never opened. Anything else from a file that looks like PyTorch's is damage,
    most often a download cut short; from a file that does not, it is some other kind of file.
    """
    refused = pickled_global(exc)
    if refused is not None:
        return (f"{name} holds pickled Python objects ({refused}), such as a whole saved model, not plain weights; "
                "GAN Studio does not open such files because loading them could run code.")
    if kind in ("torch-zip", "pickle", "safetensors"):
        return f"{name} is damaged or incomplete (a download cut short?) and cannot be read."
    return f"{name} is not a weights file GAN Studio can read (PyTorch .pth or .safetensors)."
