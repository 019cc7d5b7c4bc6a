"""Starting the desktop app: `main(argv) -> int`, which the `ganstudio` command calls with no arguments."""

from __future__ import annotations

import ctypes
import gc
import logging
import logging.handlers
import os
import signal
import socket
import sys
import traceback
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSocketNotifier, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from .. import APP_NAME, __version__
from ..core.paths import data_dir

LOG_BYTES = 1_000_000
log = logging.getLogger("ganstudio.gui")

# What Qt's X11 plugin loads, with the Debian/Ubuntu package of each. Without one of them Qt prints
# a line about "xcb" and aborts the process, so the app checks first and names the packages instead.
X11_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0", "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0", "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0", "libxcb-sync.so.1": "libxcb-sync1", "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0", "libX11-xcb.so.1": "libx11-xcb1",
    "libEGL.so.1": "libegl1", "libfontconfig.so.1": "libfontconfig1",
}


def _loads(library: str) -> bool:
    """True if the system (or, in a standalone build, the bundle's own folder) has `library`."""
    candidates = [library]
    bundle = getattr(sys, "_MEIPASS", None)  # a PyInstaller build may carry the library itself
    if bundle:
        candidates.append(os.path.join(bundle, library))
    for candidate in candidates:
        try:
            ctypes.CDLL(candidate)
        except OSError:
            continue
        return True
    return False


def display_problem(environ=os.environ, platform: str = sys.platform, loads=_loads) -> str | None:
    """Why the window cannot open on this Linux machine, in a sentence; None where it can (or it is not Linux)."""
    qt_platform = environ.get("QT_QPA_PLATFORM", "")
    if not platform.startswith("linux") or (qt_platform not in ("", "xcb") and not qt_platform.startswith("xcb:")):
        return None
    if not qt_platform and environ.get("WAYLAND_DISPLAY"):
        return None  # Qt opens the window through Wayland, not X11
    if not environ.get("DISPLAY"):
        return ("There is no screen here to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set: an SSH "
                "login or a server?). Train here with 'ganstudio train', then open the run folder in the app on a "
                "computer with a screen.")
    missing = [package for library, package in X11_LIBRARIES.items() if not loads(library)]
    if missing:
        return (f"The window needs system libraries that are missing here: {', '.join(missing)}. On Debian or Ubuntu "
                f"install them with 'sudo apt install {' '.join(missing)}' (other systems name them alike), then "
                "start GAN Studio again. Training with 'ganstudio train' works without them.")
    return None


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


def _close_on_termination(app: QApplication, window) -> None:
    """SIGTERM (a logout, `kill`, a service manager) and SIGINT (Ctrl+C in the terminal) close the window as Quit
    does: a run in training stops and is saved first, and the app exits with code 0.

    Python runs a signal's handler only when it next runs bytecode, and Qt's event loop may run none for
    seconds; the wakeup socket makes the loop run a slot at once, and the handler with it.
    """
    if not hasattr(signal, "SIGTERM") or not hasattr(signal, "set_wakeup_fd"):
        return
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    try:
        signal.set_wakeup_fd(writer.fileno())
    except ValueError:  # not the main thread: nothing to wake
        reader.close()
        writer.close()
        return
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)

    def woken() -> None:
        try:
            reader.recv(64)
        except OSError:
            pass

    notifier.activated.connect(woken)
    # Not window.close() inside the handler: it runs between two bytecodes of whatever slot is running.
    close_soon = lambda signum, frame: QTimer.singleShot(0, window.close)  # noqa: E731
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, close_soon)
    app._termination_wakeup = (reader, writer, notifier)  # kept alive as long as the app


def main(argv: list[str] | None = None, on_open: Callable | None = None) -> int:
    """Open the main window; paths in `argv` (folders, pictures, zips or a run folder) are opened in it.

    `on_open`, if given, is called with the window once it is shown (for scripts and tests that drive it).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    _log_to_file()
    problem = display_problem() if QApplication.instance() is None else None
    if problem:
        print(f"ganstudio: {problem}", file=sys.stderr)
        log.error("the window cannot open: %s", problem)
        return 1
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
    _close_on_termination(app, window)
    window.show()
    log.info("%s %s started", APP_NAME, __version__)
    if on_open is not None:
        on_open(window)
    code = app.exec()
    window.workspace.wait_for_writes()
    # Python's last garbage collection at exit walked the window's and torch's objects for 5-17 s after a
    # run on a 2-core machine, with everything already saved: frozen objects are left to the OS to free.
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(main())
