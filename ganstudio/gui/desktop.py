"""Handing things to the desktop: showing a folder or file in the system's file manager."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices


def reveal(path: str | Path) -> bool:
    """Open the file manager at `path` (selecting it where the platform can); False if nothing opened."""
    target = Path(path)
    try:
        if sys.platform == "darwin":
            subprocess.Popen(["open", "-R", str(target)])
            return True
        if sys.platform == "win32":
            subprocess.Popen(["explorer", "/select,", str(target)])
            return True
    except OSError:
        pass
    folder = target if target.is_dir() else target.parent
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
