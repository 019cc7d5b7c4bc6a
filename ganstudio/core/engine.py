"""The training engine: run(config, sink, control) trains any registered model and keeps its run folder.

It knows a config, a sink for events and a control token; nothing about threads, Qt, or who listens.
"""

from __future__ import annotations

import copy
import dataclasses
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
from .distributed import Processes, is_collective_failure
from .errors import CheckpointError, ConfigError, DataError, DeviceError, GanStudioError, TrainingDiverged
from .fileio import atomic_write_text
from .precision import resolve_precision
from .quality import QualityWatch
from .recipes.base import BatchSplit
from .replay import replay_run
from .registry import get_recipe, metrics_for
from .runs import RunFolder, new_run_folder
from .sinks import JsonlSink, Sink, TeeSink, null_sink
from .training.autobatch import HEADROOM_SHARE, device_probe, fit_batch_size
from .training.background import BackgroundMeasurements
from .training.balance import INTERVAL_STEPS, BalanceGuard
from .training.checkpointer import Checkpointer
from .training.hooks import Hook, Hooks
from .training.meter import ProgressMeter
from .training.rollback import StepRollback
from .training.samples import SampleWriter
from .training.state import Clock, LossHistory, RunState, Target, TrainingClock

# With no target given, a run sees about this many images (300 epochs of 1,000 pictures, say)...
DEFAULT_IMAGES = 300_000
# ...and the demo trains this long on a CPU: enough for clear shapes, short enough to watch.
DEMO_CPU_MINUTES = 4.0
DEMO_GPU_EPOCHS = 40


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
        self.quality_watch: QualityWatch | None = None  # the health line, built with the metrics
        # Under torchrun, this process's place among the run's; every process trains, rank 0 alone writes.
        self.processes = Processes.from_environment()
        if not self.processes.is_main:
            self.user_sink = self.emit = null_sink

    def _emit_from_any_thread(self, event: ev.Event) -> None:
        # Measurements finish on their own thread; self.emit is looked up then, as it changes once the folder exists.
        self.emit(event)
        if isinstance(event, ev.MetricMeasured):
            self._offer_best(event)

    def _offer_best(self, measured: ev.MetricMeasured) -> None:
        """Keep the measured step's checkpoint as the best when a checkpoint-ranking metric scored it best."""
        metric = next((metric for metric in self.metrics if metric.name == measured.name), None)
        if metric is None or not metric.ranks_checkpoints or self.checkpointer is None:
            return
        score_name = metric.value_names[0]
        score = measured.values[score_name]
        best = self.checkpointer.offer_best(measured.step, score_name, score, metric.higher_is_better)
        if best is not None:
            self.emit(ev.BestCheckpoint(step=measured.step, epoch=measured.epoch, score_name=score_name,
                                        score=score, path=str(best)))
        if self.quality_watch is not None and self.quality_watch.score_name == score_name:
            for warning in self.quality_watch.observe(measured):
                self.emit(warning)

    def _quality_watch(self, continued_from: int | None) -> QualityWatch | None:
        """The health line of the metric that ranks checkpoints. A continue first replays the checks its history
        holds up to its checkpoint (saying nothing), so the count goes on and a warning given is not given again."""
        ranking = next((metric for metric in self.metrics if metric.ranks_checkpoints), None)
        if ranking is None:
            return None
        watch = QualityWatch(ranking.value_names[0], ranking.higher_is_better)
        if continued_from is not None:
            for measured in replay_run(self.folder.metrics_path).metrics:
                if measured.name == ranking.name and measured.step <= continued_from:
                    watch.observe(measured)
        return watch

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
        saved_processes = int(checkpoint.get("processes", 1))
        if saved_processes != self.processes.world:
            how = (f"torchrun --nproc_per_node={saved_processes} -m ganstudio resume --run-dir RUN"
                   if saved_processes > 1 else "ganstudio resume RUN, without torchrun")
            raise CheckpointError(f"{name} was trained on {saved_processes} process{'es' if saved_processes > 1 else ''}"
                                  f", this is {self.processes.world}; exact continuation needs the same number: {how}.")
        checkpoint["recipe"] = type(self.recipe).upgrade_state(checkpoint["recipe"], self.config)
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
        # A run that stepped its batch down after running out of memory goes on in as many micro-batches.
        self.recipe.split = dataclasses.replace(self.recipe.split, micro_batches=int(checkpoint.get("micro_batches", 1)))
        state.history.load_state_dict(checkpoint["history"])
        state.load_counters(checkpoint["counters"])
        try:
            restore_rng_state(checkpoint["rng"])
        except (KeyError, ValueError, TypeError, RuntimeError) as exc:
            raise CheckpointError(f"{name} holds random number generator states that cannot be restored "
                                  f"({first_line(exc)}), {cannot}.") from None

    def _build_metrics(self, recipe_cls, domain_pixels: list[np.ndarray]) -> list:
        """The run's metrics; one that cannot work here (its weights are not installed) is a warning, not an
        error, and the run trains without it."""
        metrics = []
        for metric_cls in metrics_for(self.config.run.metrics, recipe_cls):
            try:
                metrics.append(metric_cls(self.config, self.device, domain_pixels))
            except GanStudioError as exc:
                name = metric_cls.label or metric_cls.name
                self.emit(ev.Warning(message=f"{name} is not measured in this run: {exc}"))
        return metrics

    def _prepare(self) -> RunState:
        """Everything before the first step; the run state, restored when continuing."""
        config = self.config
        processes = self.processes
        device = processes.device(select_device(config.train.device))
        processes.start(device)
        self.precision = resolve_precision(config.train.precision, device)
        if processes.active and self.precision == "fp16":
            # The fp16 scaler decides to skip a step on each process's own gradients, before they are averaged:
            # processes could disagree and drift apart.
            raise ConfigError("Half precision (fp16) cannot train on several processes; use --precision bf16 or "
                              "fp32.")
        recipe_cls = get_recipe(config.model.name)
        checkpoint = self.preloaded_checkpoint
        self.preloaded_checkpoint = None
        if checkpoint is None and self.resume_from is not None:
            checkpoint = load_checkpoint(self.resume_from, for_training=True)
        if checkpoint is not None and checkpoint.get("model") != config.model.name:
            raise CheckpointError(f"{self.resume_from.name} belongs to a {checkpoint.get('model')} model, "
                                  f"not {config.model.name}.")

        if not self.processes.is_main:
            self.processes.barrier()  # rank 0 reads the pictures first and builds the cache; the rest read that
        loaded = self._load_domains(recipe_cls)
        if self.processes.is_main:
            self.processes.barrier()
        self.dataset_size = max(dataset.report.usable for dataset in loaded)
        automatic_batch = config.train.batch_size == 0
        recipe_cls.resolve_config(config, device)
        notes = self._fit_automatic_batch(recipe_cls, device) if automatic_batch else []
        resolve_target(config, self.dataset_size, device)
        if processes.is_main:
            self.folder = self._prepare_folder(loaded[0].report.name if not config.data.demo else "demo")
            self.jsonl = JsonlSink(self.folder.metrics_path)
            self.emit = TeeSink(self.jsonl, self.user_sink)
            for note in notes:
                self.emit(note)
            self.checkpointer = Checkpointer(self.folder, config.run.keep_checkpoints, self.resume_from)
            self.samples = SampleWriter(self.folder, config.model.name, config.run.sample_every_epochs)
        # Every process knows the run's folder (for its result and its messages); only rank 0 writes in it.
        folder_path = processes.from_main(str(self.folder.path) if self.folder is not None else None)
        if not processes.is_main:
            self.folder = RunFolder(folder_path)
            self.config.run.dir = folder_path

        seed_everything(config.train.seed)
        self.device = device
        self.recipe = recipe_cls(config, device, self.precision)
        self.recipe.split = BatchSplit(processes.rank, processes.world,
                                       gather=processes.gather if processes.active else None)
        self.gradient_hooks = processes.synchronise_gradients(self.recipe.optimizers()) if processes.active else []
        # Every process draws the whole step's batch, in the same order (so one checkpoint's data order serves
        # all) and trains on its share of it (BatchSplit.parts): batch_size is per process, as torchrun users expect.
        step_batch = config.train.batch_size * processes.world
        self.domain_batches = [
            ImageBatches(dataset.pixels, device, step_batch, config.train.seed + 7919 * index,
                         flip=config.data.augment in ("flip", "diff+flip"), crop=config.data.size)
            for index, dataset in enumerate(loaded)]
        self.recipe.attach_data([dataset.pixels for dataset in loaded])
        self.metrics = self._build_metrics(recipe_cls, [dataset.pixels for dataset in loaded])
        del loaded
        steps_per_epoch = max(batches.steps_per_epoch for batches in self.domain_batches)
        history = LossHistory(self.recipe.loss_names + self.recipe.stat_names)
        state = RunState(Target.of(config, steps_per_epoch), step_batch, history, TrainingClock(clock=self.clock))
        if checkpoint is not None:
            self._restore(checkpoint, state)
            if self.checkpointer is not None:
                self.checkpointer.last_step = state.step
        if self.processes.is_main:  # only rank 0 measures, and only it writes the run's history
            self.quality_watch = self._quality_watch(state.step if checkpoint is not None else None)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        return state

    def _fit_automatic_batch(self, recipe_cls, device: torch.device) -> list[ev.Event]:
        """On a GPU, the model's own batch or the largest below it that fits with headroom, into the config (and so
        into config.json); a Warning to say so when it had to be smaller. Rank 0 measures, every process follows."""
        config = self.config
        preferred = config.train.batch_size
        fitted = None
        if self.processes.is_main:
            size = config.data.size
            measured = device_probe(recipe_cls, config, device, self.precision,
                                    [(size, size)] * len(recipe_cls.domains))
            if measured is not None:
                probe, capacity = measured
                fitted = (*fit_batch_size(preferred, probe, capacity), capacity)
        fitted = self.processes.from_main(fitted)
        if fitted is None:
            return []
        batch, peak, capacity = fitted
        config.train.batch_size = batch
        if batch == preferred:
            return []
        fits = f"a step of {batch} peaks at {peak / 2**30:.1f} GB" if peak is not None else "not even 1 fits"
        return [ev.Warning(message=f"Automatic batch size: {batch} instead of {preferred}, to leave "
                                   f"{1 - HEADROOM_SHARE:.0%} of the GPU's {capacity / 2**30:.0f} GB free ({fits}).")]

    def _add_hooks(self, state: RunState) -> Hooks:
        """The periodic work of every run: the balance guard every few steps, a sample grid within the first minute
        and then every minute (and every few epochs if asked), a checkpoint every few minutes, and each metric on
        its own schedule."""
        run_options = self.config.run
        hooks = Hooks(state)
        # First, so a checkpoint taken at the same step holds the augmentation strength the next step uses.
        guard = BalanceGuard.for_recipe(self.recipe, lambda message: self.emit(ev.Warning(message=message)),
                                        run_options.log_every_steps)
        if guard is not None:
            hooks.add(Hook("balance", lambda: guard.observe(state.step, state.history.values), every_steps=INTERVAL_STEPS))

        def sample_when_due() -> None:
            # The sample writer keeps its own schedule, in training time and by epoch: asked after every step.
            event = self.samples.write_when_due(self.recipe, state, epoch_ended=state.position == 0)
            if event is not None:
                self.emit(event)

        hooks.add(Hook("samples", sample_when_due, every_steps=1))
        hooks.add(Hook("checkpoint", lambda: self._checkpoint(state),
                       every_seconds=run_options.checkpoint_every_minutes * 60, at_epoch_end=True))
        for metric in self.metrics:
            measure = lambda metric=metric: self._measure(metric, state)  # noqa: E731
            hooks.add(Hook(f"metric {metric.name}", measure, every_seconds=metric.every_seconds,
                           every_epochs=metric.every_epochs))
        return hooks

    def _measure(self, metric, state: RunState) -> None:
        """Take `metric` now; one that ranks checkpoints gets a checkpoint of this step first, kept if it scores
        best (unless a measurement is still running: then this turn is skipped, checkpoint and all)."""
        if metric.ranks_checkpoints and not self.measurements.busy and self.checkpointer.last_step != state.step:
            self._checkpoint(state)
        self.measurements.take(metric, self.recipe, state)

    def _checkpoint(self, state: RunState) -> None:
        self.emit(self.checkpointer.save({
            "model": self.config.model.name,
            "config": self.config.to_dict(),
            "counters": state.counters(),
            "recipe": self.recipe.state_dict(),
            "data": {"domains": [batches.state_dict() for batches in self.domain_batches]},
            "history": state.history.state_dict(),
            "rng": capture_rng_state(),
            "processes": self.processes.world,
            "micro_batches": self.recipe.split.micro_batches,
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
        hooks = self._add_hooks(state) if self.processes.is_main else Hooks(state)
        self.rollback = StepRollback(self.recipe)
        self.emit(self._started(state))

        reason = self._end_reason(state)
        while reason is None:
            if self.control.paused:
                self._pause(state, meter)
                reason = self._end_reason(state)  # a stop asked during the pause ends the run before another step
                continue
            batches = [domain.next_batch()[0] for domain in self.domain_batches]
            self.recipe.before_step(*state.progress())
            values = self.processes.mean(self._step(batches, state))
            epoch_ended = state.advance()
            self._emit_step(meter.record(values, force_event=epoch_ended))
            if epoch_ended:
                self.emit(meter.epoch_ended())
            hooks.after_step(epoch_ended)
            reason = self._end_reason(state)

        self._emit_step(meter.flush(force_event=True))
        self.measurements.finish()
        if not self.processes.is_main:
            return RunResult(self.folder.path, reason, state.step, state.epoch, None)
        if self.samples.last_step != state.step:
            self.emit(self.samples.write(self.recipe, state))
        if self.checkpointer.last_step != state.step:
            self._checkpoint(state)
        checkpoint = self.checkpointer.last_path
        self.emit(ev.RunFinished(reason=reason, step=state.step, epoch=state.epoch,
                                 checkpoint=str(checkpoint) if checkpoint else None, run_dir=str(self.folder.path),
                                 elapsed_seconds=state.clock.elapsed()))
        return RunResult(self.folder.path, reason, state.step, state.epoch, checkpoint)

    def _end_reason(self, state: RunState) -> str | None:
        """Why the run ends now ('stopped', 'completed', 'time_limit'), or None; agreed by every process."""
        reason = "stopped" if self.control.stop_requested else state.reached()
        return self.processes.agree(reason, state.step)

    def _step(self, batches: list[torch.Tensor], state: RunState) -> torch.Tensor:
        """One training step that out of memory cannot end: the step is undone and retried in micro-batches.

        Halving the pieces while keeping the batch (gradients accumulate over them) keeps the run's
        effective batch, so its curves and learning rates mean what they meant. The number of pieces is
        saved in checkpoints, so a resumed run does not have to run out of memory again to find it.
        """
        while True:
            self.rollback.keep()
            self.processes.collectives_this_step = 0
            try:
                # The switch point for a captured fast path (CUDA graphs, torch.compile's reduce-overhead), once
                # `ganstudio bench --compile` measures on a GPU that it pays for its compiling; on CPUs it did not.
                return self.recipe.train_step(batches, state.images_seen)
            except (RuntimeError, MemoryError) as exc:
                if not is_out_of_memory(exc):
                    raise
            # Outside the except block, so the failed step's tensors, held by the traceback, are freed first.
            self._retry_in_smaller_pieces(state)

    def _retry_in_smaller_pieces(self, state: RunState) -> None:
        split = self.recipe.split
        share = state.batch_size // self.processes.world
        pieces = min(share, split.micro_batches * 2)
        if pieces == split.micro_batches or self.processes.collectives_this_step:
            # One picture a piece is as small as a step goes; and a process that already averaged gradients with
            # the others this step cannot undo its step alone.
            self.rollback.release()
            raise MemoryError("out of memory")
        self.rollback.undo()
        self.rollback.release()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        self.recipe.split = dataclasses.replace(split, micro_batches=pieces)
        piece = -(-share // pieces)
        self.emit(ev.Warning(message=f"Out of memory at step {state.step + 1:,}: the step was undone and goes on in "
                                     f"{pieces} micro-batches of up to {piece} (batch {state.batch_size} as before)."))

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
        if is_collective_failure(exc):
            message = (f"Another of the {trainer.processes.world} training processes stopped, so this one stopped too"
                       f" without saving. The last checkpoint is kept; continue with the same torchrun command and "
                       f"'ganstudio resume --run-dir RUN'.")
            trainer.finish_with_problem("error", message)
            raise GanStudioError(message) from None
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
        trainer.processes.finish()


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
