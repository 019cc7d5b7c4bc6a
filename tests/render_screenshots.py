"""Render the README screenshots of every page from a real trained run: docs/screenshots/*.png.

    python tests/render_screenshots.py RUN_FOLDER [--out docs/screenshots] [--whole-screen]

RUN_FOLDER is a run of the demo (e.g. `ganstudio train --demo --size 32 --minutes 6 --run DIR`). Data and
cache folders go to a temporary place. The Image to image page is shown training a small CycleGAN on a few
of the built-in day and night scenes for --i2i-seconds (narrow networks, so the gallery fills on a CPU),
then converting one scene. With --whole-screen (under Xvfb, QT_QPA_PLATFORM=xcb) the X
screen itself is captured, as a person would see it, instead of the window's own rendering.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, nargs="?", help="a demo run folder (not needed with --only-i2i)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "screenshots")
    parser.add_argument("--whole-screen", action="store_true")
    parser.add_argument("--train-seconds", type=float, default=25)
    parser.add_argument("--i2i-seconds", type=float, default=90)
    parser.add_argument("--only-i2i", action="store_true", help="render only the Image to image page")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="ganstudio-shots-"))
    os.environ["GANSTUDIO_DATA_DIR"] = str(root / "data")
    os.environ["GANSTUDIO_CACHE_DIR"] = str(root / "cache")
    if args.run is None and not args.only_i2i:
        parser.error("give a demo run folder, or --only-i2i")
    run_dir = root / "data" / "runs" / (args.run.name if args.run else "none")
    if args.run is not None:
        shutil.copytree(args.run, run_dir)
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from ganstudio.gui import theme
    from ganstudio.gui.main_window import MainWindow
    from ganstudio.gui.resources import app_icon
    from ganstudio.gui.settings import AppSettings

    app = QApplication(sys.argv[:1])
    app.setApplicationDisplayName("GAN Studio")
    theme.apply(app, "light")
    app.setWindowIcon(app_icon())

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait_for(condition, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:
            wait(100)

    settings = AppSettings(root / "settings.ini")
    settings.set_value("dataset/demo", True)
    settings.set_value("dataset/size", 64)
    window = MainWindow(settings)
    window.resize(1360, 860)
    window.show()

    def shoot(name: str) -> None:
        wait(600)
        if args.whole_screen:
            pixmap = QGuiApplication.primaryScreen().grabWindow(0)
        else:
            pixmap = window.grab()
        path = args.out / f"{name}.png"
        pixmap.save(str(path))
        # UI pictures keep their look in 256 colours at a third of the size.
        Image.open(path).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE).save(path, optimize=True)
        print(f"{path} ({path.stat().st_size // 1024} KB)", flush=True)

    if args.only_i2i:
        shoot_image_to_image(window, root, args.i2i_seconds, shoot, wait, wait_for)
        window.close()
        return 0

    window.show_page("dataset")
    wait_for(lambda: window.workspace.dataset_report is not None)
    window.dataset_page.grid.setCurrentIndex(window.dataset_page.grid.picture_model.index(3))
    shoot("dataset")

    window.show_page("runs")
    wait_for(lambda: window.runs_page.details is not None)
    shoot("runs")

    window.workspace.generate_requested.emit(str(run_dir))
    wait_for(lambda: window.generate_page.batch is not None)
    window.generate_page.grid.setCurrentIndex(window.generate_page.grid.picture_model.index(5))
    shoot("generate")

    window.workspace.resume_requested.emit(str(run_dir), {"minutes": 1.0})
    wait_for(lambda: window.workspace.session.state == "training")
    deadline = time.monotonic() + args.train_seconds
    wait_for(lambda: time.monotonic() > deadline, args.train_seconds + 5)
    shoot("train")
    window.set_theme("dark")
    shoot("train-dark")
    window.set_theme("light")
    window.workspace.session.stop()
    wait_for(lambda: not window.workspace.session.busy)
    shoot_image_to_image(window, root, args.i2i_seconds, shoot, wait, wait_for)
    window.close()
    return 0


def shoot_image_to_image(window, root: Path, seconds: float, shoot, wait, wait_for) -> None:
    """Train a small CycleGAN on day and night demo scenes as a user would, then convert one scene."""
    from ganstudio.core.data.demo import make_day_night_images, make_day_night_test_pairs

    count = 24  # pictures a domain: an epoch (and a new sample grid) every few seconds on a CPU
    for name, side in (("day", "A"), ("night", "B")):
        folder = root / "scenes" / name
        folder.mkdir(parents=True)
        for index, pixels in enumerate(make_day_night_images(name, 143, count)):
            Image.fromarray(pixels).save(folder / f"{name}_{index:03d}.png")
    page = window.image_to_image_page
    window.show_page("image-to-image")
    page.set_domain("A", [str(root / "scenes" / "day")])
    page.set_domain("B", [str(root / "scenes" / "night")])
    wait_for(lambda: all(domain.report is not None for domain in page.domains.values()))
    config = page.build_config()
    config.model.options = {"preset": "light"}
    config.model.g_width = config.model.d_width = 8  # a sixteenth of the light networks' arithmetic
    config.train.minutes = seconds / 60
    config.run.sample_every_epochs = 1
    page.start(config)
    wait_for(lambda: window.workspace.session.state == "training")
    deadline = time.monotonic() + seconds * 0.85
    wait_for(lambda: time.monotonic() > deadline, seconds + 5)
    shoot("image-to-image")
    window.set_theme("dark")
    shoot("image-to-image-dark")
    window.set_theme("light")
    wait_for(lambda: not window.workspace.session.busy, seconds + 120)
    run_dir = str(window.workspace.session.run_dir)
    page.banner.hide()
    page.show_convert(run_dir)
    wait_for(lambda: page.converter.translator is not None)
    scene = root / "scenes" / "a-day-scene.png"
    Image.fromarray(make_day_night_test_pairs(256, count=1)[0][0]).save(scene)
    page.converter.convert_picture(scene)
    wait_for(lambda: page.converter.conversion is not None)
    shoot("image-to-image-convert")


if __name__ == "__main__":
    sys.exit(main())
