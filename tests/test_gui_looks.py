"""The dark and light looks: icons, radio buttons and the Convert tab's hint are visible and whole in both."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QRadioButton

from ganstudio.gui import theme
from ganstudio.gui.widgets.common import IconLabel


def rgb_pixels(widget_or_pixmap) -> np.ndarray:
    pixmap = widget_or_pixmap.grab() if hasattr(widget_or_pixmap, "grab") else widget_or_pixmap
    image = pixmap.toImage().convertToFormat(pixmap.toImage().Format.Format_RGBA8888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return pixels[:, :image.width() * 4].reshape(image.height(), image.width(), 4).astype(float)


def distance(pixels: np.ndarray, colour: str) -> np.ndarray:
    target = QColor(colour)
    return np.linalg.norm(pixels[..., :3] - [target.red(), target.green(), target.blue()], axis=-1)


@pytest.fixture
def looks(make_window):
    """Switches the window's look; back to light afterwards, for the tests that follow."""
    yield
    theme.apply(QApplication.instance(), "light")


def test_every_icon_picture_takes_the_text_colour_of_the_look_switched_to(qtbot, make_window, looks):
    window = make_window(dataset=None, window_size=(1360, 860))
    window.set_theme("light")
    labels = window.findChildren(IconLabel)
    # The drop zones of the Dataset page and the Convert tab, the Domain A and B folders, the preview arrow.
    assert len(labels) >= 5
    for look in ("dark", "light"):
        window.set_theme(look)
        for icon_label in labels:
            pixels = rgb_pixels(icon_label.pixmap())
            drawn = pixels[pixels[..., 3] > 200]
            assert len(drawn), icon_label.icon_name
            away = distance(drawn, theme.current().text)
            assert np.median(away) < 30, f"{icon_label.icon_name} in {look} is drawn in the look's text colour"


@pytest.mark.parametrize("look", ["light", "dark"])
def test_radio_buttons_stand_out_from_the_window(qtbot, make_window, looks, look):
    window = make_window(dataset=None, window_size=(1360, 860))
    window.set_theme(look)
    window.show_page("dataset")
    buttons = window.dataset_page.fit_buttons
    qtbot.waitUntil(lambda: all(button.isVisible() for button in buttons.values()), timeout=10_000)
    background = theme.current().panel
    for fit, radio in buttons.items():
        indicator = rgb_pixels(radio)[:, :18]  # the ring (and the dot) left of the words
        contrast = distance(indicator, background).max()
        assert contrast > 70, f"the {fit} radio button's ring stands out in {look} ({contrast:.0f})"
    checked = next(radio for radio in buttons.values() if radio.isChecked())
    dot = distance(rgb_pixels(checked)[:, :18], theme.current().accent).min()
    assert dot < 40, "the chosen one is marked in the accent colour"
    assert isinstance(checked, QRadioButton)


def test_the_convert_hint_gets_the_height_of_its_lines(qtbot, make_window):
    window = make_window(dataset=None, window_size=(1360, 860))
    window.show_page("image-to-image")
    page = window.image_to_image_page
    page.tabs.setCurrentIndex(1)
    hint = next(widget for widget in page.converter.findChildren(QLabel)
                if widget.text().startswith("One picture shows before and after"))
    qtbot.waitUntil(hint.isVisible, timeout=10_000)
    assert hint.height() >= hint.heightForWidth(hint.width()) > hint.fontMetrics().height(), \
        "both lines are shown whole"


@pytest.mark.parametrize("look", ["light", "dark"])
def test_check_boxes_stand_out_and_show_their_tick(qtbot, looks, look):
    theme.apply(QApplication.instance(), look)
    boxes = {}
    for checked in (False, True):
        box = QCheckBox("Only starred")
        box.setChecked(checked)
        qtbot.addWidget(box)
        box.show()
        boxes[checked] = box
    qtbot.waitUntil(lambda: all(box.isVisible() for box in boxes.values()))
    background = theme.current().window
    for checked, box in boxes.items():
        indicator = rgb_pixels(box)[:, :18]
        assert distance(indicator, background).max() > 70, f"the box stands out in {look} (checked: {checked})"
    ticked = rgb_pixels(boxes[True])[:, :18]
    assert distance(ticked, theme.current().accent).min() < 40 and distance(ticked, "#ffffff").min() < 60, \
        "a checked box is filled with the accent and carries a white tick"
