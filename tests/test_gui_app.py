"""The app as a whole: entry point, layering, resources shipped, theme, shortcuts, and what it remembers."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication

import ganstudio
from ganstudio.gui import theme
from ganstudio.gui.resources import app_icon, icon, resources_dir
from ganstudio.gui.settings import AppSettings

ROOT = Path(ganstudio.__file__).resolve().parent.parent


def test_only_the_gui_package_imports_qt():
    for path in (ROOT / "ganstudio").rglob("*.py"):
        if "gui" in path.relative_to(ROOT / "ganstudio").parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+(PySide6|pyqtgraph|shiboken6)", text, re.M), path


OPEN_AND_CLOSE = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from ganstudio.cli import main

app = QApplication(sys.argv[:1])

def close_when_shown():
    for widget in QApplication.topLevelWidgets():
        if type(widget).__name__ == "MainWindow" and widget.isVisible():
            print("shown:", widget.windowTitle(), flush=True)
            widget.close()
            return
    QTimer.singleShot(50, close_when_shown)

QTimer.singleShot(50, close_when_shown)
sys.exit(main([]))
"""


def test_ganstudio_without_arguments_opens_the_window_and_exits_cleanly(tiny_dataset):
    settings = AppSettings()
    settings.set_value("dataset/paths", [str(tiny_dataset)])
    settings.set_value("dataset/demo", False)
    settings.sync()
    result = subprocess.run([sys.executable, "-c", OPEN_AND_CLOSE], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "shown: GAN Studio" in result.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="elsewhere the window needs no DISPLAY")
def test_without_a_screen_ganstudio_says_so_instead_of_aborting():
    environ = {key: value for key, value in os.environ.items()
               if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "ganstudio"], capture_output=True, text=True, timeout=120,
                            env=environ)
    assert result.returncode == 1
    assert "There is no screen here" in result.stderr and "ganstudio train" in result.stderr
    assert "Traceback" not in result.stderr and "qt.qpa" not in result.stderr


def test_missing_x11_libraries_are_named_with_their_packages():
    from ganstudio.gui.app import display_problem
    missing = {"libxcb-icccm.so.4", "libxcb-cursor.so.0"}
    problem = display_problem({"DISPLAY": ":0"}, "linux", loads=lambda library: library not in missing)
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4" in problem
    assert display_problem({"DISPLAY": ":0"}, "linux", loads=lambda library: True) is None
    # Other platforms, Wayland sessions and Qt's own non-X11 plugins need none of them.
    never = lambda library: False  # noqa: E731
    assert display_problem({"DISPLAY": ":0"}, "darwin", loads=never) is None
    assert display_problem({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux", loads=never) is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", loads=never) is None
    assert "sudo apt install" in display_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux", loads=never)


def test_the_window_opens_without_waiting_for_torch():
    """torch takes seconds to import; the window's own modules must not need it (the probe loads it later)."""
    script = "import sys\nimport ganstudio.gui.app, ganstudio.gui.main_window\nprint('torch' in sys.modules)\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"


def test_every_resource_is_shipped_and_loads(qtbot):
    folder = resources_dir()
    assert folder == ROOT / "resources"
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "ganstudio.resources"]
    for path in folder.rglob("*"):
        if path.is_file():
            relative = path.relative_to(folder).as_posix()
            assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), f"{relative} would not ship"
    for svg in (folder / "icons").glob("*.svg"):
        assert not icon(svg.stem).pixmap(QSize(24, 24)).isNull(), svg.name
    assert app_icon().availableSizes(), "the app icon has its PNG sizes"
    assert "ganstudio.resources" in (ROOT / "setup.py").read_text()


def test_the_packaging_recipe_names_files_that_exist():
    spec = (ROOT / "packaging" / "ganstudio.spec").read_text()
    named = re.findall(r"(?:ROOT|PACKAGING)\s*/\s*\"([^\"]+)\"", spec)
    assert named, "the spec names its inputs relative to the repository"
    for relative in named:
        assert (ROOT / relative).exists() or (ROOT / "packaging" / relative).exists(), relative
    desktop = (ROOT / "packaging" / "ganstudio.desktop").read_text()
    assert "Exec=ganstudio" in desktop and "Icon=ganstudio" in desktop
    assert (ROOT / "packaging" / "README.md").exists()


def test_dark_and_light_looks(qtbot, make_window, tiny_dataset):
    window = make_window(dataset=tiny_dataset)
    window.set_theme("dark")
    assert theme.current().dark and QApplication.palette().window().color().lightness() < 60
    assert window.settings.value("view/theme", "") == "dark"
    window.set_theme("light")
    assert not theme.current().dark and QApplication.palette().window().color().lightness() > 200


def test_keyboard_shortcuts_switch_pages(qtbot, make_window, tiny_dataset):
    window = make_window(dataset=tiny_dataset)
    with qtbot.waitActive(window):
        window.activateWindow()
    for number, key in ((1, "dataset"), (3, "generate"), (4, "image-to-image"), (5, "runs"), (2, "train")):
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_0 + number), Qt.KeyboardModifier.ControlModifier)
        assert window.current_page_key() == key


def test_the_window_remembers_its_page_and_settings(qtbot, make_window, tiny_dataset):
    window = make_window(dataset=tiny_dataset)
    window.show_page("runs")
    window.train_page.settings_table["batch_size"].setValue(24)
    window.image_to_image_page.converter.max_side.setValue(512)
    window.close()
    saved_geometry = window.settings.bytes_value("window/geometry")
    assert saved_geometry is not None and window.settings.bytes_value("splitters/train") is not None
    again = make_window(window_size=None)
    assert again.current_page_key() == "runs"
    assert again.train_page.settings_table["batch_size"].value() == 24
    assert again.image_to_image_page.converter.max_side.value() == 512, "Convert's largest side is remembered"
    assert again.restoreGeometry(saved_geometry)
    assert again.workspace.dataset.paths == [str(tiny_dataset)]


def test_a_built_wheel_holds_every_package_and_the_resources(tmp_path):
    """What `pip install .` installs: every package (namespace ones too) and resources/ as ganstudio/resources."""
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 68:
        pytest.skip("building needs setuptools 68 or newer")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(tmp_path.glob("ganstudio-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for source in (ROOT / "ganstudio").rglob("*.py"):
        assert source.relative_to(ROOT).as_posix() in names, f"{source.relative_to(ROOT)} is not in the wheel"
    for resource in resources_dir().rglob("*"):
        if resource.is_file():
            assert f"ganstudio/resources/{resource.relative_to(resources_dir()).as_posix()}" in names


def test_the_enlarged_picture_is_titled_by_its_caption_alone(qtbot):
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QPushButton
    from ganstudio import APP_NAME
    from ganstudio.gui.widgets.image_view import EnlargeDialog
    pictures = {0: "1 epoch done · step 59", 1: "2 epochs done · step 118"}
    shown = [0]

    def step(offset):
        shown[0] = min(1, max(0, shown[0] + offset))
        return QImage(8, 8, QImage.Format.Format_RGB32), pictures[shown[0]]

    dialog = EnlargeDialog(None, QImage(8, 8, QImage.Format.Format_RGB32), pictures[0], step)
    qtbot.addWidget(dialog)
    # The window system appends the application's display name; the title must not say it a second time.
    assert dialog.windowTitle() == "1 epoch done · step 59" and APP_NAME not in dialog.windowTitle()
    next_button = next(button for button in dialog.findChildren(QPushButton) if "Next" in button.toolTip())
    next_button.click()
    assert dialog.windowTitle() == "2 epochs done · step 118", "the title follows the picture shown"


@pytest.mark.parametrize("look", ["light", "dark"])
def test_a_disabled_secondary_button_looks_off(qtbot, look):
    import numpy as np
    from PySide6.QtWidgets import QPushButton
    theme.apply(QApplication.instance(), look)
    try:
        buttons = {}
        for enabled in (True, False):
            widget = QPushButton("Export the grid")
            widget.setEnabled(enabled)
            qtbot.addWidget(widget)
            widget.resize(160, 34)
            widget.show()
            buttons[enabled] = widget
        qtbot.waitUntil(lambda: all(widget.isVisible() for widget in buttons.values()))

        def text_contrast(widget) -> float:
            image = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB888)
            pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
            pixels = pixels[:, :image.width() * 3].reshape(image.height(), image.width(), 3).astype(float)
            middle = pixels[8:-8, 12:-12]
            background = np.median(middle.reshape(-1, 3), axis=0)
            return float(np.linalg.norm(middle - background, axis=2).max())

        live, off = text_contrast(buttons[True]), text_contrast(buttons[False])
        assert off < 0.5 * live, f"a disabled button's words fade well below a live one's ({off:.0f} vs {live:.0f})"
        assert off > 0.15 * live, "but they can still be read"
    finally:
        theme.apply(QApplication.instance(), "light")
