"""Where GAN Studio keeps runs and caches: the platform's user folders, or folders named by environment variables."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_DIR_NAME = "ganstudio"


def data_dir() -> Path:
    """The user data folder (runs live here); GANSTUDIO_DATA_DIR overrides it."""
    override = os.environ.get("GANSTUDIO_DATA_DIR")
    return Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))


def runs_dir() -> Path:
    return data_dir() / "runs"


def cache_dir() -> Path:
    """The cache folder (decoded datasets); GANSTUDIO_CACHE_DIR overrides it."""
    override = os.environ.get("GANSTUDIO_CACHE_DIR")
    return Path(override).expanduser() if override else Path(platformdirs.user_cache_dir(APP_DIR_NAME, appauthor=False))
