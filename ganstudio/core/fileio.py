"""Atomic file writing: a temporary file in the same folder, flushed, fsynced, then renamed over the target."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from pathlib import Path
from typing import IO, Callable, Iterator

# Temporary files are named .<target name>.<random>.tmp beside their target (see stale_temporaries).
TEMPORARY_SUFFIX = ".tmp"
_umask_lock = threading.Lock()
_umask: int | None = None


def process_umask() -> int:
    """The process's umask. Reading it means setting it, so it is read once, under a lock, and put back."""
    global _umask
    with _umask_lock:
        if _umask is None:
            _umask = os.umask(0o022)
            os.umask(_umask)
        return _umask


def _permit_as_umask_allows(fd: int) -> None:
    """mkstemp makes files readable by their owner only (0600); a file a user writes should carry the mode
    any program gives it, 0666 less the umask (0644 with the usual 022), so others can read exports."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o666 & ~process_umask())


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":
        return  # Windows cannot open a folder to fsync it; the rename is already durable there
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Write to `path` so that a reader sees either the old file or the complete new one, never a torn one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=target.parent)
    try:
        _permit_as_umask_allows(fd)
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_dir(target.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


def atomic_save(path: str | Path, writer: Callable[[IO[bytes]], None]) -> None:
    """Atomically write whatever `writer(file)` writes, e.g. torch.save or Image.save."""
    with atomic_open(path, "wb") as handle:
        writer(handle)
