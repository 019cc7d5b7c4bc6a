"""A picture that fits its space (crisp pixels when enlarged), and the dialog that shows one large."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QMouseEvent, QPainter, QPaintEvent, QShortcut
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from .. import theme
from ..resources import icon


class ImageView(QWidget):
    """Paints one QImage scaled to fit, centred; nearest-neighbour when enlarging so pixels stay honest."""

    clicked = Signal()

    def __init__(self, placeholder: str = "", parent: QWidget | None = None, clickable: bool = False,
                 caption: str = ""):
        super().__init__(parent)
        self._image: QImage | None = None
        self._scaled: QImage | None = None
        self._placeholder = placeholder
        # Drawn just under the picture, wherever fitting puts it, so it never drifts away from it.
        self._caption = caption
        self._clickable = clickable
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(64, 64)
        if clickable:
            self.setCursor(Qt.CursorShape.PointingHandCursor)

    def set_image(self, image: QImage | None) -> None:
        self._image = image
        self._scaled = None
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    def _target_rect(self) -> QRect:
        assert self._image is not None
        ratio = self.devicePixelRatioF()
        caption_height = self._caption_height()
        available = QSize(self.width(), max(1, self.height() - caption_height)) * ratio
        image_size = self._image.size()
        scaled = image_size.scaled(available, Qt.AspectRatioMode.KeepAspectRatio)
        if scaled.width() > image_size.width():
            # Enlarge by a whole factor so every source pixel becomes an equal block.
            factor = max(1, scaled.width() // image_size.width())
            scaled = image_size * factor
        width, height = scaled.width() / ratio, scaled.height() / ratio
        top = (self.height() - caption_height - height) / 2
        return QRect(round((self.width() - width) / 2), round(top), round(width), round(height))

    def _caption_height(self) -> int:
        return self.fontMetrics().height() + 6 if self._caption else 0

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self._image is None or self._image.isNull():
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect().adjusted(12, 12, -12, -12),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder)
            return
        target = self._target_rect()
        ratio = self.devicePixelRatioF()
        pixel_size = QSize(round(target.width() * ratio), round(target.height() * ratio))
        if self._scaled is None or self._scaled.size() != pixel_size:
            enlarging = pixel_size.width() >= self._image.width()
            mode = Qt.TransformationMode.FastTransformation if enlarging else Qt.TransformationMode.SmoothTransformation
            self._scaled = self._image.scaled(pixel_size, Qt.AspectRatioMode.IgnoreAspectRatio, mode)
            self._scaled.setDevicePixelRatio(ratio)
        painter.drawImage(target.topLeft(), self._scaled)
        if self._caption:
            painter.setPen(self.palette().placeholderText().color())
            caption_box = QRect(0, target.bottom() + 4, self.width(), self.fontMetrics().height())
            painter.drawText(caption_box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, self._caption)

    def resizeEvent(self, event) -> None:
        self._scaled = None
        super().resizeEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._clickable and event.button() == Qt.MouseButton.LeftButton and self._image is not None:
            self.clicked.emit()
        super().mouseReleaseEvent(event)


class EnlargeDialog(QDialog):
    """One picture large, with a caption; the arrow keys step to the neighbours when a stepper is given."""

    def __init__(self, parent: QWidget | None, image: QImage, caption: str,
                 step: Callable[[int], tuple[QImage, str] | None] | None = None):
        super().__init__(parent)
        # The window system adds the application's name (its display name) after the title itself.
        self.setWindowTitle(caption)
        self._step = step
        self.view = ImageView()
        self.view.set_image(image)
        self.caption = QLabel(caption)
        self.caption.setProperty("role", "muted")
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row = QHBoxLayout()
        if step is not None:
            previous_button = QPushButton(icon("chevron-left"), "")
            previous_button.setToolTip("Previous (Left arrow)")
            previous_button.clicked.connect(lambda: self._move(-1))
            next_button = QPushButton(icon("chevron-right"), "")
            next_button.setToolTip("Next (Right arrow)")
            next_button.clicked.connect(lambda: self._move(1))
            row.addWidget(previous_button)
            row.addWidget(next_button)
            QShortcut(QKeySequence(Qt.Key.Key_Left), self, activated=lambda: self._move(-1))
            QShortcut(QKeySequence(Qt.Key.Key_Right), self, activated=lambda: self._move(1))
        row.addWidget(self.caption, 1)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        self.setStyleSheet(f"QDialog {{ background: {theme.current().base}; }}")
        screen = self.screen().availableGeometry() if self.screen() else QRect(0, 0, 1280, 900)
        side = int(min(screen.width(), screen.height()) * 0.8)
        self.resize(side, side)

    def _move(self, offset: int) -> None:
        if self._step is None:
            return
        found = self._step(offset)
        if found is not None:
            image, caption = found
            self.view.set_image(image)
            self.caption.setText(caption)
            self.setWindowTitle(caption)
