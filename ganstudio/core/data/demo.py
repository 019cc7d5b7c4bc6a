"""The built-in demo datasets, drawn by our own code: colourful shapes, and a pair of domains for image-to-image."""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

DEMO_COUNT = 3000
DEMO_SEED = 20261125
SHAPES = ("circle", "square", "triangle", "star", "ring", "diamond")
# Part of the cache key: bump it when the drawing changes, so cached copies are drawn again.
SHAPES_VERSION = 2
# Drawn at this multiple of the final size and reduced with Lanczos, for clean anti-aliased edges.
SUPERSAMPLE = 2


def _rgb(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255)


def _polygon(kind: str, cx: float, cy: float, radius: float, angle: float) -> list[tuple[float, float]]:
    if kind == "square":
        corners, offset = 4, math.pi / 4
        radii = [radius] * corners
    elif kind == "triangle":
        corners, offset = 3, -math.pi / 2
        radii = [radius * 1.1] * corners
    elif kind == "diamond":
        corners, offset = 4, 0.0
        radii = [radius * 1.1, radius * 0.7] * 2
    else:  # star
        corners, offset = 10, -math.pi / 2
        radii = [radius * 1.1 if i % 2 == 0 else radius * 0.55 for i in range(corners)]
    points = []
    for i in range(corners):
        theta = offset + angle + 2 * math.pi * i / corners
        points.append((cx + radii[i] * math.cos(theta), cy + radii[i] * math.sin(theta)))
    return points


def _background(canvas_size: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    ramp = np.linspace(0.0, 1.0, canvas_size, dtype=np.float32)[:, None, None]
    colours = (1 - ramp) * np.array(top, np.float32) + ramp * np.array(bottom, np.float32)
    pixels = np.broadcast_to(colours, (canvas_size, canvas_size, 3)).round().astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(pixels), "RGB")


def draw_shape(rng: np.random.Generator, size: int) -> np.ndarray:
    """One demo picture: a bright shape with a soft shadow on a pastel gradient."""
    canvas_size = size * SUPERSAMPLE
    kind = SHAPES[int(rng.integers(len(SHAPES)))]
    hue = float(rng.random())
    background_hue = hue + 0.5 + float(rng.normal(0, 0.08))  # roughly complementary: the shape stands out
    image = _background(canvas_size, _rgb(background_hue, 0.18, 0.97), _rgb(background_hue + 0.06, 0.32, 0.86))
    # Large, nearly centred, upright shapes: a 2-core CPU then shows stars, rings and triangles within
    # minutes. Free positions and rotations made the same 4 minutes end in round blobs.
    radius = canvas_size * float(rng.uniform(0.27, 0.35))
    cx = canvas_size * (0.5 + float(rng.normal(0, 0.035)))
    cy = canvas_size * (0.5 + float(rng.normal(0, 0.035)))
    angle = float(rng.normal(0, 0.12))
    fill = _rgb(hue, float(rng.uniform(0.7, 0.95)), float(rng.uniform(0.8, 1.0)))
    outline = _rgb(hue, 0.9, 0.45)
    line = max(1, canvas_size // 40)

    shadow = Image.new("L", image.size, 0)
    shadow_draw = ImageDraw.Draw(shadow)
    offset = canvas_size * 0.035
    _draw(shadow_draw, kind, cx + offset, cy + offset, radius, angle, 110, None, 0)
    shadow = shadow.filter(ImageFilter.GaussianBlur(canvas_size * 0.03))
    image.paste(Image.new("RGB", image.size, (40, 40, 60)), (0, 0), shadow)

    _draw(ImageDraw.Draw(image), kind, cx, cy, radius, angle, fill, outline, line)
    return np.asarray(image.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def _draw(draw: ImageDraw.ImageDraw, kind: str, cx: float, cy: float, radius: float, angle: float,
          fill, outline, line: int) -> None:
    if kind == "circle":
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill, outline=outline, width=line)
    elif kind == "ring":
        thickness = radius * 0.42
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=fill, width=round(thickness))
        if outline is not None:
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=outline, width=line)
            inner = radius - thickness
            draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), outline=outline, width=line)
    else:
        points = _polygon(kind, cx, cy, radius, angle)
        draw.polygon(points, fill=fill, outline=outline, width=line)


def make_demo_images(size: int = 64, count: int = DEMO_COUNT, seed: int = DEMO_SEED) -> np.ndarray:
    """The demo dataset as count x size x size x 3 uint8; the same numbers on every machine for the same seed."""
    rng = np.random.Generator(np.random.PCG64(seed))
    pixels = np.empty((count, size, size, 3), dtype=np.uint8)
    for index in range(count):
        pixels[index] = draw_shape(rng, size)
    return pixels


# The image-to-image demo: the same kind of scenes by day (domain A) and by night (domain B). Each
# domain draws its own scenes, so the two folders are unpaired, as a user's are; but any scene can be
# drawn both ways, so the true translation of a test picture is known and a model can be measured.
DAY_NIGHT_COUNT = 1000
DAY_NIGHT_VERSION = 2  # bump when the drawing changes, so cached copies are drawn again
DAY_NIGHT_SEEDS = {"day": 20261201, "night": 20261202, "test": 20261203}


@dataclass(frozen=True)
class Scene:
    """Everything that varies between demo scenes, in units of the canvas size; a style draws it by day or night."""

    kind: str
    hue: float
    background_hue: float
    saturation: float
    value: float
    radius: float
    cx: float
    cy: float
    angle: float


def random_scene(rng: np.random.Generator) -> Scene:
    kind = SHAPES[int(rng.integers(len(SHAPES)))]
    hue = float(rng.random())
    background_hue = hue + 0.5 + float(rng.normal(0, 0.08))
    radius = float(rng.uniform(0.24, 0.36))
    margin = radius * 1.15
    return Scene(kind, hue, background_hue, float(rng.uniform(0.7, 0.95)), float(rng.uniform(0.8, 1.0)), radius,
                 float(rng.uniform(margin, 1 - margin)), float(rng.uniform(margin, 1 - margin)),
                 float(rng.uniform(0, 2 * math.pi)))


def draw_scene(scene: Scene, size: int, style: str) -> np.ndarray:
    """One scene as size x size x 3 uint8: 'day' is a bright shape with a soft shadow on a pastel gradient;
    'night' is the same shape dark, outlined in neon of its own hue, glowing on a deep gradient."""
    canvas_size = size * SUPERSAMPLE
    radius, cx, cy = scene.radius * canvas_size, scene.cx * canvas_size, scene.cy * canvas_size
    line = max(1, canvas_size // 40)
    night = style == "night"
    if night:
        image = _background(canvas_size, _rgb(scene.background_hue, 0.55, 0.30),
                            _rgb(scene.background_hue + 0.06, 0.65, 0.14))
        fill, outline = _rgb(scene.hue, scene.saturation, 0.30 * scene.value), _rgb(scene.hue, 0.45, 1.0)
        halo_colour, halo_offset, line = _rgb(scene.hue, 0.6, 1.0), 0.0, line * 2
    else:
        image = _background(canvas_size, _rgb(scene.background_hue, 0.18, 0.97),
                            _rgb(scene.background_hue + 0.06, 0.32, 0.86))
        fill, outline = _rgb(scene.hue, scene.saturation, scene.value), _rgb(scene.hue, 0.9, 0.45)
        halo_colour, halo_offset = (40, 40, 60), canvas_size * 0.035
    halo = Image.new("L", image.size, 0)
    _draw(ImageDraw.Draw(halo), scene.kind, cx + halo_offset, cy + halo_offset, radius * (1.08 if night else 1.0),
          scene.angle, 110, None, 0)
    halo = halo.filter(ImageFilter.GaussianBlur(canvas_size * 0.03))
    image.paste(Image.new("RGB", image.size, halo_colour), (0, 0), halo)
    _draw(ImageDraw.Draw(image), scene.kind, cx, cy, radius, scene.angle, fill, outline, line)
    return np.asarray(image.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def make_day_night_images(domain: str, size: int, count: int = DAY_NIGHT_COUNT) -> np.ndarray:
    """The demo's domain 'day' (A) or 'night' (B): count x size x size x 3 uint8, each of its own scenes."""
    rng = np.random.Generator(np.random.PCG64(DAY_NIGHT_SEEDS[domain]))
    pixels = np.empty((count, size, size, 3), dtype=np.uint8)
    for index in range(count):
        pixels[index] = draw_scene(random_scene(rng), size, domain)
    return pixels


def make_day_night_test_pairs(size: int, count: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Scenes no training picture shows, drawn both by day and by night: the truth a translation is measured against."""
    rng = np.random.Generator(np.random.PCG64(DAY_NIGHT_SEEDS["test"]))
    scenes = [random_scene(rng) for _ in range(count)]
    day = np.stack([draw_scene(scene, size, "day") for scene in scenes])
    night = np.stack([draw_scene(scene, size, "night") for scene in scenes])
    return day, night


DEMO_SETS = {"shapes": "built-in demo shapes", "day": "built-in demo scenes by day",
             "night": "built-in demo scenes by night"}


def make_demo_set(name: str, size: int) -> np.ndarray:
    """The pictures of one named built-in demo set."""
    if name == "shapes":
        return make_demo_images(size)
    if name in ("day", "night"):
        return make_day_night_images(name, size)
    raise ValueError(f"unknown demo set {name!r}")


# A second image-to-image pair of another character: texture, not light. Domain A ('plain') is a flat
# shape on a pale background; domain B ('striped') is the same shape filled with stripes of its own hue,
# like horse to zebra. The stripes always run at STRIPE_ANGLE and are anchored at the shape's centre, so
# every plain picture has one true striped picture (a circle shows no angle of its own to follow), and a
# phase-blind error can judge a translation whose stripes are right but shifted. Measurement only: no
# page offers it.
STRIPES_SEEDS = {"plain": 20261211, "striped": 20261212, "test": 20261213}
STRIPE_PERIOD = 1 / 10  # of the picture's side: 6.4 px at 64 px, wide enough to survive two downsamplings
STRIPE_ANGLE = math.pi / 4


def draw_plain_or_striped(scene: Scene, size: int, style: str) -> np.ndarray:
    """One scene as size x size x 3 uint8: 'plain' is flatly filled, 'striped' has dark stripes across the shape."""
    canvas_size = size * SUPERSAMPLE
    radius, cx, cy = scene.radius * canvas_size, scene.cx * canvas_size, scene.cy * canvas_size
    image = _background(canvas_size, _rgb(scene.background_hue, 0.12, 0.95), _rgb(scene.background_hue, 0.12, 0.95))
    fill, outline = _rgb(scene.hue, scene.saturation, scene.value), _rgb(scene.hue, 0.9, 0.45)
    _draw(ImageDraw.Draw(image), scene.kind, cx, cy, radius, scene.angle, fill, outline, max(1, canvas_size // 40))
    if style == "striped":
        mask = Image.new("L", image.size, 0)
        _draw(ImageDraw.Draw(mask), scene.kind, cx, cy, radius, scene.angle, 255, None, 0)
        rows, columns = np.mgrid[0:canvas_size, 0:canvas_size].astype(np.float32)
        across = ((columns - cx) * math.cos(STRIPE_ANGLE) + (rows - cy) * math.sin(STRIPE_ANGLE)) / canvas_size
        stripes = (across / STRIPE_PERIOD) % 1.0 < 0.5
        dark = np.asarray(mask) > 127
        pixels = np.array(image)
        pixels[stripes & dark] = _rgb(scene.hue, 0.9, 0.2)
        image = Image.fromarray(pixels, "RGB")
    return np.asarray(image.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def make_stripes_images(domain: str, size: int, count: int = DAY_NIGHT_COUNT) -> np.ndarray:
    """The pair's domain 'plain' (A) or 'striped' (B): count x size x size x 3 uint8, each of its own scenes."""
    rng = np.random.Generator(np.random.PCG64(STRIPES_SEEDS[domain]))
    return np.stack([draw_plain_or_striped(random_scene(rng), size, domain) for _ in range(count)])


def make_stripes_test_pairs(size: int, count: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Scenes no training picture shows, drawn plain and striped: the truth a translation is measured against."""
    rng = np.random.Generator(np.random.PCG64(STRIPES_SEEDS["test"]))
    scenes = [random_scene(rng) for _ in range(count)]
    return (np.stack([draw_plain_or_striped(scene, size, "plain") for scene in scenes]),
            np.stack([draw_plain_or_striped(scene, size, "striped") for scene in scenes]))
