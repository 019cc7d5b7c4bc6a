"""Starting the desktop app: `main(argv) -> int`, which the `ganstudio` command calls with no arguments."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from .. import APP_NAME, __version__
from ..core.paths import data_dir

LOG_BYTES = 1_000_000
log = logging.getLogger("ganstudio.gui")


def _log_to_file() -> Path | None:
    """Tracebacks of unexpected errors go to a small rotating log the user can send us, never to a dialog."""
    folder = data_dir() / "logs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(folder / "gui.log", maxBytes=LOG_BYTES, backupCount=2,
                                                       encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("ganstudio")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return folder / "gui.log"


def _install_excepthook(window) -> None:
    """A bug in a slot is logged and named in the status bar; the app keeps running."""
    def hook(kind, value, trace):
        log.error("unexpected error:\n%s", "".join(traceback.format_exception(kind, value, trace)))
        try:
            window.workspace.say(f"Something went wrong inside GAN Studio ({kind.__name__}); the details are in the "
                                 "log (Help > Open the log folder).", 0)
        except RuntimeError:
            pass
    sys.excepthook = hook


def main(argv: list[str] | None = None) -> int:
    """Open the main window; paths in `argv` (folders, pictures, zips or a run folder) are opened in it."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _log_to_file()
    if QApplication.instance() is None:
        # Fractional scales (125%, 150%) drawn as they are, not rounded: crisp text on high-DPI screens.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    QApplication.setApplicationName("ganstudio")
    QApplication.setApplicationDisplayName(APP_NAME)
    QApplication.setApplicationVersion(__version__)
    QApplication.setOrganizationName("ganstudio")
    QGuiApplication.setDesktopFileName("ganstudio")
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "ganstudio"])

    from . import theme
    from .main_window import MainWindow
    from .resources import app_icon
    from .settings import AppSettings

    settings = AppSettings()
    theme.apply(app, settings.value("view/theme", "system"))
    app.setWindowIcon(app_icon())
    window = MainWindow(settings)
    _install_excepthook(window)
    paths = [arg for arg in argv if not arg.startswith("-") and Path(arg).exists()]
    if paths:
        window.open_paths(paths)
    window.show()
    log.info("%s %s started", APP_NAME, __version__)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
