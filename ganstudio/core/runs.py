"""Run folders: config.json, metrics.jsonl, samples/, checkpoints/ and exports/, readable by a person."""

from __future__ import annotations

import json
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from .config import RunConfig
from .errors import ConfigError
from .fileio import TEMPORARY_SUFFIX
from .paths import runs_dir

CHECKPOINT_PATTERN = re.compile(r"^step_(\d+)\.pt$")
SAMPLE_PATTERN = re.compile(r"^(?:epoch_(\d+)|step_(\d+))\.png$")
# Our atomic writes' temporaries: "." + the target's name + "." + mkstemp's 8 random characters + ".tmp".
# Nothing else is ever removed, so a user's own ".notes.tmp" stays.
TEMPORARY_PATTERN = re.compile(r"^\..+\.[a-z0-9_]{8}" + re.escape(TEMPORARY_SUFFIX) + "$")
# A temporary is left behind only when its writer died mid-save. One still being written belongs to a
# live writer, possibly another process (a torchrun run the app follows, a second resume): its file
# changes with every write and is renamed within seconds (a 60 MB checkpoint takes about 1 s, a slow
# network disk a minute). Ten minutes without a change is far beyond any live save, so only those go.
STALE_TEMPORARY_SECONDS = 10 * 60


@dataclass(frozen=True)
class SampleFile:
    path: Path
    epoch: int | None
    step: int | None


class RunFolder:
    """One run's folder and the well-known paths inside it."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser().resolve()

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def exports_dir(self) -> Path:
        return self.path / "exports"

    def create_folders(self) -> None:
        for folder in (self.path, self.samples_dir, self.checkpoints_dir, self.exports_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def is_run(self) -> bool:
        return self.config_path.is_file()

    def remove_stale_temporaries(self, now: float | None = None) -> list[Path]:
        """Remove what interrupted saves left: our own temporary files in the run folder, checkpoints/,
        samples/ and exports/ unchanged for STALE_TEMPORARY_SECONDS. The paths removed."""
        now = time.time() if now is None else now
        removed = []
        for folder in (self.path, self.checkpoints_dir, self.samples_dir, self.exports_dir):
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if not TEMPORARY_PATTERN.match(entry.name):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_TEMPORARY_SECONDS:
                        os.unlink(entry.path)
                        removed.append(Path(entry.path))
                except OSError:
                    continue  # gone already (another process cleaned it), or not ours to remove
        return removed

    def load_config(self) -> RunConfig:
        if not self.path.is_dir():
            raise ConfigError(f"{self.path} is not a folder.")
        if not self.is_run():
            raise ConfigError(f"{self.path} is not a GAN Studio run folder (it has no config.json).")
        return RunConfig.load(self.config_path)

    @property
    def lineage_path(self) -> Path:
        return self.checkpoints_dir / "lineage.json"

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_dir / f"step_{step:09d}.pt"

    @staticmethod
    def step_of(path: Path) -> int | None:
        match = CHECKPOINT_PATTERN.match(path.name)
        return int(match.group(1)) if match else None

    def checkpoint_files(self) -> list[tuple[int, Path]]:
        """(step, path) of every checkpoint file in the folder, by step, whatever line of training it belongs to."""
        found = []
        if self.checkpoints_dir.is_dir():
            for path in self.checkpoints_dir.iterdir():
                step = self.step_of(path)
                if step is not None:
                    found.append((step, path))
        return sorted(found)

    def lineage(self) -> list[str]:
        """The file names of the current line of training, oldest first, as the checkpointer recorded them;
        for a run written before lineages were kept, every checkpoint by step."""
        try:
            names = json.loads(self.lineage_path.read_text(encoding="utf-8"))["checkpoints"]
            if isinstance(names, list) and all(isinstance(name, str) and CHECKPOINT_PATTERN.match(name)
                                               for name in names):
                return list(names)
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return [path.name for _, path in self.checkpoint_files()]

    def checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of the checkpoints of the current line of training that exist, oldest first."""
        every = self.checkpoint_files()
        files = {path.name: (step, path) for step, path in every}
        # A lineage naming none of the files (checkpoints copied in by hand) says nothing: go by step.
        return [files[name] for name in self.lineage() if name in files] or every

    def latest_checkpoint(self) -> Path | None:
        """The newest checkpoint: the last one written, not the highest step (continuing from an older one
        makes a new line of training)."""
        found = self.checkpoints()
        return found[-1][1] if found else None

    def samples(self) -> list[SampleFile]:
        """The gallery's sample grids in training order."""
        found = []
        if self.samples_dir.is_dir():
            for path in self.samples_dir.iterdir():
                match = SAMPLE_PATTERN.match(path.name)
                if match:
                    epoch = int(match.group(1)) if match.group(1) else None
                    step = int(match.group(2)) if match.group(2) else None
                    found.append(SampleFile(path, epoch, step))
        step_of = _sample_steps(self.metrics_path)
        return sorted(found, key=lambda s: (step_of.get(s.path.name, s.step if s.step is not None else 0),
                                            s.path.name))


def _sample_steps(metrics_path: Path) -> dict[str, int]:
    """Sample file name to the step it was made at, from metrics.jsonl (cheap: samples lines only)."""
    steps: dict[str, int] = {}
    try:
        with open(metrics_path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if '"event":"samples"' not in line:
                    continue
                try:
                    record = json.loads(line)
                    steps[Path(record["path"]).name] = int(record["step"])
                except (ValueError, KeyError, TypeError):
                    continue
    except OSError:
        pass
    return steps


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")
    return slug[:40] or "run"


def new_run_folder(config: RunConfig, dataset_name: str, root: Path | None = None) -> RunFolder:
    """A fresh, unused folder named after the dataset, model, size and time: flowers-dcgan-64px-20261125-0912."""
    root = root or runs_dir()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{_slug(dataset_name)}-{config.model.name}-{config.data.size}px-{stamp}"
    candidate = root / base
    counter = 2
    while candidate.exists():
        candidate = root / f"{base}-{counter}"
        counter += 1
    return RunFolder(candidate)


@dataclass(frozen=True)
class RunSummary:
    """What a list of runs shows about each."""

    path: Path
    name: str
    model: str
    size: int
    dataset: str
    last_step: int | None
    modified: float


def list_runs(root: Path | None = None) -> list[RunSummary]:
    """The runs under `root` (the user's runs folder by default), most recently changed first."""
    root = root or runs_dir()
    summaries = []
    if not root.is_dir():
        return summaries
    for folder in root.iterdir():
        run = RunFolder(folder)
        if not run.is_run():
            continue
        try:
            config = run.load_config()
        except ConfigError:
            continue
        checkpoints = run.checkpoints()
        modified = max((p.stat().st_mtime for p in (run.metrics_path, run.config_path) if p.exists()), default=0.0)
        dataset = "demo" if config.data.demo else ", ".join(Path(p).name for p in config.data.paths)
        summaries.append(RunSummary(run.path, run.name, config.model.name, config.data.size, dataset,
                                    checkpoints[-1][0] if checkpoints else None, modified))
    return sorted(summaries, key=lambda s: s.modified, reverse=True)


# The best-scoring checkpoint, kept beside the step files (training/checkpointer.py writes it) and recorded
# under "best" in checkpoints/lineage.json. Read here, without torch, so the window can show it at once.
BEST_NAME = "best.pt"


def read_best(folder: RunFolder) -> dict | None:
    """The lineage's record of the best checkpoint: {checkpoint, step, score_name, score}; None when there is
    none, it is malformed, or best.pt is gone."""
    try:
        best = json.loads(folder.lineage_path.read_text(encoding="utf-8"))["best"]
        record = {"checkpoint": str(best["checkpoint"]), "step": int(best["step"]),
                  "score_name": str(best["score_name"]), "score": float(best["score"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if (folder.checkpoints_dir / BEST_NAME).is_file() else None
