"""The checkpointer: the only writer of a run's checkpoints. It writes, verifies, records the lineage and rotates.

The lineage (checkpoints/lineage.json) lists the checkpoints of the run's current line of training,
oldest first. Continuing from an older checkpoint cuts the lineage back to it, so what is written
next is the newest even when an abandoned branch holds higher step numbers; retention keeps the
newest `keep` of the lineage and removes every other checkpoint file, the abandoned branch's too.
"""

from __future__ import annotations

import errno
import json
import time
from pathlib import Path

import torch

from .. import events as ev
from ..checkpoint import missing_part, save_checkpoint
from ..errors import CheckpointError, GanStudioError
from ..fileio import atomic_write_text
from ..runs import RunFolder


class Checkpointer:
    """Writes whole-state checkpoints into one run folder and keeps its lineage; `last_path` is the newest."""

    def __init__(self, folder: RunFolder, keep: int, resumed_from: Path | None):
        self.folder = folder
        self.keep = keep
        self.lineage = folder.lineage()
        self.last_path: Path | None = resumed_from
        self.last_step = -1  # the step of the newest checkpoint; the engine sets it to a restored run's step
        if resumed_from is not None:
            self._cut_lineage_at(resumed_from)

    def _cut_lineage_at(self, path: Path) -> None:
        """The lineage up to the checkpoint this segment continues from, which is then the newest."""
        if path.parent.resolve() != self.folder.checkpoints_dir:
            return  # a checkpoint from elsewhere starts no lineage here until this run writes one
        name = path.name
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

    def _write_lineage(self) -> None:
        atomic_write_text(self.folder.lineage_path, json.dumps({"checkpoints": self.lineage}, indent=1) + "\n")

    def _remove_unkept(self) -> None:
        """Remove every checkpoint file the lineage no longer lists: older ones, and abandoned branches."""
        kept = set(self.lineage)
        for _, path in self.folder.checkpoint_files():
            if path.name not in kept:
                try:
                    path.unlink()
                except OSError:
                    pass  # a checkpoint that cannot be removed costs disk space, nothing more
