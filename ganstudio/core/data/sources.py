"""Finding the files of a dataset: folders searched recursively, single files, and zip archives read in place."""

from __future__ import annotations

import io
import os
import stat
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import DataError

# A zip member this large is not a training picture; reading it would only fill memory.
MAX_MEMBER_BYTES = 512 * 2**20


@dataclass(frozen=True)
class SourceFile:
    """One candidate picture: a file on disk, or a member of a zip archive on disk."""

    label: str  # what the user reads in the report
    path: str  # the file on disk (the archive, for a member)
    member: str | None
    size: int
    mtime_ns: int


class SourceReader:
    """Opens source files for reading; keeps each zip archive open once rather than once per member."""

    def __init__(self) -> None:
        self._archives: dict[str, zipfile.ZipFile] = {}
        self._lock = threading.Lock()

    def read(self, source: SourceFile) -> IO[bytes]:
        if source.member is None:
            return open(source.path, "rb")
        if source.size > MAX_MEMBER_BYTES:
            raise OSError("too large for a picture")
        with self._lock:
            archive = self._archives.get(source.path)
            if archive is None:
                archive = self._archives[source.path] = zipfile.ZipFile(source.path)
        # ZipFile serialises reads of one archive itself, so threads can share it.
        return io.BytesIO(archive.read(source.member))

    def close(self) -> None:
        with self._lock:
            for archive in self._archives.values():
                archive.close()
            self._archives.clear()

    def __enter__(self) -> "SourceReader":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _is_hidden(name: str) -> bool:
    # .DS_Store, ._resource forks, Thumbs.db and desktop.ini are file-system litter, not pictures.
    return name.startswith(".") or name.lower() in ("thumbs.db", "desktop.ini")


def _zip_sources(archive_path: Path, label_prefix: str) -> list[SourceFile]:
    try:
        archive = zipfile.ZipFile(archive_path)
    except zipfile.BadZipFile:
        raise DataError(f"{archive_path} is not a readable zip archive (it may be damaged or incomplete).") from None
    except OSError as exc:
        raise DataError(f"{archive_path} could not be opened ({exc.strerror or exc}).") from None
    archive_stat = archive_path.stat()
    found = []
    with archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if info.is_dir():
                continue
            parts = info.filename.split("/")
            if parts[0] == "__MACOSX" or any(_is_hidden(p) for p in parts if p):
                continue
            # The member's CRC and size change when its content does; the archive's mtime covers the rest.
            found.append(SourceFile(f"{label_prefix}:{info.filename}", str(archive_path), info.filename,
                                    info.file_size, archive_stat.st_mtime_ns ^ info.CRC))
    return found


def list_sources(paths: list[str] | tuple[str, ...]) -> list[SourceFile]:
    """Every candidate file under `paths`, in a stable order; DataError when a path is missing."""
    if not paths:
        raise DataError("No dataset was given: choose a folder, some pictures or a zip archive.")
    found: list[SourceFile] = []
    seen: set[tuple[str, str | None]] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise DataError(f"{raw} does not exist.")
        if path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not _is_hidden(d) and d != "__MACOSX")
                for name in sorted(files):
                    if _is_hidden(name):
                        continue
                    file_path = Path(root) / name
                    try:
                        info = file_path.stat()
                    except OSError:
                        continue  # a broken link
                    if not stat.S_ISREG(info.st_mode):
                        continue
                    label = str(file_path.relative_to(path.parent))
                    if name.lower().endswith(".zip"):
                        members = _zip_sources(file_path, label)
                        candidates = members
                    else:
                        candidates = [SourceFile(label, str(file_path), None, info.st_size, info.st_mtime_ns)]
                    for candidate in candidates:
                        key = (os.path.realpath(candidate.path), candidate.member)
                        if key not in seen:
                            seen.add(key)
                            found.append(candidate)
        elif zipfile.is_zipfile(path) and path.suffix.lower() == ".zip":
            for candidate in _zip_sources(path, path.name):
                key = (os.path.realpath(candidate.path), candidate.member)
                if key not in seen:
                    seen.add(key)
                    found.append(candidate)
        else:
            info = path.stat()
            key = (os.path.realpath(path), None)
            if key not in seen:
                seen.add(key)
                found.append(SourceFile(path.name, str(path), None, info.st_size, info.st_mtime_ns))
    return found


def dataset_name(paths: list[str] | tuple[str, ...]) -> str:
    """A short name for the dataset: its folder or archive name, '+N' when there are several inputs."""
    if not paths:
        return "dataset"
    first = Path(paths[0]).expanduser()
    name = first.stem if first.suffix.lower() == ".zip" else first.name
    name = name or "dataset"
    if len(paths) > 1 and all(Path(p).is_file() and Path(p).suffix.lower() != ".zip" for p in paths):
        name = Path(paths[0]).expanduser().resolve().parent.name or "pictures"
    elif len(paths) > 1:
        name = f"{name}+{len(paths) - 1}"
    return name
