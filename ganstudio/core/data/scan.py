"""Checking and decoding a whole dataset into one uint8 array, with the report of what was used and skipped."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from ..errors import DataError
from .decode import DecodeError, decode_square, parse_colour
from ..printable import printable_name
from .sources import SourceFile, SourceReader, UnreadableSource, dataset_name, list_dataset

ProgressFn = Callable[[str, int, int], None]
CancelledFn = Callable[[], bool]

# Below this many pictures a GAN mostly memorises; below the second it barely trains at all.
FEW_IMAGES = 500
VERY_FEW_IMAGES = 50
# A picture whose pixels vary less than this (standard deviation, 0-255 scale) is essentially one colour.
NEAR_BLANK_STD = 2.0
LISTED_EXAMPLES = 5


class ScanCancelled(Exception):
    """The user cancelled the scan."""


@dataclass
class DatasetReport:
    """What a dataset holds: the usable pictures, every skipped file with its reason, and what to watch for."""

    name: str
    inputs: list[str]
    size: int
    fit: str
    found: int = 0
    usable: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)  # "640x480" -> count, most common first
    modes: dict[str, int] = field(default_factory=dict)
    formats: dict[str, int] = field(default_factory=dict)
    upscaled: list[str] = field(default_factory=list)  # smaller than the training size
    near_blank: list[str] = field(default_factory=list)
    duplicates: int = 0
    duplicate_labels: list[str] = field(default_factory=list)  # the later copies; a cached report may lack them
    usable_labels: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        notes = []
        if 0 < self.usable < VERY_FEW_IMAGES:
            notes.append(f"Only {counted(self.usable, 'usable picture')}: a GAN needs hundreds at the very least; "
                         "expect it to copy them rather than invent.")
        elif 0 < self.usable < FEW_IMAGES:
            notes.append(f"Only {counted(self.usable, 'usable picture')}: results improve a lot with 1,000 or more.")
        if self.upscaled:
            notes.append(f"{counted(len(self.upscaled), 'picture')} {_are(self.upscaled)} smaller than {self.size} px "
                         f"and will be enlarged (blurry){_examples(self.upscaled, len(self.upscaled))}.")
        if self.near_blank:
            notes.append(f"{counted(len(self.near_blank), 'picture')} {_are(self.near_blank)} nearly one flat colour"
                         f"{_examples(self.near_blank, len(self.near_blank))}.")
        if self.duplicates == 1:
            notes.append("1 picture is an exact duplicate of another (after resizing)"
                         f"{_examples(self.duplicate_labels, 1)}.")
        elif self.duplicates:
            notes.append(f"{self.duplicates:,} pictures are exact duplicates of others (after resizing)"
                         f"{_examples(self.duplicate_labels, self.duplicates)}.")
        if self.skipped and self.found and len(self.skipped) > self.found // 2:
            notes.append(f"More than half the files ({len(self.skipped):,} of {self.found:,}) were skipped.")
        return notes

    def to_dict(self) -> dict:
        # Labels are printable when listed; names given on the command line may not be, so all are made so here.
        body = asdict(self)
        body.pop("usable_labels")
        body["name"] = printable_name(self.name)
        body["inputs"] = [printable_name(path) for path in self.inputs]
        body["skipped"] = [{"file": printable_name(label), "reason": reason} for label, reason in self.skipped]
        body["upscaled"] = [printable_name(label) for label in self.upscaled]
        body["near_blank"] = [printable_name(label) for label in self.near_blank]
        body["duplicate_labels"] = [printable_name(label) for label in self.duplicate_labels]
        body["warnings"] = self.warnings
        return body

    def format_text(self) -> str:
        inputs = ", ".join(printable_name(path) for path in self.inputs)
        lines = [f"Dataset: {printable_name(self.name)} ({inputs})",
                 f"  {counted(self.found, 'file')} found, {counted(self.usable, 'usable picture')}, "
                 f"{len(self.skipped):,} skipped",
                 f"  prepared as {self.size} x {self.size} px, fit: {self.fit}"]
        if self.formats:
            lines.append("  formats: " + ", ".join(f"{name} {count:,}" for name, count in self.formats.items()))
        if self.modes:
            lines.append("  colour modes: " + ", ".join(f"{name} {count:,}" for name, count in self.modes.items()))
        if self.sizes:
            shown = list(self.sizes.items())[:8]
            more = len(self.sizes) - len(shown)
            lines.append("  sizes: " + ", ".join(f"{name} ({count:,})" for name, count in shown)
                         + (f" and {counted(more, 'other size')}" if more > 0 else ""))
        if self.skipped:
            lines.append("Skipped:")
            lines.extend(f"  {printable_name(label)}: {reason}" for label, reason in self.skipped)
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  {printable_name(note)}" for note in self.warnings)
        return "\n".join(lines)


def counted(count: int, noun: str) -> str:
    """'1 picture', '2 pictures', '1,200 pictures': the count with its noun agreeing."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _are(items: list) -> str:
    return "is" if len(items) == 1 else "are"


def _examples(labels: list[str], count: int) -> str:
    """': a.png, b.png' naming them all, or ', e.g. a.png, b.png' when there are more than are listed."""
    if not labels:
        return ""
    shown = ", ".join(labels[:LISTED_EXAMPLES])
    return f": {shown}" if count <= LISTED_EXAMPLES and len(labels) >= count else f", e.g. {shown}"


def _counter_dict(counter: Counter) -> dict[str, int]:
    return dict(counter.most_common())


def decode_sources(sources: list[SourceFile], size: int, fit: str, background: str, report: DatasetReport,
                   progress: ProgressFn | None = None, cancelled: CancelledFn | None = None,
                   workers: int | None = None) -> np.ndarray:
    """Decode every source into one N x size x size x 3 uint8 array, filling `report` as it goes.

    The array is allocated once for all candidates and compacted in place, so a 20,000-picture
    dataset at 64 px never needs more than its own 246 MB.
    """
    colour = parse_colour(background)
    total = len(sources)
    pixels = np.empty((total, size, size, 3), dtype=np.uint8)
    ok = np.zeros(total, dtype=bool)
    reasons: list[str | None] = [None] * total
    infos: list = [None] * total
    done = 0
    lock = threading.Lock()
    workers = workers or min(8, os.cpu_count() or 1)

    def work(index: int) -> None:
        nonlocal done
        if cancelled is not None and cancelled():
            return
        source = sources[index]
        try:
            with reader.read(source) as stream:
                pixels[index], infos[index] = decode_square(stream, size, fit, colour)
            ok[index] = True
        except (DecodeError, UnreadableSource) as exc:
            reasons[index] = str(exc)
        except OSError as exc:
            reasons[index] = f"could not be read ({exc.strerror or exc})"
        with lock:
            done += 1
            count = done
        if progress is not None and (count % 64 == 0 or count == total):
            progress("decoding", count, total)

    if progress is not None:
        progress("decoding", 0, total)
    with SourceReader() as reader, ThreadPoolExecutor(max_workers=workers) as pool:
        # Pillow releases the GIL while decoding and resizing, so threads use every core.
        list(pool.map(work, range(total)))
    if cancelled is not None and cancelled():
        raise ScanCancelled()

    sizes: Counter = Counter()
    modes: Counter = Counter()
    formats: Counter = Counter()
    digests: set[bytes] = set()
    kept = 0
    for index, source in enumerate(sources):
        if not ok[index]:
            report.skipped.append((source.label, reasons[index] or "not usable"))
            continue
        info = infos[index]
        sizes[f"{info.width}x{info.height}"] += 1
        modes[info.mode] += 1
        formats[info.format] += 1
        if min(info.width, info.height) < size:
            report.upscaled.append(source.label)
        image = pixels[index]
        if float(image.reshape(-1, 3).std(axis=0).max()) < NEAR_BLANK_STD:
            report.near_blank.append(source.label)
        digest = hashlib.blake2b(image.tobytes(), digest_size=16).digest()
        if digest in digests:
            report.duplicates += 1
            report.duplicate_labels.append(source.label)
        digests.add(digest)
        if kept != index:
            pixels[kept] = image
        report.usable_labels.append(source.label)
        kept += 1
    report.usable = kept
    report.sizes = _counter_dict(sizes)
    report.modes = _counter_dict(modes)
    report.formats = _counter_dict(formats)
    if kept < total * 0.9:
        return pixels[:kept].copy()  # give back the memory of the skipped files
    return pixels[:kept]


def scan(paths: list[str], size: int = 64, fit: str = "crop", background: str = "#ffffff",
         progress: ProgressFn | None = None, cancelled: CancelledFn | None = None) -> tuple[np.ndarray, DatasetReport]:
    """List, check and decode a dataset without any cache; the pixels and the report."""
    listing = list_dataset(paths)
    report = DatasetReport(dataset_name(paths), [str(p) for p in paths], size, fit, found=listing.found,
                           skipped=list(listing.skipped))
    pixels = decode_sources(listing.sources, size, fit, background, report, progress, cancelled)
    return pixels, report


def require_usable(report: DatasetReport) -> None:
    """DataError when nothing in the dataset can be trained on."""
    if report.usable == 0:
        if report.found == 0:
            raise DataError(f"No files were found in {', '.join(printable_name(path) for path in report.inputs)}.")
        inputs = ", ".join(printable_name(path) for path in report.inputs)
        raise DataError(f"None of the {report.found:,} files in {inputs} is a usable picture "
                        f"(for example {printable_name(report.skipped[0][0])}: {report.skipped[0][1]}).")
