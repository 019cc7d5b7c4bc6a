"""The training engine: run(config, sink, control) trains any registered model and keeps its run folder.

It knows a config, a sink for events and a control token; nothing about threads, Qt, or who listens.
"""

from __future__ import annotations

import copy
import dataclasses
import errno
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from . import events as ev
from .checkpoint import capture_rng_state, load_checkpoint, restore_rng_state, save_checkpoint
from .config import RunConfig
from .control import Control
from .data.batches import ImageBatches, should_memory_map
from .data.cache import LoadedDataset, load_dataset
from .data.scan import ScanCancelled
from .data.sources import list_sources
from .device import describe, is_out_of_memory, select_device
from .errors import CheckpointError, ConfigError, DataError, DeviceError, GanStudioError, TrainingDiverged
from .export import save_png
from .fileio import atomic_write_text
from .precision import resolve_precision
from .registry import get_recipe
from .runs import RunFolder, new_run_folder
from .sinks import JsonlSink, Sink, TeeSink, null_sink

# Step events are emitted at most this often; each carries the mean of the steps since the last one.
STEP_EVENT_INTERVAL_S = 0.25
# With no target given, a run sees about this many images (300 epochs of 1,000 pictures, say)...
DEFAULT_IMAGES = 300_000
# ...and the demo trains this long on a CPU: enough for clear shapes, short enough to watch.
DEMO_CPU_MINUTES = 4.0
DEMO_GPU_EPOCHS = 40
# Between sample grids at least this many images pass, so tiny datasets do not write one per second.
SAMPLE_IMAGES = 2_000


@dataclass(frozen=True)
class RunResult:
    """How a run ended and where its files are."""

    run_dir: Path
    reason: str  # completed, stopped, time_limit
    step: int
    epoch: int
    checkpoint: Path | None


class LossHistory:
    """Every step's losses and stats as float32 rows; part of the checkpoint, so a resumed run's history is whole."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self._chunks: list[torch.Tensor] = []
        self._length = 0

    def extend(self, rows: torch.Tensor) -> None:
        self._chunks.append(rows.to(torch.float32).cpu())
        self._length += rows.shape[0]

    def __len__(self) -> int:
        return self._length

    def values(self) -> torch.Tensor:
        if len(self._chunks) > 1:
            self._chunks = [torch.cat(self._chunks)]
        return self._chunks[0] if self._chunks else torch.zeros(0, len(self.names))

    def state_dict(self) -> dict:
        return {"names": list(self.names), "values": self.values().clone()}

    def load_state_dict(self, state: dict) -> None:
        if tuple(state["names"]) != self.names:
            raise CheckpointError("The checkpoint's loss history does not match this model.")
        self._chunks = [state["values"].to(torch.float32)]
        self._length = self._chunks[0].shape[0]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_target(config: RunConfig, dataset_size: int, device: torch.device) -> None:
    """When no epochs, steps or minutes are given, choose a sensible amount of training, in place."""
    train = config.train
    if train.epochs is not None or train.steps is not None or train.minutes is not None:
        return
    if config.data.demo:
        if device.type == "cpu":
            train.minutes = DEMO_CPU_MINUTES
        else:
            train.epochs = DEMO_GPU_EPOCHS
        return
    train.epochs = int(min(1000, max(5, round(DEFAULT_IMAGES / max(1, dataset_size)))))


def describe_target(config: RunConfig) -> str:
    train = config.train
    if train.steps is not None:
        return f"{train.steps:,} step{'' if train.steps == 1 else 's'}"
    if train.minutes is not None:
        return f"{train.minutes:g} minute{'' if train.minutes == 1 else 's'}"
    return f"{train.epochs:,} epoch{'' if train.epochs == 1 else 's'}"


class _Trainer:
    """One run from start to finish; `run()` below is its public face."""

    def __init__(self, config: RunConfig, sink: Sink, control: Control, resume_from: str | Path | None,
                 checkpoint: dict | None = None):
        self.config = copy.deepcopy(config).validate()
        self.user_sink = sink
        self.control = control
        self.resume_from = Path(resume_from) if resume_from else None
        self.preloaded_checkpoint = checkpoint
        self.emit: Sink = sink
        self.jsonl: JsonlSink | None = None

    # -- setup -------------------------------------------------------------------------------------

    def _load_domains(self, recipe_cls) -> list[LoadedDataset]:
        data = self.config.data

        def progress(stage: str, done: int, total: int) -> None:
            self.user_sink(ev.DataProgress(stage=stage, done=done, total=total))

        loaded = []
        domain_paths: list[list[str] | None] = [None] if len(recipe_cls.domains) == 1 else [None, data.paths_b]
        if len(recipe_cls.domains) > 1 and not data.demo and not data.paths_b:
            raise ConfigError(f"The {recipe_cls.name} model needs a second dataset (domain B).")
        # Recipes that train on random crops decode larger pictures; the size is part of the cache key.
        load_data = dataclasses.replace(data, size=recipe_cls.load_size(self.config))
        for index, paths in enumerate(domain_paths):
            estimated = len(list_sources(paths if paths is not None else data.paths)) if not data.demo else 0
            mmap = should_memory_map(estimated * load_data.size * load_data.size * 3)
            try:
                loaded.append(load_dataset(load_data, progress, lambda: self.control.stop_requested, mmap=mmap,
                                           paths=None if data.demo else paths,
                                           demo_set=recipe_cls.demo_sets[index] if data.demo else "shapes"))
            except ScanCancelled:
                raise
            except MemoryError:
                raise DataError("The dataset does not fit in memory at this size; choose a smaller image size.") from None
        return loaded

    def _prepare_folder(self, dataset_name: str) -> RunFolder:
        run_options = self.config.run
        if self.resume_from is not None:
            folder = RunFolder(run_options.dir or self.resume_from.parent.parent)
        elif run_options.dir:
            folder = RunFolder(run_options.dir)
            if folder.is_run() and folder.checkpoints():
                raise ConfigError(f"{folder.path} already holds a run; continue it with 'ganstudio resume {folder.path}' "
                                  "or choose another folder.")
        else:
            folder = new_run_folder(self.config, dataset_name)
        try:
            folder.create_folders()
        except OSError as exc:
            raise ConfigError(f"The run folder {folder.path} could not be created ({exc.strerror or exc}).") from None
        self.config.run.dir = str(folder.path)
        atomic_write_text(folder.config_path, self.config.to_json(app_version=__version__, torch_version=str(torch.__version__)))
        return folder

    # -- the loop ----------------------------------------------------------------------------------

    def run(self) -> RunResult:
        config = self.config
        device = select_device(config.train.device)
        precision = resolve_precision(config.train.precision, device)
        recipe_cls = get_recipe(config.model.name)
        checkpoint = self.preloaded_checkpoint
        self.preloaded_checkpoint = None
        if checkpoint is None and self.resume_from is not None:
            checkpoint = load_checkpoint(self.resume_from)
        if checkpoint is not None and checkpoint.get("model") != config.model.name:
            raise CheckpointError(f"{self.resume_from.name} belongs to a {checkpoint.get('model')} model, "
                                  f"not {config.model.name}.")

        loaded = self._load_domains(recipe_cls)
        for dataset in loaded:
            self.user_sink(ev.DatasetReady(name=dataset.report.name, usable=dataset.report.usable,
                                           skipped=len(dataset.report.skipped), from_cache=dataset.from_cache,
                                           seconds=dataset.seconds, warnings=tuple(dataset.report.warnings)))
            if dataset.cache_note:
                self.user_sink(ev.Warning(message=dataset.cache_note))
        dataset_size = max(dataset.report.usable for dataset in loaded)
        recipe_cls.resolve_config(config, device)
        resolve_target(config, dataset_size, device)

        folder = self._prepare_folder(loaded[0].report.name if not config.data.demo else "demo")
        self.jsonl = JsonlSink(folder.metrics_path)
        self.emit = TeeSink(self.jsonl, self.user_sink)

        seed_everything(config.train.seed)
        recipe = recipe_cls(config, device, precision)
        batch_size = config.train.batch_size
        domain_batches = [ImageBatches(dataset.pixels, device, batch_size, config.train.seed + 7919 * index,
                                       flip=config.data.augment in ("flip", "diff+flip"), crop=config.data.size)
                          for index, dataset in enumerate(loaded)]
        recipe.attach_data([dataset.pixels for dataset in loaded])
        del loaded
        steps_per_epoch = max(batches.steps_per_epoch for batches in domain_batches)
        history = LossHistory(recipe_cls.loss_names + recipe_cls.stat_names)

        step = epoch = position = images_seen = 0
        train_seconds = 0.0
        if checkpoint is not None:
            recipe.load_state_dict(checkpoint["recipe"])
            for batches, state in zip(domain_batches, checkpoint["data"]["domains"]):
                try:
                    batches.load_state_dict(state)
                except ValueError as exc:
                    raise DataError(f"The dataset changed since this run was saved ({exc}); exact resume needs the "
                                    "same pictures. Put them back, or start a new run.") from None
            history.load_state_dict(checkpoint["history"])
            counters = checkpoint["counters"]
            step, epoch, position = int(counters["step"]), int(counters["epoch"]), int(counters["position"])
            images_seen, train_seconds = int(counters["images_seen"]), float(counters["train_seconds"])
            restore_rng_state(checkpoint["rng"])
            del checkpoint

        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True

        total_steps = None
        if config.train.steps is not None:
            total_steps = config.train.steps
        elif config.train.epochs is not None:
            total_steps = config.train.epochs * steps_per_epoch
        self.emit(ev.RunStarted(
            run_dir=str(folder.path), run_name=folder.name, model=config.model.name, device=describe(device),
            precision=precision, dataset_size=dataset_size, batch_size=batch_size, steps_per_epoch=steps_per_epoch,
            start_step=step, start_epoch=epoch, target=describe_target(config), total_steps=total_steps,
            loss_names=recipe_cls.loss_names, stat_names=recipe_cls.stat_names,
            visual_names=recipe_cls.visual_names, parameters=recipe.parameter_count()))

        sample_every = config.run.sample_every_epochs or max(1, math.ceil(SAMPLE_IMAGES / max(1, dataset_size)))
        checkpoint_interval = config.run.checkpoint_every_minutes * 60
        log_every = config.run.log_every_steps
        minutes_limit = config.train.minutes * 60 if config.train.minutes is not None else None
        names = history.names
        loss_count = len(recipe_cls.loss_names)

        pending: list[torch.Tensor] = []
        window_rows: list[torch.Tensor] = []
        segment_start = time.monotonic()
        base_seconds = train_seconds
        last_event = last_checkpoint = time.monotonic()
        rate_window_start, rate_window_images = time.monotonic(), 0
        images_per_second = 0.0
        epoch_started_at = time.monotonic()
        last_saved_step = step if self.resume_from is not None else -1
        last_sampled_step = -1
        last_checkpoint_path: Path | None = self.resume_from

        def elapsed() -> float:
            return base_seconds + (time.monotonic() - segment_start)

        def progress() -> tuple[float, float | None]:
            """Training done and the target, in steps, or in seconds when the target is a time."""
            if total_steps is None and minutes_limit is not None:
                return elapsed(), minutes_limit
            return float(step), float(total_steps) if total_steps is not None else None

        def eta() -> float | None:
            if minutes_limit is not None:
                return max(0.0, minutes_limit - elapsed())
            if total_steps is None or images_per_second <= 0:
                return None
            return max(0, total_steps - step) * batch_size / images_per_second

        def flush(force_event: bool) -> None:
            nonlocal last_event, rate_window_start, rate_window_images, images_per_second
            if not pending:
                return
            rows = torch.stack(pending).float().cpu()  # the one device sync every `log_every` steps
            pending.clear()
            if not bool(torch.isfinite(rows).all()):
                bad = [names[i] for i in range(rows.shape[1]) if not bool(torch.isfinite(rows[:, i]).all())]
                raise TrainingDiverged(f"Training diverged at step {step:,}: {', '.join(bad)} became NaN or infinite. "
                                       "The last good checkpoint is kept; resume from it with lower learning rates "
                                       "or start again with another seed.")
            history.extend(rows)
            window_rows.append(rows)
            now = time.monotonic()
            if force_event or now - last_event >= STEP_EVENT_INTERVAL_S:
                window = torch.cat(window_rows)
                window_rows.clear()
                means = window.double().mean(0).tolist()
                span = now - rate_window_start
                if span > 0 and rate_window_images:
                    images_per_second = rate_window_images / span
                rate_window_start, rate_window_images = now, 0
                last_event = now
                self.emit(ev.StepProgress(
                    step=step, epoch=epoch, epoch_fraction=position / steps_per_epoch, images_seen=images_seen,
                    images_per_second=images_per_second, elapsed_seconds=elapsed(), eta_seconds=eta(),
                    losses=dict(zip(names[:loss_count], means[:loss_count])),
                    stats=dict(zip(names[loss_count:], means[loss_count:]))))

        def write_samples() -> None:
            nonlocal last_sampled_step
            grid = recipe.sample_grid()
            name = f"epoch_{epoch:04d}.png" if position == 0 else f"step_{step:09d}.png"
            path = folder.samples_dir / name
            try:
                save_png(path, grid, {"run": folder.name, "epoch": epoch, "step": step, "model": config.model.name})
            except OSError as exc:
                self.emit(ev.Warning(message=f"The sample grid could not be saved to {path} ({exc.strerror or exc})."))
                return
            last_sampled_step = step
            self.emit(ev.SamplesSaved(epoch=epoch, step=step, path=str(path), grid=grid))

        def write_checkpoint() -> None:
            nonlocal last_checkpoint, last_saved_step, last_checkpoint_path
            started = time.monotonic()
            state = {
                "model": config.model.name,
                "config": config.to_dict(),
                "counters": {"step": step, "epoch": epoch, "position": position, "images_seen": images_seen,
                             "train_seconds": elapsed()},
                "recipe": recipe.state_dict(),
                "data": {"domains": [batches.state_dict() for batches in domain_batches]},
                "history": history.state_dict(),
                "rng": capture_rng_state(),
            }
            path = folder.checkpoint_path(step)
            try:
                save_checkpoint(path, state)
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    raise GanStudioError(f"The disk is full: the checkpoint for step {step:,} could not be written to "
                                         f"{folder.checkpoints_dir}. Free some space, then resume; the last good "
                                         "checkpoint is kept.") from None
                raise GanStudioError(f"The checkpoint could not be written to {path} ({exc.strerror or exc}); "
                                     "the last good checkpoint is kept.") from None
            last_checkpoint = time.monotonic()
            last_saved_step = step
            last_checkpoint_path = path
            for _, old in folder.checkpoints()[:-config.run.keep_checkpoints]:
                try:
                    old.unlink()
                except OSError:
                    pass
            self.emit(ev.CheckpointSaved(epoch=epoch, step=step, path=str(path), seconds=time.monotonic() - started))

        def target_reached() -> str | None:
            if config.train.steps is not None and step >= config.train.steps:
                return "completed"
            if config.train.epochs is not None and epoch >= config.train.epochs and position == 0:
                return "completed"
            if minutes_limit is not None and elapsed() >= minutes_limit:
                return "time_limit"
            return None

        reason = target_reached()
        while reason is None:
            if self.control.stop_requested:
                reason = "stopped"
                break
            if self.control.paused:
                flush(force_event=True)
                paused_at = time.monotonic()
                self.emit(ev.Paused(step=step))
                while self.control.paused:
                    self.control.wait_while_paused(0.5)
                pause_length = time.monotonic() - paused_at
                segment_start += pause_length
                rate_window_start += pause_length
                epoch_started_at += pause_length
                self.emit(ev.Resumed(step=step))
                continue

            batches = [domain.next_batch()[0] for domain in domain_batches]
            recipe.before_step(*progress())
            values = recipe.train_step(batches, images_seen)
            step += 1
            position += 1
            images_seen += batch_size
            rate_window_images += batch_size
            pending.append(values)
            epoch_ended = position >= steps_per_epoch
            if epoch_ended:
                epoch += 1
                position = 0
            if len(pending) >= log_every or epoch_ended:
                flush(force_event=epoch_ended)
            if epoch_ended:
                epoch_rows = history.values()[-steps_per_epoch:].double().mean(0).tolist()
                self.emit(ev.EpochEnded(epoch=epoch, step=step, seconds=time.monotonic() - epoch_started_at,
                                        losses=dict(zip(names[:loss_count], epoch_rows[:loss_count])),
                                        stats=dict(zip(names[loss_count:], epoch_rows[loss_count:]))))
                epoch_started_at = time.monotonic()
                if epoch % sample_every == 0:
                    write_samples()
                if time.monotonic() - last_checkpoint >= checkpoint_interval:
                    write_checkpoint()
            reason = target_reached()

        flush(force_event=True)
        if last_sampled_step != step:
            write_samples()
        if last_saved_step != step:
            write_checkpoint()
        messages = {
            "completed": f"Finished: {step:,} steps, {epoch:,} epochs.",
            "time_limit": f"Time is up after {elapsed() / 60:.1f} minutes of training: step {step:,}, epoch {epoch:,}.",
            "stopped": f"Stopped at step {step:,}; checkpoint saved.",
        }
        message = messages[reason]
        if reason != "completed":
            message += f" Continue with: ganstudio resume \"{folder.path}\""
        self.emit(ev.RunFinished(reason=reason, step=step, epoch=epoch,
                                 checkpoint=str(last_checkpoint_path) if last_checkpoint_path else None,
                                 message=message))
        return RunResult(folder.path, reason, step, epoch, last_checkpoint_path)


def run(config: RunConfig, sink: Sink = null_sink, control: Control | None = None,
        resume_from: str | Path | None = None, _checkpoint: dict | None = None) -> RunResult:
    """Train `config` (or continue the checkpoint `resume_from`), sending events to `sink`.

    Raises GanStudioError with a plain sentence for anything the user can fix; a RunFinished event
    with reason 'error' or 'diverged' precedes it.
    """
    trainer = _Trainer(config, sink, control or Control(), resume_from, _checkpoint)
    try:
        return trainer.run()
    except ScanCancelled:
        message = "Cancelled while reading the dataset."
        trainer.emit(ev.RunFinished(reason="stopped", step=0, epoch=0, checkpoint=None, message=message))
        raise GanStudioError(message) from None
    except GanStudioError as exc:
        reason = "diverged" if isinstance(exc, TrainingDiverged) else "error"
        trainer.emit(ev.RunFinished(reason=reason, step=-1, epoch=-1, checkpoint=None, message=str(exc)))
        raise
    except (RuntimeError, MemoryError) as exc:
        if is_out_of_memory(exc):
            message = (f"Out of memory while training at {trainer.config.data.size} px with batch size "
                       f"{trainer.config.train.batch_size}; choose a smaller batch size or image size. The last "
                       "checkpoint is kept.")
            trainer.emit(ev.RunFinished(reason="error", step=-1, epoch=-1, checkpoint=None, message=message))
            raise DeviceError(message) from None
        raise
    finally:
        if trainer.jsonl is not None:
            trainer.jsonl.close()


def resume(run_dir: str | Path, sink: Sink = null_sink, control: Control | None = None, *,
           epochs: int | None = None, steps: int | None = None, minutes: float | None = None,
           checkpoint: str | Path | None = None) -> RunResult:
    """Continue a run from its latest checkpoint (or `checkpoint`), exactly where it stopped.

    `epochs` and `steps` are totals; `minutes` are more minutes on top of those already trained.
    With none of them, the run continues towards the target it was started with.
    """
    folder = RunFolder(run_dir)
    config = folder.load_config()
    path = Path(checkpoint) if checkpoint else folder.latest_checkpoint()
    if path is None:
        raise CheckpointError(f"{folder.path} has no checkpoint to resume from yet.")
    state = load_checkpoint(path)
    counters = state["counters"]
    done_steps, done_epochs = int(counters["step"]), int(counters["epoch"])
    if sum(value is not None for value in (epochs, steps, minutes)) > 1:
        raise ConfigError("Give only one of epochs, steps or minutes.")
    if epochs is not None or steps is not None or minutes is not None:
        config.train.epochs, config.train.steps, config.train.minutes = epochs, steps, None
        if minutes is not None:
            config.train.minutes = float(counters["train_seconds"]) / 60 + minutes
    train = config.train
    if train.steps is not None and done_steps >= train.steps:
        raise ConfigError(f"This run is already at step {done_steps:,}; ask for more steps than that to go on.")
    if train.epochs is not None and done_epochs >= train.epochs and int(counters["position"]) == 0:
        raise ConfigError(f"This run already finished {done_epochs:,} epochs; ask for more epochs to go on.")
    if train.minutes is not None and float(counters["train_seconds"]) >= train.minutes * 60:
        raise ConfigError(f"This run already trained its {train.minutes:g} minutes; give --minutes to train longer.")
    config.run.dir = str(folder.path)
    return run(config, sink, control, resume_from=path, _checkpoint=state)
