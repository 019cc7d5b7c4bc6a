"""What the app remembers between sessions: window layout, last folders and settings, in one INI file.

The file lives in the platform's config folder (platformdirs). GANSTUDIO_CONFIG_DIR moves it; when
only GANSTUDIO_DATA_DIR is set (tests, trying the app out), it goes there, so a throwaway data folder
never leaves settings behind in the real one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import platformdirs
from PySide6.QtCore import QByteArray, QSettings

from ..core.paths import APP_DIR_NAME

SETTINGS_FILE = "ganstudio.ini"


def config_dir() -> Path:
    override = os.environ.get("GANSTUDIO_CONFIG_DIR") or os.environ.get("GANSTUDIO_DATA_DIR")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_DIR_NAME, appauthor=False))


class AppSettings:
    """Typed access to the INI file; values that are not of the expected type read as the default."""

    def __init__(self, path: Path | None = None):
        self.path = path or config_dir() / SETTINGS_FILE
        self._qsettings = QSettings(str(self.path), QSettings.Format.IniFormat)

    def sync(self) -> None:
        self._qsettings.sync()

    def value(self, key: str, default: Any) -> Any:
        """The stored JSON value of `key`, or `default` when missing, unreadable or of another type."""
        raw = self._qsettings.value(key)
        if raw is None:
            return default
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return default
        if default is not None and not isinstance(value, type(default)):
            if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
                return float(value)
            return default
        return value

    def set_value(self, key: str, value: Any) -> None:
        self._qsettings.setValue(key, json.dumps(value))

    def remove(self, key: str) -> None:
        self._qsettings.remove(key)

    def bytes_value(self, key: str) -> QByteArray | None:
        """Window geometry and splitter states, which Qt hands over as opaque bytes."""
        raw = self._qsettings.value(key)
        if isinstance(raw, QByteArray):
            return raw
        if isinstance(raw, str):
            try:
                return QByteArray.fromHex(raw.encode("ascii"))
            except (UnicodeEncodeError, ValueError):
                return None
        return None

    def set_bytes_value(self, key: str, value: QByteArray) -> None:
        self._qsettings.setValue(key, bytes(value.toHex()).decode("ascii"))
