"""Decoding one picture safely into a square RGB uint8 array: allow-listed formats, EXIF, alpha, odd modes."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

# Formats a user's dataset plausibly holds. Everything else Pillow could parse (EPS runs Ghostscript,
# for one) is refused: opening a dataset must never run another program.
ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "PPM", "TGA", "ICO", "DIB", "QOI")  # JPEG covers MPO

# About 180 megapixels: a 13,000 x 13,000 photo still opens; a decompression bomb does not.
MAX_PIXELS = 180_000_000
# Pillow's own limit is 89.5 megapixels (a warning) and twice that (an error), process-wide. Ours,
# checked below against the size the header declares, is the one that decides; Pillow's is moved to
# it so that its warning (which would be printed, or raised where warnings are errors) never fires
# on a picture we accept, and its error stays as a backstop at twice our limit.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

# Bump when decoding, resizing or a skip reason changes, so cached datasets (and their reports) are rebuilt.
DECODER_VERSION = 4


class DecodeError(Exception):
    """Why one file is not usable, as a short phrase for the dataset report."""


@dataclass(frozen=True)
class DecodedInfo:
    """What the report needs to know about a source picture."""

    width: int
    height: int
    mode: str
    format: str


def parse_colour(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def open_image(data: bytes | io.BufferedIOBase) -> Image.Image:
    """Open (not yet decode) a picture of an allowed format; DecodeError with the reason otherwise."""
    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    try:
        image = Image.open(stream, formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        raise DecodeError(_not_a_picture(stream)) from None
    except Image.DecompressionBombError:
        raise DecodeError(f"too large (over {2 * MAX_PIXELS / 1e6:,.0f} megapixels; "
                          f"the limit is {MAX_PIXELS / 1e6:,.0f})") from None
    except Image.DecompressionBombWarning:  # where warnings are errors: it fires only over our limit
        raise DecodeError(f"too large (over {MAX_PIXELS / 1e6:,.0f} megapixels)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise DecodeError(f"damaged ({_short(exc)})") from None
    if image.width * image.height > MAX_PIXELS:
        raise DecodeError(f"too large ({image.width:,} x {image.height:,} pixels, "
                          f"{image.width * image.height / 1e6:,.0f} megapixels; the limit is {MAX_PIXELS / 1e6:,.0f})")
    if image.width < 1 or image.height < 1:
        raise DecodeError("empty picture (0 pixels)")
    return image


SIGNATURES = ((b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"BM", "BMP"),
              (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"qoif", "QOI"))


# Enough of a file's start to tell an empty or blank one from a file that holds something else.
HEAD_BYTES = 4096


def _not_a_picture(stream) -> str:
    """What a file Pillow could not identify is, by its first bytes: empty, blank, a damaged picture, or none."""
    try:
        stream.seek(0)
        head = stream.read(HEAD_BYTES)
    except (OSError, ValueError):
        return "not a picture in a supported format"
    if not head:
        return "empty file (0 bytes)"
    if not head.strip(b"\x00"):
        return "blank data (it starts with only zero bytes), not a picture"
    kind = _signature(head)
    if kind is not None:
        return f"damaged or truncated {kind} file"
    return "not a picture in a supported format"


def _signature(head: bytes) -> str | None:
    """The format a file claims by its first bytes, to tell a damaged picture from a file that is none."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    for magic, name in SIGNATURES:
        if head.startswith(magic):
            return name
    return None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".") or type(exc).__name__
    return text[:80]


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert pictures carrying an ICC profile (Adobe RGB, Display P3, CMYK press profiles) to sRGB."""
    profile_bytes = image.info.get("icc_profile")
    if not profile_bytes or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile_bytes))
        target_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=target_mode)
        return converted if converted is not None else image
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # a broken profile: keep the pixels as they are rather than drop the picture


def _sixteen_bit_to_8(image: Image.Image) -> Image.Image:
    """Scale 16- and 32-bit grayscale to 8 bits by value (65535 becomes 255), rather than clip."""
    values = np.asarray(image)
    if image.mode == "F":
        values = values.astype(np.float64)
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        peak = values.max() if values.size else 0.0
        scale = 255.0 if peak <= 1.0 else (255.0 / 65535.0 if peak > 255.0 else 1.0)
        eight = np.clip(values * scale + 0.5, 0, 255).astype(np.uint8)
    else:
        wide = values.astype(np.int64)
        if image.mode == "I" and wide.size and wide.max() <= 255 and wide.min() >= 0:
            eight = wide.astype(np.uint8)  # an 8-bit picture stored in a 32-bit container
        else:
            eight = np.clip((np.clip(wide, 0, 65535) + 128) // 257, 0, 255).astype(np.uint8)
    return Image.fromarray(eight, mode="L")


def to_rgb(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """Any decoded picture as plain RGB: EXIF orientation applied, transparency composited on `background`."""
    try:
        image = ImageOps.exif_transpose(image)
    except (OSError, ValueError, TypeError, KeyError, ZeroDivisionError, SyntaxError):
        pass  # a broken EXIF block: the pixels are still good, just maybe rotated
    mode = image.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        image = _sixteen_bit_to_8(image)
        mode = image.mode
    if mode in ("RGB", "RGBA", "CMYK"):
        image = _to_srgb(image)
        mode = image.mode
    has_alpha = mode in ("RGBA", "LA", "La", "RGBa", "PA") or (mode == "P" and "transparency" in image.info) \
        or (mode in ("L", "RGB") and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, background + (255,))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    if mode == "RGB":
        return image
    return image.convert("RGB")


def fit_square(image: Image.Image, size: int, fit: str, background: tuple[int, int, int]) -> Image.Image:
    """Make the picture `size` x `size`: centre `crop`, `pad` with the background, or `stretch`."""
    width, height = image.size
    if fit == "stretch":
        return image.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if fit == "crop":
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        return image.resize((size, size), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side),
                            reducing_gap=3.0)
    scale = size / max(width, height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = image.resize((new_w, new_h), Image.Resampling.LANCZOS, reducing_gap=3.0)
    canvas = Image.new("RGB", (size, size), background)
    canvas.paste(resized, ((size - new_w) // 2, (size - new_h) // 2))
    return canvas


def decode_square(data: bytes | io.BufferedIOBase, size: int, fit: str,
                  background: tuple[int, int, int]) -> tuple[np.ndarray, DecodedInfo]:
    """Decode a file's bytes into a `size` x `size` x 3 uint8 array; DecodeError with the reason if unusable."""
    image = open_image(data)
    info = DecodedInfo(image.width, image.height, image.mode, image.format or "?")
    try:
        if image.format in ("JPEG", "MPO") and min(image.size) > size * 4:
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale for free; keep at least twice the target for a clean resize.
            image.draft(image.mode, (size * 2, size * 2))
        image.load()
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)
        rgb = to_rgb(image, background)
        square = fit_square(rgb, size, fit, background)
        pixels = np.asarray(square, dtype=np.uint8)
    except DecodeError:
        raise
    except Image.DecompressionBombError:
        raise DecodeError(f"too large (over {2 * MAX_PIXELS / 1e6:,.0f} megapixels; "
                          f"the limit is {MAX_PIXELS / 1e6:,.0f})") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, ZeroDivisionError, TypeError, IndexError, KeyError) as exc:
        text = str(exc).lower()
        if "truncated" in text or "premature" in text or "end of file" in text or isinstance(exc, EOFError):
            raise DecodeError("damaged or truncated file") from None
        raise DecodeError(f"damaged ({_short(exc)})") from None
    finally:
        image.close()
    if pixels.shape != (size, size, 3):
        raise DecodeError(f"decoded to an unexpected shape {pixels.shape}")
    return pixels, info
