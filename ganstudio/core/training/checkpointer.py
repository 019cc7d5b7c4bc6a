"""The checkpointer: the only writer of a run's checkpoints. It writes, verifies, records the lineage and rotates.

The lineage (checkpoints/lineage.json) lists the checkpoints of the run's current line of training,
oldest first. Continuing from an older checkpoint cuts the lineage back to it, so what is written
next is the newest even when an abandoned branch holds higher step numbers; retention keeps the
newest `keep` of the lineage and removes every other checkpoint file, the abandoned branch's too.

The best checkpoint by the quality score is kept apart as checkpoints/best.pt (a hard link to the
step file it was, or a copy where links are not possible), and the lineage records its step and
score under "best"; best.pt is not a step file, so rotation never removes it.
"""

from __future__ import annotations

import errno
import json
import math
import os
import secrets
import shutil
import threading
import time
from pathlib import Path

import torch

from .. import events as ev
from ..checkpoint import missing_part, save_checkpoint
from ..errors import CheckpointError, GanStudioError
from ..fileio import TEMPORARY_SUFFIX, atomic_write_text
from ..runs import BEST_NAME, RunFolder, read_best


class Checkpointer:
    """Writes whole-state checkpoints into one run folder and keeps its lineage; `last_path` is the newest."""

    def __init__(self, folder: RunFolder, keep: int, resumed_from: Path | None):
        self.folder = folder
        self.keep = keep
        self.lineage = folder.lineage()
        self.last_path: Path | None = resumed_from
        self.last_step = -1  # the step of the newest checkpoint; the engine sets it to a restored run's step
        self.best = read_best(folder)
        # Marking the best happens on the measuring thread; the lineage and the files are changed under this lock.
        self._lock = threading.Lock()
        if resumed_from is not None:
            self._cut_lineage_at(resumed_from)

    def _cut_lineage_at(self, path: Path) -> None:
        """The lineage up to the checkpoint this segment continues from, which is then the newest."""
        if path.parent.resolve() != self.folder.checkpoints_dir:
            return  # a checkpoint from elsewhere starts no lineage here until this run writes one
        name = path.name
        if name == BEST_NAME and self.best is not None:
            name = self.best["checkpoint"]  # continuing from best.pt continues the line through the file it was
        self.lineage = self.lineage[:self.lineage.index(name) + 1] if name in self.lineage else [name]
        self._write_lineage()

    def save(self, state: dict, step: int) -> ev.CheckpointSaved:
        """Write `state` as the checkpoint of `step`, verify it reads back, make it the newest, then rotate."""
        started = time.monotonic()
        path = self.folder.checkpoint_path(step)
        try:
            save_checkpoint(path, state)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise GanStudioError(f"The disk is full: the checkpoint for step {step:,} could not be written to "
                                     f"{self.folder.checkpoints_dir}. Free some space, then resume; the last good "
                                     "checkpoint is kept.") from None
            raise GanStudioError(f"The checkpoint could not be written to {path} ({exc.strerror or exc}); "
                                 "the last good checkpoint is kept.") from None
        self._verify(path, step)
        with self._lock:
            earlier = [name for name in self.lineage if name != path.name]
            self.lineage = earlier[max(0, len(earlier) - self.keep + 1):] + [path.name]
            # The lineage is written before anything is removed: a crash in between leaves extra files, never a
            # lineage that misses the newest checkpoint.
            self._write_lineage()
            self.last_path, self.last_step = path, step
            self._remove_unkept()
        return ev.CheckpointSaved(epoch=int(state["counters"]["epoch"]), step=step, path=str(path),
                                  seconds=time.monotonic() - started)

    @staticmethod
    def _verify(path: Path, step: int) -> None:
        """Read the file back (memory-mapped: the header and tensor index, not every weight) before trusting it."""
        try:
            body = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            written_step = int(body["counters"]["step"])
        except Exception as exc:  # any failure to read back means the file cannot be trusted
            raise CheckpointError(f"The checkpoint {path.name} did not read back after writing ({exc}); the last "
                                  "good checkpoint is kept. Check the disk, then resume.") from None
        if written_step != step:
            raise CheckpointError(f"The checkpoint {path.name} read back as step {written_step:,}, not {step:,}; "
                                  "the last good checkpoint is kept.")
        lacking = missing_part(body, for_training=True)
        if lacking is not None:  # resume would refuse it, so it must not become the newest
            raise CheckpointError(f"The checkpoint {path.name} read back without {lacking}; the last good "
                                  "checkpoint is kept.")

    def offer_best(self, step: int, score_name: str, score: float, higher_is_better: bool) -> Path | None:
        """Keep the checkpoint of `step` as best.pt when `score` beats the best so far; its path if it did.

        Called from the measuring thread with the score of the run as it was at `step`. It counts only
        when that step's checkpoint is still in the lineage (the engine writes one just before taking
        the measurement); a score of a step without a checkpoint, or a worse one, changes nothing.
        """
        with self._lock:
            if not math.isfinite(score) or not self._beats_best(score_name, score, higher_is_better):
                return None
            source = self.folder.checkpoint_path(step)
            if source.name not in self.lineage or not source.is_file():
                return None
            target = self.folder.checkpoints_dir / BEST_NAME
            best = {"checkpoint": source.name, "step": step, "score_name": score_name, "score": score}
            try:
                _link_or_copy(source, target)
            except OSError:
                return None  # the best is a convenience: a disk that refuses it leaves the run's checkpoints intact
            previous, self.best = self.best, best
            try:
                self._write_lineage()
            except OSError:
                self.best = previous  # best.pt is newer than the record says; the next best puts them in step
                return None
            return target

    def _beats_best(self, score_name: str, score: float, higher_is_better: bool) -> bool:
        if self.best is None or self.best.get("score_name") != score_name:
            return True  # the first score, or a score of another kind: not comparable with the old best
        return score > self.best["score"] if higher_is_better else score < self.best["score"]

    def _write_lineage(self) -> None:
        record: dict = {"checkpoints": self.lineage}
        if self.best is not None:
            record["best"] = self.best
        atomic_write_text(self.folder.lineage_path, json.dumps(record, indent=1) + "\n")

    def _remove_unkept(self) -> None:
        """Remove every checkpoint file the lineage no longer lists: older ones, and abandoned branches."""
        kept = set(self.lineage)
        for _, path in self.folder.checkpoint_files():
            if path.name not in kept:
                try:
                    path.unlink()
                except OSError:
                    pass  # a checkpoint that cannot be removed costs disk space, nothing more




def _link_or_copy(source: Path, target: Path) -> None:
    """Make `target` the same contents as `source`, atomically: a hard link costs no disk space; a file system
    without them (FAT on a USB stick) gets a copy. Either is made beside the target, then renamed over it."""
    # Named as fileio names its temporaries (8 random characters), so one an interrupted run left is cleaned up.
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}")
    try:
        try:
            os.link(source, temporary)
        except OSError:
            shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
