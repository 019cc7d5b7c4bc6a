"""Finding the files of a dataset: folders searched recursively, single files, and zip archives read in place.

Everything here reads what users drag in from anywhere, so nothing about a file is trusted before
it is checked: a zip member's header may lie about its size, its name may climb out of the archive
or not decode, a folder may hold links that lead in circles or to nothing. Each such file becomes
one entry of `Listing.skipped` with a plain reason; it is never read, and its name is never handed
onward except as printable text.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import struct
import threading
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..errors import DataError
from ..printable import printable_name

# A zip member is held in memory while it decodes, one per decoding thread (8 at most), so this
# bounds a scan's zip reading at 8 x 256 MiB = 2 GiB. It holds any plausible training picture:
# a 100-megapixel photo is about 30-50 MB as JPEG and 150-200 MB as PNG; only an uncompressed BMP
# or TIFF near the 180-megapixel decode limit (540 MB) is over it, and that one can be unzipped first.
MAX_MEMBER_BYTES = 256 * 2**20
# Pictures are compressed already, so a zip of them inflates to barely more than its size on disk
# (JPEG and PNG about 1x, uncompressed BMP or TIFF photos 2-4x, flat graphics up to tens of times).
# Deflate reaches about 1,000x, which only a zip bomb uses; so an archive may inflate to 50x its size
# on disk, plus one whole member's worth, and the rest of it is skipped once it has.
MAX_INFLATION_RATIO = 50
READ_CHUNK = 1 << 20
# zipfile inflates deflate at most one read's worth at a time, but bzip2 and LZMA without any bound:
# one read of 1 MiB of compressed data could inflate to gigabytes before a byte is counted. Nearly
# every zip tool writes deflate (or stores pictures as they are), so the others are refused.
_BOUNDED_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_COMPRESSION_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "Deflate64", 99: "AES encryption"}

_UTF8_NAME_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1
_CENTRAL_HEADER = b"PK\x01\x02"
_CENTRAL_HEADER_SIZE = 46
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
_SPECIAL_FILE_TYPES = (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK)

ENCRYPTED = "encrypted (a password is required), so it cannot be read"
NAME_NOT_UTF8 = "its name is not valid UTF-8 although the zip says it is, so it is not read"


@dataclass(frozen=True)
class SourceFile:
    """One candidate picture: a file on disk, or a member of a zip archive on disk."""

    label: str  # what the user reads in the report: printable, prefixed with the folder or archive name
    path: str  # the file on disk (the archive, for a member), as listed: links are not resolved
    member: str | None  # the member's name as the zip stores it; only members with safe names are listed
    size: int
    mtime_ns: int
    # Where the file sits inside what the user gave, never absolute and never with '..': its path
    # inside the folder (links not resolved), a single file's name, or for a zip member its safe name
    # (after the archive's own relative path without '.zip', when the zip was found in a folder).
    relative: str = ""


@dataclass
class Listing:
    """What a dataset's inputs hold: the files to read, and what was found but will not be read, with why."""

    sources: list[SourceFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (printable label, reason)

    @property
    def found(self) -> int:
        return len(self.sources) + len(self.skipped)


class UnreadableSource(OSError):
    """A source that cannot be read as it stands; the message is the reason, as a phrase for the report."""


def unsafe_member_reason(raw: str) -> str | None:
    """Why a zip member's name cannot be used as a relative path inside an output folder; None when it can."""
    if "\x00" in raw:
        return "its name holds a NUL byte"
    if raw.startswith(("/", "\\")):
        return "its name is an absolute path"
    if _DRIVE_LETTER.match(raw):
        return "its name starts with a drive letter"
    if "\\" in raw:
        return "its name holds backslashes (a Windows path)"
    parts = raw.split("/")
    if ".." in parts:
        return "its name leads out of the archive ('..')"
    if printable_name(raw) != raw:
        return "its name holds control characters"
    if all(part in ("", ".") for part in parts):
        return "it has no name"
    return None


def safe_member_name(raw: str) -> str | None:
    """A zip member's name as a clean relative path ('a/b.png'), or None when the name is unsafe.

    Unsafe: absolute, with a drive letter, backslashes, '..' parts, NUL or control characters. A
    safe name loses only its empty and '.' parts, so joining it onto a folder stays in that folder.
    """
    if unsafe_member_reason(raw) is not None:
        return None
    return "/".join(part for part in raw.split("/") if part not in ("", "."))


class _CentralDirectoryCheck:
    """A zip file on disk that, while zipfile parses the central directory, clears the UTF-8 flag of
    member names that are not UTF-8, so one such name no longer makes the whole archive unreadable.

    zipfile reads the central directory in one read and decodes every name in it strictly; a
    single bad name would raise UnicodeDecodeError for the archive. With the flag cleared, zipfile
    reads that name as CP437 (every byte decodes), and its raw bytes are kept in `bad_names`, so
    the member can be listed as skipped. Member data passes through untouched.
    """

    def __init__(self, path: str | os.PathLike):
        self._file = open(path, "rb")
        self.bad_names: set[bytes] = set()
        self.parsing = True

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        if self.parsing and data.startswith(_CENTRAL_HEADER):
            data = self._clear_bad_utf8_flags(bytearray(data))
        return bytes(data)

    def _clear_bad_utf8_flags(self, data: bytearray) -> bytearray:
        position = 0
        while position + _CENTRAL_HEADER_SIZE <= len(data) and data[position:position + 4] == _CENTRAL_HEADER:
            (flags,) = struct.unpack_from("<H", data, position + 8)
            name_length, extra_length, comment_length = struct.unpack_from("<3H", data, position + 28)
            name = bytes(data[position + _CENTRAL_HEADER_SIZE:position + _CENTRAL_HEADER_SIZE + name_length])
            if flags & _UTF8_NAME_FLAG:
                try:
                    name.decode("utf-8")
                except UnicodeDecodeError:
                    struct.pack_into("<H", data, position + 8, flags & ~_UTF8_NAME_FLAG)
                    self.bad_names.add(name)
            position += _CENTRAL_HEADER_SIZE + name_length + extra_length + comment_length
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def seekable(self) -> bool:
        return True

    def size(self) -> int:
        return os.fstat(self._file.fileno()).st_size

    def close(self) -> None:
        self._file.close()


class _Archive:
    """An open zip archive, with the raw names of its members whose names do not decode."""

    def __init__(self, path: str | os.PathLike):
        checked = _CentralDirectoryCheck(path)
        try:
            self.zip = zipfile.ZipFile(checked)
        except BaseException:
            checked.close()
            raise
        checked.parsing = False
        self._file = checked
        self.bad_names = checked.bad_names
        self.disk_size = checked.size()

    def has_bad_name(self, info: zipfile.ZipInfo) -> bool:
        return bool(self.bad_names) and info.orig_filename.encode("cp437") in self.bad_names

    def close(self) -> None:
        self.zip.close()
        self._file.close()


def _open_archive(path: str | os.PathLike) -> _Archive:
    """The archive, or UnreadableSource with why it cannot be opened."""
    try:
        return _Archive(path)
    except zipfile.BadZipFile:
        raise UnreadableSource("not a readable zip archive (it may be damaged or incomplete)") from None
    except NotImplementedError as exc:
        raise UnreadableSource(f"a zip archive of a kind that cannot be read ({exc})") from None
    except (ValueError, EOFError, struct.error, UnicodeDecodeError):
        raise UnreadableSource("not a readable zip archive (its directory is damaged)") from None
    except OSError as exc:
        raise UnreadableSource(f"could not be opened ({exc.strerror or exc})") from None


def _megabytes(count: int) -> str:
    return f"{count / 2**20:,.0f} MB"


class SourceReader:
    """Opens source files for reading; keeps each zip archive open once rather than once per member.

    A member is inflated in chunks and every byte is counted, per member and per archive, so a
    header that lies about a size changes nothing: reading stops at MAX_MEMBER_BYTES for a member,
    and at MAX_INFLATION_RATIO times its size on disk for an archive. Threads may share one reader.
    """

    def __init__(self) -> None:
        self._archives: dict[str, _Archive] = {}
        self._inflated: dict[str, int] = {}
        self._exhausted: dict[str, str] = {}  # archive -> the reason every further member is skipped
        self._lock = threading.Lock()

    def read(self, source: SourceFile) -> IO[bytes]:
        """A binary stream of the file; UnreadableSource (an OSError) with the reason when it cannot be read."""
        if source.member is None:
            return open(source.path, "rb")
        with self._lock:
            if source.path in self._exhausted:
                raise UnreadableSource(self._exhausted[source.path])
            archive = self._archives.get(source.path)
            if archive is None:
                archive = self._archives[source.path] = _open_archive(source.path)
        try:
            info = archive.zip.getinfo(source.member)
        except KeyError:
            raise UnreadableSource("no longer in the zip (it changed after it was listed)") from None
        problem = _member_problem(archive, info)
        if problem is not None:
            raise UnreadableSource(problem)
        buffer = io.BytesIO()
        try:
            # ZipFile serialises reads of one archive itself, so threads can share it.
            with archive.zip.open(info) as stream:
                while chunk := stream.read(READ_CHUNK):
                    self._count(source.path, archive, len(chunk))
                    if buffer.tell() + len(chunk) > MAX_MEMBER_BYTES:
                        raise UnreadableSource(f"too large for a picture: it inflates to over "
                                               f"{_megabytes(MAX_MEMBER_BYTES)}, so it was not read further")
                    buffer.write(chunk)
        except UnreadableSource:
            raise
        except RuntimeError as exc:
            if "password" in str(exc).lower() or "encrypted" in str(exc).lower():
                raise UnreadableSource(ENCRYPTED) from None
            raise UnreadableSource(f"damaged inside the zip ({str(exc)[:80]})") from None
        except zipfile.BadZipFile as exc:
            if "crc" in str(exc).lower():
                raise UnreadableSource("damaged inside the zip (its CRC check failed)") from None
            raise UnreadableSource("damaged inside the zip (its header is broken)") from None
        except NotImplementedError as exc:
            raise UnreadableSource(f"stored with a compression that cannot be read ({str(exc)[:60]})") from None
        except UnicodeDecodeError:
            raise UnreadableSource(NAME_NOT_UTF8) from None
        except (zlib.error, EOFError, ValueError, struct.error, OSError):
            raise UnreadableSource("damaged inside the zip (its data does not inflate)") from None
        buffer.seek(0)
        return buffer

    def _count(self, path: str, archive: _Archive, count: int) -> None:
        allowance = MAX_INFLATION_RATIO * archive.disk_size + MAX_MEMBER_BYTES
        with self._lock:
            if path in self._exhausted:
                raise UnreadableSource(self._exhausted[path])
            total = self._inflated[path] = self._inflated.get(path, 0) + count
            if total > allowance:
                self._exhausted[path] = (f"not read: the archive had already inflated to over {_megabytes(allowance)}, "
                                         f"more than {MAX_INFLATION_RATIO} times its {_megabytes(archive.disk_size)} "
                                         "on disk, which no zip of pictures does (a zip bomb?)")
                raise UnreadableSource(self._exhausted[path])

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


def _member_problem(archive: _Archive, info: zipfile.ZipInfo) -> str | None:
    """Why a listed zip member will not be read; None for a member to read (or litter to leave out silently)."""
    if archive.has_bad_name(info):
        return NAME_NOT_UTF8
    file_type = stat.S_IFMT(info.external_attr >> 16)
    if file_type == stat.S_IFLNK:
        return "a symbolic link inside the zip; links in archives are never followed"
    if file_type in _SPECIAL_FILE_TYPES:
        return "not a regular file inside the zip (a device or pipe entry)"
    unsafe = unsafe_member_reason(info.orig_filename)
    if unsafe is not None:
        return f"{unsafe}, so it is not read"
    if info.flag_bits & _ENCRYPTED_FLAG:
        return ENCRYPTED
    if info.compress_type not in _BOUNDED_COMPRESSIONS:
        method = _COMPRESSION_NAMES.get(info.compress_type, f"compression method {info.compress_type}")
        return f"compressed with {method}, which is not read from zips (stored and deflated members are)"
    if info.file_size > MAX_MEMBER_BYTES:
        return (f"too large for a picture: the zip says it inflates to {_megabytes(info.file_size)}, "
                f"over {_megabytes(MAX_MEMBER_BYTES)}")
    if archive.zip.getinfo(info.filename) is not info:
        return "the zip holds another member of the same name, and only that one is read"
    return None


def _is_litter(name: str) -> bool:
    parts = name.split("/")
    return parts[0] == "__MACOSX" or any(_is_hidden(part) for part in parts if part not in ("", "."))


def _member_label(label_prefix: str, archive: _Archive, info: zipfile.ZipInfo) -> str:
    raw = info.orig_filename.encode("cp437") if archive.has_bad_name(info) else info.orig_filename
    return f"{label_prefix}:{printable_name(raw)}"


def _list_zip(archive_path: Path, label_prefix: str, relative_prefix: str, listing: Listing) -> None:
    """Add an archive's members to `listing`; UnreadableSource when the archive itself cannot be opened."""
    archive = _open_archive(archive_path)
    archive_stat = archive_path.stat()
    try:
        for info in sorted(archive.zip.infolist(), key=lambda i: i.orig_filename):
            if info.is_dir():
                continue
            problem = _member_problem(archive, info)
            if problem is None and _is_litter(info.filename):
                continue
            label = _member_label(label_prefix, archive, info)
            if problem is not None:
                listing.skipped.append((label, problem))
                continue
            inside = safe_member_name(info.filename)
            relative = f"{relative_prefix}/{inside}" if relative_prefix else inside
            # The member's CRC and size change when its content does; the archive's mtime covers the rest.
            listing.sources.append(SourceFile(label, str(archive_path), info.filename, info.file_size,
                                              archive_stat.st_mtime_ns ^ info.CRC, relative))
    finally:
        archive.close()


def _link_problem(path: str, exc: OSError) -> str:
    """Why a link in a folder cannot be followed, from the error following it raised."""
    if exc.errno == errno.ELOOP:
        return "a link loop (following it leads back to itself), so it is not followed"
    if isinstance(exc, FileNotFoundError):
        try:
            target = printable_name(os.readlink(path))
        except OSError:
            target = "its target"
        return f"a link to {target}, which does not exist"
    return f"could not be read ({exc.strerror or exc})"


def _list_folder(folder: Path, listing: Listing, seen: set[tuple[str, str | None]]) -> None:
    """Add every file under `folder` to `listing`, following links, each folder and file once.

    Links are followed to files and folders, inside or outside `folder`. A link to a folder that
    contains it would lead round for ever; it is listed as skipped. A folder reached a second way
    (two links to it) is not listed again, since its files already are.
    """
    top = folder.stat()
    top_label = folder.name
    visited = {(top.st_dev, top.st_ino)}
    # (folder, its path relative to `folder` as parts, the (device, inode) of it and every folder above it)
    stack: list[tuple[Path, tuple[str, ...], frozenset]] = [(folder, (), frozenset(visited))]
    while stack:
        directory, parts, ancestors = stack.pop()
        try:
            with os.scandir(directory) as entries:
                names = sorted((entry.name, entry.is_symlink()) for entry in entries)
        except OSError as exc:
            label = printable_name("/".join((top_label, *parts)) if top_label else "/".join(parts) or ".")
            listing.skipped.append((label, f"the folder could not be listed ({exc.strerror or exc})"))
            continue
        subfolders = []
        for name, is_link in names:
            if _is_hidden(name) or name == "__MACOSX":
                continue
            path = directory / name
            relative_parts = (*parts, name)
            relative = "/".join(relative_parts)
            label = printable_name(f"{top_label}/{relative}" if top_label else relative)
            try:
                info = path.stat() if is_link else path.lstat()
            except OSError as exc:
                listing.skipped.append((label, _link_problem(str(path), exc) if is_link
                                        else f"could not be read ({exc.strerror or exc})"))
                continue
            if stat.S_ISDIR(info.st_mode):
                identity = (info.st_dev, info.st_ino)
                if identity in ancestors:
                    listing.skipped.append((label, "a link to a folder that holds it (a loop), so it is not followed"))
                elif identity not in visited:
                    visited.add(identity)
                    subfolders.append((path, relative_parts, ancestors | {identity}))
                continue
            if not stat.S_ISREG(info.st_mode):
                listing.skipped.append((label, "not a regular file (a pipe, socket or device), so it is not read"))
                continue
            if name.lower().endswith(".zip"):
                try:
                    _add_zip(path, label, "/".join((*parts, name[:-len(".zip")])), listing, seen)
                except UnreadableSource as exc:
                    listing.skipped.append((label, str(exc)))
                continue
            _add_once(SourceFile(label, str(path), None, info.st_size, info.st_mtime_ns, relative), listing, seen)
        # Reversed onto the stack, so folders come out in name order, each before the next one's files.
        stack.extend(reversed(subfolders))


def _add_once(candidate: SourceFile, listing: Listing, seen: set[tuple[str, str | None]]) -> None:
    """Add `candidate` unless the same file (reached through a link, say) is listed already."""
    key = (os.path.realpath(candidate.path), candidate.member)
    if key not in seen:
        seen.add(key)
        listing.sources.append(candidate)


def _add_zip(path: Path, label: str, relative_prefix: str, listing: Listing,
             seen: set[tuple[str, str | None]]) -> None:
    """Add an archive's members, each once; UnreadableSource when the archive cannot be opened."""
    found = Listing()
    _list_zip(path, label, relative_prefix, found)
    listing.skipped.extend(found.skipped)
    for candidate in found.sources:
        _add_once(candidate, listing, seen)


def list_dataset(paths: list[str] | tuple[str, ...]) -> Listing:
    """Every candidate file under `paths` in a stable order, and what will not be read with why.

    DataError when a path is missing, is not a file or folder, or is a zip that cannot be opened.
    """
    if not paths:
        raise DataError("No dataset was given: choose a folder, some pictures or a zip archive.")
    listing = Listing()
    seen: set[tuple[str, str | None]] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        shown = printable_name(str(raw))
        if not path.exists():
            if path.is_symlink():
                raise DataError(f"{shown} is a link to something that does not exist.")
            raise DataError(f"{shown} does not exist.")
        try:
            if path.is_dir():
                _list_folder(path, listing, seen)
            elif path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
                try:
                    _add_zip(path, printable_name(path.name), "", listing, seen)
                except UnreadableSource as exc:
                    raise DataError(f"{shown} is {exc}." if str(exc).startswith("not ") else
                                    f"{shown} cannot be used: {exc}.") from None
            else:
                info = path.stat()
                if not stat.S_ISREG(info.st_mode):
                    raise DataError(f"{shown} is not a regular file (a pipe, socket or device), so it is not read.")
                _add_once(SourceFile(printable_name(path.name), str(path), None, info.st_size, info.st_mtime_ns,
                                     path.name), listing, seen)
        except OSError as exc:
            raise DataError(f"{shown} could not be read ({exc.strerror or exc}).") from None
    return listing


def list_sources(paths: list[str] | tuple[str, ...]) -> list[SourceFile]:
    """Every readable candidate file under `paths`, in a stable order; DataError when a path is missing.

    What will not be read (unsafe zip members, dangling links, ...) is left out here; list_dataset
    says what it is and why.
    """
    return list_dataset(paths).sources


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
    return printable_name(name)
