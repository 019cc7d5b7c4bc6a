"""numpy pictures to QImage and QPixmap; called in the GUI thread only, as Qt paint devices require."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap


def qimage_from_rgb(pixels: np.ndarray) -> QImage:
    """An H x W x 3 uint8 array as a QImage that owns its own copy of the pixels."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width, _ = pixels.shape
    image = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()  # detach from the numpy buffer, which may be a memory map that closes


def pixmap_from_rgb(pixels: np.ndarray, side: int | None = None, smooth: bool = True) -> QPixmap:
    """A pixmap of the picture, scaled to fit `side` x `side` when given."""
    image = qimage_from_rgb(pixels)
    if side is not None and (image.width() != side or image.height() != side):
        mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
        image = image.scaled(QSize(side, side), Qt.AspectRatioMode.KeepAspectRatio, mode)
    return QPixmap.fromImage(image)
