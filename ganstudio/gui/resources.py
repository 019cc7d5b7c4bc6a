"""Finding the app's runtime assets on disk, and icons drawn from SVG in the colours of the current theme."""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QByteArray, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QIconEngine, QImage, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

import ganstudio

APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


@functools.lru_cache(maxsize=1)
def resources_dir() -> Path:
    """The resources folder: inside the installed package, or at the top of a source checkout."""
    package = Path(ganstudio.__file__).resolve().parent
    for candidate in (package / "resources", package.parent / "resources"):
        if (candidate / "icons").is_dir():
            return candidate
    raise FileNotFoundError(f"GAN Studio's resources folder is missing (looked in {package / 'resources'}); "
                            "reinstall the app.")


def icon_path(name: str) -> Path:
    return resources_dir() / "icons" / f"{name}.svg"


def app_icon() -> QIcon:
    """The app's own icon, from the PNG sizes (crisp at small sizes) with the SVG for anything larger."""
    folder = resources_dir() / "app-icon"
    icon = QIcon()
    for size in APP_ICON_SIZES:
        png = folder / f"ganstudio-{size}.png"
        if png.is_file():
            icon.addFile(str(png), QSize(size, size))
    icon.addFile(str(folder / "ganstudio.svg"))
    return icon


class _ThemedSvgEngine(QIconEngine):
    """Paints an SVG whose strokes say currentColor in the palette's text colour at paint time.

    So icons follow a switch between light and dark themes without being rebuilt, and stay sharp
    at any size and device pixel ratio (they are vector-drawn on demand, never scaled bitmaps).
    """

    def __init__(self, svg_text: str, role: QPalette.ColorRole, colour: QColor | None = None):
        super().__init__()
        self._svg_text = svg_text
        self._role = role
        self._colour = colour
        self._renderers: dict[str, QSvgRenderer] = {}

    def _renderer(self, mode: QIcon.Mode) -> QSvgRenderer:
        colour = self._colour if self._colour is not None else QGuiApplication.palette().color(self._role)
        if mode == QIcon.Mode.Disabled:
            colour = QColor(colour)
            colour.setAlphaF(0.35)
        elif mode == QIcon.Mode.Selected and self._colour is None:
            colour = QGuiApplication.palette().color(QPalette.ColorRole.HighlightedText)
        key = colour.name(QColor.NameFormat.HexArgb)
        renderer = self._renderers.get(key)
        if renderer is None:
            rgba = f"rgb({colour.red()},{colour.green()},{colour.blue()})"
            text = self._svg_text.replace("currentColor", rgba)
            if colour.alpha() < 255:
                text = text.replace("<svg ", f'<svg opacity="{colour.alphaF():.2f}" ', 1)
            renderer = self._renderers[key] = QSvgRenderer(QByteArray(text.encode()))
        return renderer

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        side = min(rect.width(), rect.height())
        square = QRect(rect.x() + (rect.width() - side) // 2, rect.y() + (rect.height() - side) // 2, side, side)
        self._renderer(mode).render(painter, square)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:
        width, height = max(1, round(size.width() * scale)), max(1, round(size.height() * scale))
        image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        self.paint(painter, QRect(QPoint(0, 0), QSize(width, height)), mode, state)
        painter.end()
        pixmap = QPixmap.fromImage(image)
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def clone(self) -> QIconEngine:
        return _ThemedSvgEngine(self._svg_text, self._role, self._colour)


@functools.lru_cache(maxsize=None)
def _svg_text(name: str) -> str:
    return icon_path(name).read_text(encoding="utf-8")


def icon(name: str, colour: str | QColor | None = None,
         role: QPalette.ColorRole = QPalette.ColorRole.ButtonText) -> QIcon:
    """The named icon from resources/icons, drawn in `colour` or else in the palette's `role` colour."""
    fixed = QColor(colour) if colour is not None else None
    return QIcon(_ThemedSvgEngine(_svg_text(name), role, fixed))
