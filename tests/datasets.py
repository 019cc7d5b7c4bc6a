"""A matrix of small procedural datasets of very different character, deterministic from a seed, written as PNG folders.

Each kind stands for a folder a user might bring: light strokes on a dark background (hand-drawn
digits or glyphs, ten kinds), line art on white, shaded objects and icons on white, noisy textures,
painting-like pictures, pixel art and photo-like scenes, in colour or grey. `make_pictures` draws
them as an N x H x W x 3 uint8 array; `write_dataset` writes them as a folder of PNG files (grey
sets as one-channel PNGs, as a scanner would leave them). Drawing 2,000 pictures at 64 px takes a
few seconds, so a test can afford the largest set.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# Strokes and shapes are drawn at this multiple of the final size, then reduced, for anti-aliased edges.
SUPERSAMPLE = 2

# Ten glyphs in a unit square (y down), each a list of polylines; drawn with a random affine jitter,
# they play the part of the ten kinds of a handwriting set.
_CIRCLE = [(0.5 + 0.32 * math.cos(t / 12 * 2 * math.pi), 0.5 + 0.4 * math.sin(t / 12 * 2 * math.pi)) for t in range(13)]
GLYPHS: dict[str, list[list[tuple[float, float]]]] = {
    "zero": [_CIRCLE],
    "one": [[(0.38, 0.25), (0.52, 0.12), (0.52, 0.88)]],
    "seven": [[(0.22, 0.15), (0.78, 0.15), (0.42, 0.88)]],
    "ell": [[(0.3, 0.12), (0.3, 0.85), (0.75, 0.85)]],
    "cross": [[(0.2, 0.2), (0.8, 0.8)], [(0.8, 0.2), (0.2, 0.8)]],
    "plus": [[(0.5, 0.15), (0.5, 0.85)], [(0.15, 0.5), (0.85, 0.5)]],
    "vee": [[(0.2, 0.15), (0.5, 0.85), (0.8, 0.15)]],
    "zed": [[(0.2, 0.18), (0.8, 0.18), (0.2, 0.82), (0.8, 0.82)]],
    "triangle": [[(0.5, 0.12), (0.85, 0.85), (0.15, 0.85), (0.5, 0.12)]],
    "wave": [[(0.12 + 0.76 * t / 16, 0.5 + 0.28 * math.sin(t / 16 * 2 * math.pi)) for t in range(17)]],
}
SHAPES = ("disc", "box", "triangle", "star", "face")


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of the matrix: what it looks like, how many pictures, how large, colour or grey."""

    name: str
    kind: str  # a key of DRAWERS
    count: int
    size: int = 32
    grey: bool = False
    seed: int = 0

    def pictures(self) -> np.ndarray:
        return make_pictures(self.kind, self.count, self.size, self.seed, self.grey)


def _rgb(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255)


def _jitter(points: list[tuple[float, float]], rng: np.random.Generator, canvas: int) -> list[tuple[float, float]]:
    """The glyph's points under a random rotation (±15°), scale (0.75-1.05), shear and shift, in canvas pixels."""
    angle, scale = rng.uniform(-0.26, 0.26), rng.uniform(0.75, 1.05)
    shear, (dx, dy) = rng.uniform(-0.2, 0.2), rng.uniform(-0.08, 0.08, 2)
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    moved = []
    for x, y in points:
        x, y = x - 0.5 + shear * (y - 0.5), y - 0.5
        x, y = cos * x - sin * y + 0.5 + dx, sin * x + cos * y + 0.5 + dy
        moved.append((x * canvas, y * canvas))
    return moved


def _draw_strokes(rng: np.random.Generator, size: int, light_on_dark: bool) -> np.ndarray:
    canvas = size * SUPERSAMPLE
    names = list(GLYPHS)
    glyph = GLYPHS[names[int(rng.integers(len(names)))]]
    ink = int(rng.integers(180, 256)) if light_on_dark else int(rng.integers(0, 70))
    paper = int(rng.integers(0, 30)) if light_on_dark else int(rng.integers(225, 256))
    image = Image.new("L", (canvas, canvas), paper)
    draw = ImageDraw.Draw(image)
    width = max(1, round(canvas * rng.uniform(0.06, 0.11)))
    for line in glyph:
        points = _jitter(line, rng, canvas)
        draw.line(points, fill=ink, width=width, joint="curve")
        for x, y in (points[0], points[-1]):  # round caps, as a pen leaves
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=ink)
    image = image.resize((size, size), Image.LANCZOS)
    return np.repeat(np.asarray(image)[:, :, None], 3, axis=2)


def draw_strokes_on_dark(rng: np.random.Generator, size: int) -> np.ndarray:
    """One light glyph of ten kinds on a near-black background, like a handwriting set."""
    return _draw_strokes(rng, size, light_on_dark=True)


def draw_line_art_on_white(rng: np.random.Generator, size: int) -> np.ndarray:
    """One dark glyph of ten kinds on near-white paper, like ink drawings."""
    return _draw_strokes(rng, size, light_on_dark=False)


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    return np.meshgrid(coords, coords, indexing="xy")


def draw_object_on_white(rng: np.random.Generator, size: int) -> np.ndarray:
    """One shaded shape or smiley icon on a white background, with a soft shadow below it."""
    x, y = _grid(size)
    kind = SHAPES[int(rng.integers(len(SHAPES)))]
    cx, cy = rng.uniform(0.4, 0.6, 2)
    radius = rng.uniform(0.22, 0.34)
    angle = rng.uniform(0, 2 * math.pi)
    dx, dy = x - cx, y - cy
    rx = (math.cos(angle) * dx + math.sin(angle) * dy) / radius
    ry = (-math.sin(angle) * dx + math.cos(angle) * dy) / radius
    if kind in ("disc", "face"):
        inside = rx ** 2 + ry ** 2 <= 1
    elif kind == "box":
        inside = np.maximum(np.abs(rx), np.abs(ry)) <= 0.8
    elif kind == "triangle":
        inside = (ry <= 0.6) & (ry >= 1.7 * np.abs(rx) - 1.0)
    else:  # star: a radius that swings five times around the centre
        theta = np.arctan2(ry, rx)
        inside = np.hypot(rx, ry) <= 0.6 + 0.4 * np.cos(5 * theta)
    hue = 0.14 if kind == "face" else rng.uniform(0, 1)
    base = np.array(_rgb(hue, rng.uniform(0.5, 0.9), rng.uniform(0.7, 1.0)), np.float32) / 255
    # Lit from the upper left: brighter towards it, darker away.
    light = np.clip(1.05 - 0.35 * (dx + dy) / radius, 0.45, 1.2)[:, :, None]
    shadow = np.exp(-((x - cx - 0.04) ** 2 + (y - cy - 0.06) ** 2) / (2 * (radius * 0.9) ** 2))
    pixels = np.ones((size, size, 3), np.float32) * (1 - 0.25 * shadow[:, :, None])
    pixels = np.where(inside[:, :, None], np.clip(base * light, 0, 1), pixels)
    if kind == "face":
        eyes = ((np.hypot(rx + 0.35, ry + 0.3) < 0.14) | (np.hypot(rx - 0.35, ry + 0.3) < 0.14))
        smile = (np.abs(np.hypot(rx, ry + 0.05) - 0.55) < 0.08) & (ry > 0.15)
        pixels[(eyes | smile) & inside] = 0.1
    return (pixels * 255).round().astype(np.uint8)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int, channels: int) -> np.ndarray:
    """Noise with features about size/cells across: a coarse random grid enlarged bicubically, in [0, 1]."""
    coarse = rng.random((cells, cells, channels)).astype(np.float32)
    planes = [np.asarray(Image.fromarray(coarse[:, :, c], mode="F").resize((size, size), Image.BICUBIC))
              for c in range(channels)]
    return np.clip(np.stack(planes, axis=2), 0, 1)


def draw_noisy_texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A texture of four kinds (stripes, blotches, grain, weave) in a two-colour palette, with pixel noise."""
    x, y = _grid(size)
    kind = int(rng.integers(4))
    if kind == 0:
        angle, frequency = rng.uniform(0, math.pi), rng.uniform(4, 8)
        pattern = 0.5 + 0.5 * np.sin(2 * math.pi * frequency * (x * math.cos(angle) + y * math.sin(angle)))
    elif kind == 1:
        pattern = _smooth_noise(rng, size, 5, 1)[:, :, 0]
    elif kind == 2:
        pattern = _smooth_noise(rng, size, max(4, size // 2), 1)[:, :, 0]
    else:
        frequency = rng.uniform(3, 6)
        pattern = 0.5 + 0.25 * (np.sin(2 * math.pi * frequency * x) + np.sin(2 * math.pi * frequency * y))
    hue = rng.uniform(0, 1)
    dark = np.array(_rgb(hue, 0.6, 0.25), np.float32) / 255
    light = np.array(_rgb(hue + rng.uniform(0.05, 0.2), 0.4, 0.9), np.float32) / 255
    pixels = dark + pattern[:, :, None] * (light - dark) + rng.normal(0, 0.08, (size, size, 3)).astype(np.float32)
    return (np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)


def draw_painting(rng: np.random.Generator, size: int) -> np.ndarray:
    """Blurred colour fields under a few brush-like strokes, with a head-and-shoulders shape in the middle."""
    canvas = size * SUPERSAMPLE
    hue = rng.uniform(0, 1)
    field = _smooth_noise(rng, canvas, 3, 3) * 0.5 + np.array(_rgb(hue, 0.5, 0.6), np.float32) / 255 * 0.5
    image = Image.fromarray((np.clip(field, 0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image, "RGBA")
    skin = _rgb(rng.uniform(0.02, 0.1), rng.uniform(0.3, 0.6), rng.uniform(0.55, 0.95))
    cloth = _rgb(hue + 0.5, 0.6, rng.uniform(0.3, 0.7))
    cx = canvas * rng.uniform(0.42, 0.58)
    draw.ellipse((cx - canvas * 0.34, canvas * 0.68, cx + canvas * 0.34, canvas * 1.3), fill=cloth + (255,))
    draw.ellipse((cx - canvas * 0.16, canvas * 0.22, cx + canvas * 0.16, canvas * 0.66), fill=skin + (255,))
    for _ in range(int(rng.integers(4, 9))):
        start = rng.uniform(0, canvas, 2)
        end = start + rng.normal(0, canvas * 0.25, 2)
        colour = _rgb(hue + rng.normal(0, 0.15), rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.95))
        draw.line((*start, *end), fill=colour + (int(rng.integers(70, 160)),), width=int(canvas * rng.uniform(0.04, 0.1)))
    image = image.filter(ImageFilter.GaussianBlur(canvas * 0.012)).resize((size, size), Image.LANCZOS)
    return np.asarray(image)


def draw_pixel_art(rng: np.random.Generator, size: int) -> np.ndarray:
    """A left-right symmetric 8 x 8 sprite in a four-colour palette on a flat background, enlarged without smoothing."""
    hue = rng.uniform(0, 1)
    palette = np.array([_rgb(hue + 0.5, 0.3, 0.15), _rgb(hue, 0.8, 0.9), _rgb(hue + 0.1, 0.7, 0.6),
                        _rgb(hue, 0.2, 1.0)], np.uint8)
    half = rng.choice(4, size=(8, 4), p=[0.45, 0.3, 0.15, 0.1])
    half[0, :] = half[-1, :] = 0  # a clear margin, as sprites have
    sprite = np.concatenate([half, half[:, ::-1]], axis=1)
    image = Image.fromarray(palette[sprite]).resize((size, size), Image.NEAREST)
    return np.asarray(image)


def draw_photo(rng: np.random.Generator, size: int) -> np.ndarray:
    """A landscape-like scene: a sky gradient, a horizon, a sun, smooth ground, and sensor noise."""
    x, y = _grid(size)
    horizon = rng.uniform(0.45, 0.7) + 0.05 * np.sin(2 * math.pi * (x * rng.uniform(0.5, 2) + rng.uniform(0, 1)))
    sky_top = np.array(_rgb(rng.uniform(0.55, 0.65), 0.6, rng.uniform(0.5, 0.9)), np.float32) / 255
    sky_low = np.array(_rgb(rng.uniform(0.0, 0.15), 0.35, 0.95), np.float32) / 255
    ground = np.array(_rgb(rng.uniform(0.2, 0.38), 0.6, rng.uniform(0.25, 0.55)), np.float32) / 255
    t = np.clip(y / horizon, 0, 1)[:, :, None]
    sky = sky_top * (1 - t) + sky_low * t
    land = ground * (0.75 + 0.5 * _smooth_noise(rng, size, 6, 1))
    pixels = np.where((y < horizon)[:, :, None], sky, land)
    sx, sy = rng.uniform(0.2, 0.8), rng.uniform(0.12, 0.35)
    sun = np.exp(-((x - sx) ** 2 + (y - sy) ** 2) / (2 * 0.05 ** 2))[:, :, None]
    pixels = pixels + sun * (1 - pixels) * 0.9 + rng.normal(0, 0.03, (size, size, 3)).astype(np.float32)
    return (np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)


DRAWERS = {
    "strokes_on_dark": draw_strokes_on_dark,
    "line_art_on_white": draw_line_art_on_white,
    "objects_on_white": draw_object_on_white,
    "noisy_textures": draw_noisy_texture,
    "paintings": draw_painting,
    "pixel_art": draw_pixel_art,
    "photos": draw_photo,
}

# The matrix: every character of folder, colour and grey, from 50 to 2,000 pictures.
MATRIX = (
    DatasetSpec("strokes_on_dark", "strokes_on_dark", 500, grey=True),
    DatasetSpec("line_art_on_white", "line_art_on_white", 300, grey=True),
    DatasetSpec("objects_on_white", "objects_on_white", 500),
    DatasetSpec("noisy_textures", "noisy_textures", 300),
    DatasetSpec("paintings", "paintings", 300),
    DatasetSpec("pixel_art", "pixel_art", 300),
    DatasetSpec("photos_grey", "photos", 300, grey=True),
    DatasetSpec("objects_50", "objects_on_white", 50),
    DatasetSpec("strokes_2000", "strokes_on_dark", 2000, grey=True),
)
SPECS = {spec.name: spec for spec in MATRIX}


def to_grey(pixels: np.ndarray) -> np.ndarray:
    """Luminance (ITU-R 601), repeated over the three channels."""
    luminance = pixels[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.repeat(luminance.round().clip(0, 255).astype(np.uint8)[..., None], 3, axis=-1)


def make_pictures(kind: str, count: int, size: int = 32, seed: int = 0, grey: bool = False) -> np.ndarray:
    """`count` pictures of `kind` as N x size x size x 3 uint8; the same arguments give the same pixels."""
    draw = DRAWERS[kind]
    rng = np.random.default_rng([seed, sorted(DRAWERS).index(kind)])
    pixels = np.stack([draw(rng, size) for _ in range(count)])
    return to_grey(pixels) if grey else pixels


def write_pictures(pixels: np.ndarray, folder: Path, grey: bool = False) -> Path:
    """The pictures as picture_0000.png … in `folder` (created); grey ones as one-channel PNGs."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, picture in enumerate(pixels):
        image = Image.fromarray(picture[:, :, 0]) if grey else Image.fromarray(picture)
        image.save(folder / f"picture_{index:04d}.png", compress_level=1)
    return folder


def write_dataset(spec: DatasetSpec, root: Path) -> Path:
    """The spec's pictures as a PNG folder named after it under `root`; its path."""
    return write_pictures(spec.pictures(), Path(root) / spec.name, spec.grey)


def contact_sheet(pixels: np.ndarray, columns: int = 8) -> np.ndarray:
    """The first pictures side by side, columns x rows, to look at a dataset."""
    count = min(len(pixels), columns * columns)
    rows = math.ceil(count / columns)
    height, width = pixels.shape[1:3]
    sheet = np.zeros((rows * height, columns * width, 3), np.uint8)
    for index in range(count):
        row, column = divmod(index, columns)
        sheet[row * height:(row + 1) * height, column * width:(column + 1) * width] = pixels[index]
    return sheet


if __name__ == "__main__":
    import sys
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "datasets_preview")
    out.mkdir(parents=True, exist_ok=True)
    for spec in MATRIX:
        Image.fromarray(contact_sheet(make_pictures(spec.kind, 64, 64, spec.seed, spec.grey))).save(out / f"{spec.name}.png")
    print(f"contact sheets in {out}")
