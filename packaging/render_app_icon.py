"""Render resources/app-icon/ganstudio.svg to the PNG sizes desktops and installers ask for.

Run after changing the SVG:  QT_QPA_PLATFORM=offscreen python packaging/render_app_icon.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
FOLDER = Path(__file__).resolve().parent.parent / "resources" / "app-icon"


def main() -> int:
    app = QGuiApplication(sys.argv[:1])  # noqa: F841 - QSvgRenderer needs an application
    renderer = QSvgRenderer(str(FOLDER / "ganstudio.svg"))
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(str(FOLDER / f"ganstudio-{size}.png"))
    print(f"wrote {len(SIZES)} PNGs to {FOLDER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
