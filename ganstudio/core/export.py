"""Writing pictures: PNGs that carry their seed, run, epoch and app version as text metadata."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin

from .. import APP_NAME, __version__
from .fileio import atomic_write_bytes
from .printable import printable_name

METADATA_PREFIX = "ganstudio:"


def png_bytes(pixels: np.ndarray, metadata: dict[str, Any] | None = None) -> bytes:
    """An RGB PNG of H x W x 3 uint8 pixels, each metadata item a tEXt chunk (plus all of it as JSON)."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", f"{APP_NAME} {__version__}")
    if metadata:
        metadata = {printable_name(str(key)): printable_name(value) if isinstance(value, str) else value
                    for key, value in metadata.items()}
        for key, value in metadata.items():
            info.add_text(f"{METADATA_PREFIX}{key}", printable_name(str(value)))
        info.add_text("Comment", json.dumps({"app": APP_NAME, "app_version": __version__, **metadata}, default=str))
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), "RGB").save(buffer, format="PNG", pnginfo=info, compress_level=6)
    return buffer.getvalue()


def save_png(path: str | Path, pixels: np.ndarray, metadata: dict[str, Any] | None = None) -> Path:
    """Write a PNG atomically; the path written."""
    path = Path(path)
    atomic_write_bytes(path, png_bytes(pixels, metadata))
    return path


def write_pngs(folder: Path, pictures: list[tuple[np.ndarray, str, dict[str, Any]]]) -> list[Path]:
    """Each (pixels, file name, metadata) as a PNG in `folder`; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    return [save_png(folder / name, pixels, metadata) for pixels, name, metadata in pictures]


def read_png_metadata(path: str | Path) -> dict[str, str]:
    """The ganstudio: text items of a PNG, without the prefix."""
    with Image.open(path) as image:
        text = getattr(image, "text", {}) or {}
    return {key[len(METADATA_PREFIX):]: value for key, value in text.items() if key.startswith(METADATA_PREFIX)}
