"""The decoded-dataset cache, so a second run on the same pictures and settings starts at once."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..config import DataConfig
from ..fileio import atomic_open, atomic_write_text
from ..paths import cache_dir
from . import demo
from .decode import DECODER_VERSION
from .scan import CancelledFn, DatasetReport, ProgressFn, decode_sources, require_usable
from .sources import dataset_name, list_dataset

# Old entries are dropped, least recently used first, once the cache holds more than this.
CACHE_LIMIT_BYTES = 8 * 2**30


@dataclass
class LoadedDataset:
    """Pixels as N x H x W x 3 uint8 (possibly memory-mapped from the cache), and the report."""

    pixels: np.ndarray
    report: DatasetReport
    from_cache: bool
    seconds: float
    cache_note: str | None = None


def _datasets_dir() -> Path:
    return cache_dir() / "datasets"


def _key(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def _report_from_dict(raw: dict) -> DatasetReport:
    names = {f.name for f in fields(DatasetReport)}
    values = {k: v for k, v in raw.items() if k in names}
    values["skipped"] = [tuple(item) for item in values.get("skipped", [])]
    return DatasetReport(**values)


def _read_cached(key: str, mmap: bool) -> tuple[np.ndarray, DatasetReport] | None:
    folder = _datasets_dir()
    array_path, report_path = folder / f"{key}.npy", folder / f"{key}.json"
    try:
        report = _report_from_dict(json.loads(report_path.read_text(encoding="utf-8")))
        pixels = np.load(array_path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if pixels.dtype != np.uint8 or pixels.ndim != 4 or pixels.shape[0] != report.usable:
        return None
    try:
        array_path.touch()  # recently used entries are evicted last
    except OSError:
        pass
    return pixels, report


def _write_cached(key: str, pixels: np.ndarray, report: DatasetReport) -> str | None:
    """Store an entry; returns a note for the user when the cache could not be written (full disk, say)."""
    folder = _datasets_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_open(folder / f"{key}.npy", "wb") as handle:
            np.save(handle, pixels, allow_pickle=False)
        body = {**report.to_dict(), "skipped": report.skipped, "usable_labels": report.usable_labels}
        body.pop("warnings", None)
        atomic_write_text(folder / f"{key}.json", json.dumps(body))
    except OSError as exc:
        return f"The decoded dataset could not be cached in {folder} ({exc.strerror or exc}); the next run decodes it again."
    _evict(folder, keep=key)
    return None


def _evict(folder: Path, keep: str) -> None:
    entries = []
    for array_path in folder.glob("*.npy"):
        try:
            entries.append((array_path.stat().st_mtime, array_path.stat().st_size, array_path))
        except OSError:
            continue
    total = sum(size for _, size, _ in entries)
    for _, size, array_path in sorted(entries):
        if total <= CACHE_LIMIT_BYTES:
            break
        if array_path.stem == keep:
            continue
        for path in (array_path, array_path.with_suffix(".json")):
            try:
                path.unlink()
            except OSError:
                pass
        total -= size


def clear_cache() -> int:
    """Delete every cached dataset; the number of bytes freed."""
    freed = 0
    for path in _datasets_dir().glob("*"):
        try:
            freed += path.stat().st_size
            path.unlink()
        except OSError:
            pass
    return freed


def load_dataset(data: DataConfig, progress: ProgressFn | None = None, cancelled: CancelledFn | None = None,
                 use_cache: bool = True, mmap: bool = False, paths: list[str] | None = None,
                 require: bool = True, demo_set: str = "shapes") -> LoadedDataset:
    """The pixels of `data` (or of `paths`, for a second domain): from the cache when nothing changed.

    With `require`, a dataset with no usable picture raises DataError; without, its report comes back.
    For the demo, `demo_set` names which built-in set (the image-to-image demo has one per domain).
    """
    started = time.perf_counter()
    inputs = list(paths if paths is not None else data.paths)
    if data.demo and paths is None:
        payload = {"demo": 2, "version": demo.SHAPES_VERSION, "size": data.size, "count": demo.DEMO_COUNT,
                   "seed": demo.DEMO_SEED}
        if demo_set != "shapes":
            payload = {"demo": 3, "version": demo.DAY_NIGHT_VERSION, "set": demo_set, "size": data.size, "count": demo.DAY_NIGHT_COUNT,
                       "seeds": demo.DAY_NIGHT_SEEDS}
        sources = None
    else:
        listing = list_dataset(inputs)
        sources = listing.sources
        # What the listing skipped is part of the report, so a new dangling link, say, is a new entry.
        payload = {"decoder": DECODER_VERSION, "size": data.size, "fit": data.fit, "background": data.background,
                   "sources": [(s.path, s.member, s.size, s.mtime_ns) for s in sources],
                   "skipped": listing.skipped}
    key = _key(payload)
    if use_cache:
        cached = _read_cached(key, mmap)
        if cached is not None:
            pixels, report = cached
            return LoadedDataset(pixels, report, True, time.perf_counter() - started)
    if sources is None:
        if progress is not None:
            progress("drawing", 0, demo.DEMO_COUNT if demo_set == "shapes" else demo.DAY_NIGHT_COUNT)
        pixels = demo.make_demo_set(demo_set, data.size)
        name = "demo" if demo_set == "shapes" else f"demo-{demo_set}"
        report = DatasetReport(name, [demo.DEMO_SETS[demo_set]], data.size, "crop", found=len(pixels),
                               usable=len(pixels), modes={"RGB": len(pixels)}, formats={"generated": len(pixels)},
                               sizes={f"{data.size}x{data.size}": len(pixels)})
        if progress is not None:
            progress("drawing", len(pixels), len(pixels))
    else:
        report = DatasetReport(dataset_name(inputs), inputs, data.size, data.fit, found=listing.found,
                               skipped=list(listing.skipped))
        pixels = decode_sources(sources, data.size, data.fit, data.background, report, progress, cancelled)
    if require:
        require_usable(report)
    note = _write_cached(key, pixels, report) if use_cache and report.usable else None
    if mmap and note is None and use_cache:
        reread = _read_cached(key, mmap=True)
        if reread is not None:
            pixels = reread[0]
    return LoadedDataset(pixels, report, False, time.perf_counter() - started, note)

