"""The training engine: run(config, sink, control) trains any registered model and keeps its run folder.

It knows a config, a sink for events and a control token; nothing about threads, Qt, or who listens.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from . import events as ev
from .checkpoint import capture_rng_state, first_line, load_checkpoint, restore_rng_state
from .config import RunConfig
from .control import Control
from .data.batches import ImageBatches, should_memory_map
from .data.cache import LoadedDataset, load_dataset
from .data.scan import ScanCancelled
from .data.sources import list_sources
from .device import describe, is_out_of_memory, select_device
from .errors import CheckpointError, ConfigError, DataError, DeviceError, GanStudioError, TrainingDiverged
from .fileio import atomic_write_text
from .precision import resolve_precision
from .registry import get_recipe, metrics_for
from .runs import RunFolder, new_run_folder
from .sinks import JsonlSink, Sink, TeeSink, null_sink
from .training.background import BackgroundMeasurements
from .training.balance import INTERVAL_STEPS, BalanceGuard
from .training.checkpointer import Checkpointer
from .training.hooks import Hook, Hooks
from .training.meter import ProgressMeter
from .training.samples import SampleWriter
from .training.state import Clock, LossHistory, RunState, Target, TrainingClock

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


class _Trainer:
    """One run from start to finish; `run()` below is its public face.

    Setup (device, data, folder, networks, restored state) happens in `_prepare`; `run` is the loop.
    The named parts it drives live in core/training: the run state, the progress meter, the
    checkpointer, the sample writer, the hooks and the background measurements. `clock` (seconds,
    monotonic) is injectable, so what depends on time can be tested without waiting for it.
    """

    def __init__(self, config: RunConfig, sink: Sink, control: Control, resume_from: str | Path | None,
                 checkpoint: dict | None = None, clock: Clock = time.monotonic):
        self.config = copy.deepcopy(config).validate()
        self.user_sink = sink
        self.control = control
        self.resume_from = Path(resume_from) if resume_from else None
        self.preloaded_checkpoint = checkpoint
        self.clock = clock
        self.emit: Sink = sink
        self.jsonl: JsonlSink | None = None
        self.folder: RunFolder | None = None
        self.checkpointer: Checkpointer | None = None
        self.measurements = BackgroundMeasurements(self._emit_from_any_thread)
        self.metrics: list = []

    def _emit_from_any_thread(self, event: ev.Event) -> None:
        # Measurements finish on their own thread; self.emit is looked up then, as it changes once the folder exists.
        self.emit(event)

    # -- setup -------------------------------------------------------------------------------------

    def _load_domains(self, recipe_cls) -> list[LoadedDataset]:
        data = self.config.data

        def progress(stage: str, done: int, total: int) -> None:
            self.user_sink(ev.DataProgress(stage=stage, done=done, total=total))

        if len(recipe_cls.domains) > 1 and not data.demo and not data.paths_b:
            raise ConfigError(f"The {recipe_cls.name} model needs a second dataset (domain B).")
        domain_paths = [data.paths, data.paths_b][:len(recipe_cls.domains)]
        # Recipes that train on random crops decode larger pictures; the size is part of the cache key.
        load_data = dataclasses.replace(data, size=recipe_cls.load_size(self.config))
        loaded = []
        for index, paths in enumerate(domain_paths):
            estimated = len(list_sources(paths)) if not data.demo else 0
            mmap = should_memory_map(estimated * load_data.size * load_data.size * 3)
            try:
                loaded.append(load_dataset(load_data, progress, lambda: self.control.stop_requested, mmap=mmap,
                                           paths=None if data.demo else paths,
                                           demo_set=recipe_cls.demo_sets[index] if data.demo else "shapes"))
            except MemoryError:
                raise DataError("The dataset does not fit in memory at this size; choose a smaller image size.") from None
        for dataset in loaded:
            self.user_sink(ev.DatasetReady(name=dataset.report.name, usable=dataset.report.usable,
                                           skipped=len(dataset.report.skipped), from_cache=dataset.from_cache,
                                           seconds=dataset.seconds, warnings=tuple(dataset.report.warnings)))
            if dataset.cache_note:
                self.user_sink(ev.Warning(message=dataset.cache_note))
        return loaded

    def _prepare_folder(self, dataset_name: str) -> RunFolder:
        run_options = self.config.run
        if self.resume_from is not None:
            folder = RunFolder(run_options.dir or self.resume_from.parent.parent)
        elif run_options.dir:
            folder = RunFolder(run_options.dir)
            if folder.is_run() and folder.checkpoint_files():
                raise ConfigError(f"{folder.path} already holds a run; continue it with 'ganstudio resume {folder.path}' "
                                  "or choose another folder.")
        else:
            folder = new_run_folder(self.config, dataset_name)
        try:
            folder.create_folders()
        except OSError as exc:
            raise ConfigError(f"The run folder {folder.path} could not be created ({exc.strerror or exc}).") from None
        folder.remove_stale_temporaries()
        self.config.run.dir = str(folder.path)
        atomic_write_text(folder.config_path, self.config.to_json(app_version=__version__, torch_version=str(torch.__version__)))
        return folder

    def _restore(self, checkpoint: dict, state: RunState) -> None:
        """Put the run back exactly as the checkpoint left it: networks, data order, history, counters, RNGs.

        load_checkpoint checked the parts every model has; the model's own parts are known only to the
        model, so what it lacks or holds wrongly is found here, before the first step, and said plainly.
        """
        name = self.resume_from.name if self.resume_from is not None else "The checkpoint"
        cannot = "so it cannot continue training; resume from an earlier checkpoint of the run, or start a new run"
        lacking = [key for key in self.recipe.state_dict() if key not in checkpoint["recipe"]]
        if lacking:
            raise CheckpointError(f"{name} is incomplete: its model's state lacks {lacking[0]!r}, {cannot}.")
        try:
            self.recipe.load_state_dict(checkpoint["recipe"])
        except KeyError as exc:
            raise CheckpointError(f"{name} is incomplete: its model's state lacks {exc.args[0]!r}, {cannot}.") from None
        except (ValueError, TypeError, RuntimeError) as exc:
            if is_out_of_memory(exc):
                raise
            raise CheckpointError(f"{name} does not fit its own model ({first_line(exc)}), {cannot}.") from None
        saved_domains = checkpoint["data"]["domains"]
        if len(saved_domains) != len(self.domain_batches):
            raise CheckpointError(f"{name} holds the picture order of {len(saved_domains)} dataset(s), not the "
                                  f"{len(self.domain_batches)} its model trains on, {cannot}.")
        for batches, saved in zip(self.domain_batches, saved_domains):
            try:
                batches.load_state_dict(saved)
            except ValueError as exc:
                raise DataError(f"The dataset changed since this run was saved ({exc}); exact resume needs the "
                                "same pictures. Put them back, or start a new run.") from None
            except (KeyError, TypeError, RuntimeError) as exc:
                raise CheckpointError(f"{name} holds a picture order that cannot be restored ({first_line(exc)}), "
                                      f"{cannot}.") from None
        state.history.load_state_dict(checkpoint["history"])
        state.load_counters(checkpoint["counters"])
        try:
            restore_rng_state(checkpoint["rng"])
        except (KeyError, ValueError, TypeError, RuntimeError) as exc:
            raise CheckpointError(f"{name} holds random number generator states that cannot be restored "
                                  f"({first_line(exc)}), {cannot}.") from None

    def _prepare(self) -> RunState:
        """Everything before the first step; the run state, restored when continuing."""
        config = self.config
        device = select_device(config.train.device)
        self.precision = resolve_precision(config.train.precision, device)
        recipe_cls = get_recipe(config.model.name)
        checkpoint = self.preloaded_checkpoint
        self.preloaded_checkpoint = None
        if checkpoint is None and self.resume_from is not None:
            checkpoint = load_checkpoint(self.resume_from, for_training=True)
        if checkpoint is not None and checkpoint.get("model") != config.model.name:
            raise CheckpointError(f"{self.resume_from.name} belongs to a {checkpoint.get('model')} model, "
                                  f"not {config.model.name}.")

        loaded = self._load_domains(recipe_cls)
        self.dataset_size = max(dataset.report.usable for dataset in loaded)
        recipe_cls.resolve_config(config, device)
        resolve_target(config, self.dataset_size, device)
        self.folder = self._prepare_folder(loaded[0].report.name if not config.data.demo else "demo")
        self.jsonl = JsonlSink(self.folder.metrics_path)
        self.emit = TeeSink(self.jsonl, self.user_sink)
        self.checkpointer = Checkpointer(self.folder, config.run.keep_checkpoints, self.resume_from)
        self.samples = SampleWriter(self.folder, config.model.name)

        seed_everything(config.train.seed)
        self.device = device
        self.recipe = recipe_cls(config, device, self.precision)
        self.domain_batches = [
            ImageBatches(dataset.pixels, device, config.train.batch_size, config.train.seed + 7919 * index,
                         flip=config.data.augment in ("flip", "diff+flip"), crop=config.data.size)
            for index, dataset in enumerate(loaded)]
        self.recipe.attach_data([dataset.pixels for dataset in loaded])
        self.metrics = [metric(config, device, [dataset.pixels for dataset in loaded])
                        for metric in metrics_for(config.run.metrics, recipe_cls)]
        del loaded
        steps_per_epoch = max(batches.steps_per_epoch for batches in self.domain_batches)
        history = LossHistory(self.recipe.loss_names + self.recipe.stat_names)
        state = RunState(Target.of(config, steps_per_epoch), config.train.batch_size, history,
                         TrainingClock(clock=self.clock))
        if checkpoint is not None:
            self._restore(checkpoint, state)
            self.checkpointer.last_step = state.step
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        return state

    def _add_hooks(self, state: RunState) -> Hooks:
        """The periodic work of every run: the balance guard every few steps, a sample grid every few epochs, a
        checkpoint every few minutes, and each metric on its own schedule."""
        run_options = self.config.run
        hooks = Hooks(state)
        # First, so a checkpoint taken at the same step holds the augmentation strength the next step uses.
        guard = BalanceGuard.for_recipe(self.recipe, lambda message: self.emit(ev.Warning(message=message)),
                                        run_options.log_every_steps)
        if guard is not None:
            hooks.add(Hook("balance", lambda: guard.observe(state.step, state.history.values), every_steps=INTERVAL_STEPS))
        sample_every = run_options.sample_every_epochs or max(1, math.ceil(SAMPLE_IMAGES / max(1, self.dataset_size)))
        hooks.add(Hook("samples", lambda: self.emit(self.samples.write(self.recipe, state)), every_epochs=sample_every))
        hooks.add(Hook("checkpoint", lambda: self._checkpoint(state),
                       every_seconds=run_options.checkpoint_every_minutes * 60, at_epoch_end=True))
        for metric in self.metrics:
            measure = lambda metric=metric: self.measurements.take(metric, self.recipe, state)  # noqa: E731
            hooks.add(Hook(f"metric {metric.name}", measure, every_seconds=metric.every_seconds,
                           every_epochs=metric.every_epochs))
        return hooks

    def _checkpoint(self, state: RunState) -> None:
        self.emit(self.checkpointer.save({
            "model": self.config.model.name,
            "config": self.config.to_dict(),
            "counters": state.counters(),
            "recipe": self.recipe.state_dict(),
            "data": {"domains": [batches.state_dict() for batches in self.domain_batches]},
            "history": state.history.state_dict(),
            "rng": capture_rng_state(),
        }, state.step))

    def _started(self, state: RunState) -> ev.RunStarted:
        config, recipe = self.config, self.recipe
        return ev.RunStarted(
            run_dir=str(self.folder.path), run_name=self.folder.name, model=config.model.name,
            device=describe(self.device), precision=self.precision, dataset_size=self.dataset_size,
            batch_size=state.batch_size, steps_per_epoch=state.steps_per_epoch, start_step=state.step,
            start_epoch=state.epoch, target=state.target.describe(), total_steps=state.target.total_steps,
            loss_names=recipe.loss_names, stat_names=recipe.stat_names, visual_names=type(recipe).visual_names,
            parameters=recipe.parameter_count(),
            metric_names=tuple(name for metric in self.metrics for name in metric.value_names))

    def _pause(self, state: RunState, meter: ProgressMeter) -> None:
        """Wait, cooperatively, until resumed or stopped; the pause counts as no training time."""
        self._emit_step(meter.flush(force_event=True))
        state.clock.pause()
        self.emit(ev.Paused(step=state.step))
        while self.control.paused:
            self.control.wait_while_paused(0.5)
        meter.shift(state.clock.resume())
        self.emit(ev.Resumed(step=state.step))

    def _emit_step(self, event: ev.StepProgress | None) -> None:
        if event is not None:
            self.emit(event)

    # -- the loop ----------------------------------------------------------------------------------

    def run(self) -> RunResult:
        state = self._prepare()
        meter = ProgressMeter(state, len(self.recipe.loss_names), self.config.run.log_every_steps)
        hooks = self._add_hooks(state)
        self.emit(self._started(state))

        reason = state.reached()
        while reason is None:
            if self.control.stop_requested:
                reason = "stopped"
                break
            if self.control.paused:
                self._pause(state, meter)
                continue
            batches = [domain.next_batch()[0] for domain in self.domain_batches]
            self.recipe.before_step(*state.progress())
            values = self.recipe.train_step(batches, state.images_seen)
            epoch_ended = state.advance()
            self._emit_step(meter.record(values, force_event=epoch_ended))
            if epoch_ended:
                self.emit(meter.epoch_ended())
            hooks.after_step(epoch_ended)
            reason = state.reached()

        self._emit_step(meter.flush(force_event=True))
        self.measurements.finish()
        if self.samples.last_step != state.step:
            self.emit(self.samples.write(self.recipe, state))
        if self.checkpointer.last_step != state.step:
            self._checkpoint(state)
        checkpoint = self.checkpointer.last_path
        self.emit(ev.RunFinished(reason=reason, step=state.step, epoch=state.epoch,
                                 checkpoint=str(checkpoint) if checkpoint else None, run_dir=str(self.folder.path),
                                 elapsed_seconds=state.clock.elapsed()))
        return RunResult(self.folder.path, reason, state.step, state.epoch, checkpoint)

    def finish_with_problem(self, reason: str, message: str) -> None:
        """The RunFinished of a run that ended with a problem, naming the last good checkpoint if there is one."""
        checkpoint = self.checkpointer.last_path if self.checkpointer is not None else None
        self.emit(ev.RunFinished(reason=reason, step=-1, epoch=-1, checkpoint=str(checkpoint) if checkpoint else None,
                                 message=message, run_dir=str(self.folder.path) if self.folder else None))


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
        trainer.finish_with_problem("diverged" if isinstance(exc, TrainingDiverged) else "error", str(exc))
        raise
    except (RuntimeError, MemoryError) as exc:
        if is_out_of_memory(exc):
            message = (f"Out of memory while training at {trainer.config.data.size} px with batch size "
                       f"{trainer.config.train.batch_size}; choose a smaller batch size or image size. The last "
                       "checkpoint is kept.")
            trainer.finish_with_problem("error", message)
            raise DeviceError(message) from None
        raise
    finally:
        trainer.measurements.finish()
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
    state = load_checkpoint(path, for_training=True)
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
        raise ConfigError(f"This run already trained its {train.minutes:g} minutes; ask for more minutes to go on.")
    config.run.dir = str(folder.path)
    return run(config, sink, control, resume_from=path, _checkpoint=state)
