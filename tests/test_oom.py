"""Out of memory never ends a run: the failed step is undone and retried in micro-batches that keep the batch.

The error is raised on purpose, with the exception type CUDA raises (torch.OutOfMemoryError), from
inside a recipe's step: between its two networks' updates, where a half-applied step would show.
"""

from __future__ import annotations

import functools

import pytest
import torch

from conftest import resave_checkpoint, scramble_global_rngs, tiny_config, write_pictures
from ganstudio.core import engine
from ganstudio.core import events as ev
from ganstudio.core.checkpoint import load_checkpoint
from ganstudio.core.control import Control
from ganstudio.core.errors import DeviceError
from ganstudio.core.recipes import cyclegan, dcgan
from ganstudio.core.recipes.base import BatchSplit
from ganstudio.core.runs import RunFolder
from ganstudio.core.sinks import ListSink
from ganstudio.core.training import autobatch, meter
from test_cyclegan_training import cyclegan_config, two_domains
from test_resume import differences, final_state

STEPS = 6
FAILING_STEP = 3  # the step (counted from 1) whose first attempt runs out of memory


def out_of_memory() -> torch.OutOfMemoryError:
    return torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


class FailOnce:
    """Wraps a function of a step so that it raises out-of-memory once, at `FAILING_STEP`, on a whole batch."""

    def __init__(self, function, calls_per_step: int, whole_batch: int):
        self.function = function
        self.calls_per_step = calls_per_step
        self.whole_batch = whole_batch
        self.calls = 0
        self.raised = 0

    def __call__(self, *args, **kwargs):
        batch = next(arg for arg in args if isinstance(arg, torch.Tensor)).shape[0]
        if batch == self.whole_batch:
            self.calls += 1
            if self.calls == (FAILING_STEP - 1) * self.calls_per_step + 1 and not self.raised:
                self.raised += 1
                raise out_of_memory()
        return self.function(*args, **kwargs)


def of_type(sink: ListSink, kind) -> list:
    return [event for event in sink if isinstance(event, kind)]


def largest_relative_difference(optimizer_a: dict, optimizer_b: dict, moment: str) -> float:
    """The largest difference of an Adam moment between two optimiser states, over its largest value."""
    a = torch.cat([state[moment].flatten() for state in optimizer_a["state"].values()])
    b = torch.cat([state[moment].flatten() for state in optimizer_b["state"].values()])
    return float((a - b).abs().max() / a.abs().max())


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    return two_domains(tmp_path_factory.mktemp("domains"))


def run_in_pieces_from_the_failing_step(config, monkeypatch) -> dict:
    """The run as it should be after the out-of-memory error: one piece a step up to the failing step, then two.

    Stopped before the failing step, its checkpoint told to go on in two micro-batches, then resumed:
    resume is exact, so this is the troubled run's ideal, to the bit.
    """
    monkeypatch.setattr(meter, "STEP_EVENT_INTERVAL_S", 0.0)
    control = Control()

    def stop_before_the_failing_step(event: ev.Event) -> None:
        if isinstance(event, ev.StepProgress) and event.step >= FAILING_STEP - 1:
            control.request_stop()

    assert engine.run(config, stop_before_the_failing_step, control).step == FAILING_STEP - 1
    path = RunFolder(config.run.dir).latest_checkpoint()
    state = torch.load(path, weights_only=True)
    state["micro_batches"] = 2
    resave_checkpoint(path, state)
    scramble_global_rngs()
    engine.resume(config.run.dir)
    return final_state(config.run.dir)


def test_dcgan_out_of_memory_between_d_and_g_is_undone_and_retried_in_two_pieces(tmp_path, monkeypatch):
    write_pictures(tmp_path / "pictures", 40)
    ideal = run_in_pieces_from_the_failing_step(tiny_config(tmp_path / "pictures", tmp_path / "ideal", steps=STEPS),
                                                monkeypatch)
    failing = FailOnce(dcgan.generator_loss, calls_per_step=1, whole_batch=8)
    monkeypatch.setattr(dcgan, "generator_loss", lambda kind, logits: failing(kind, logits))
    sink = ListSink()
    scramble_global_rngs()
    result = engine.run(tiny_config(tmp_path / "pictures", tmp_path / "run", steps=STEPS), sink)

    assert failing.raised == 1 and result.reason == "completed" and result.step == STEPS
    # D had stepped when G's loss failed: undone to the bit, weights, moments, statistics, RNGs and all.
    assert differences(ideal, final_state(tmp_path / "run")) == []
    state = load_checkpoint(RunFolder(tmp_path / "run").latest_checkpoint())
    for name in ("optimizer_d", "optimizer_g"):
        steps = {int(parameter_state["step"]) for parameter_state in state["recipe"][name]["state"].values()}
        assert steps == {STEPS}, name
    assert state["micro_batches"] == 2
    warnings = [event.message for event in of_type(sink, ev.Warning)]
    assert warnings == ["Out of memory at step 3: the step was undone and goes on in 2 micro-batches of up to 4 "
                        "(batch 8 as before)."]


def test_cyclegan_out_of_memory_after_g_stepped_is_undone_and_retried_in_two_pieces(domains, tmp_path, monkeypatch):
    monkeypatch.setattr(cyclegan, "POOL_SIZE", 4)  # a pool that fills and hands back old fakes within the run
    ideal = run_in_pieces_from_the_failing_step(
        cyclegan_config(*domains, tmp_path / "ideal", steps=STEPS, batch_size=2), monkeypatch)
    failing = FailOnce(cyclegan.CycleGANRecipe._discriminator_losses, calls_per_step=1, whole_batch=2)
    monkeypatch.setattr(cyclegan.CycleGANRecipe, "_discriminator_losses", lambda self, *args: failing(self, *args))
    scramble_global_rngs()
    result = engine.run(cyclegan_config(*domains, tmp_path / "run", steps=STEPS, batch_size=2))
    assert failing.raised == 1 and result.step == STEPS
    assert differences(ideal, final_state(tmp_path / "run")) == []


def test_cyclegan_micro_batches_train_as_the_whole_batch(domains, tmp_path, monkeypatch):
    """Instance norm keeps CycleGAN's pictures independent: a step in two pieces of one picture has the gradients of
    a step on both at once, to float tolerance (accumulation adds in another order). Adam's moments after one
    step are its gradients, scaled; its first update is nearly sign(gradient), where float noise on a gradient
    near zero flips a sign, so the weights themselves are not the thing to compare."""
    monkeypatch.setattr(cyclegan, "POOL_SIZE", 0)
    # float32: a CPU with bf16 instructions would otherwise train in bf16, whose 8 bits of mantissa are the noise.
    whole = engine.run(cyclegan_config(*domains, tmp_path / "whole", steps=1, batch_size=2, precision="fp32"))
    monkeypatch.setattr(engine, "BatchSplit", functools.partial(BatchSplit, micro_batches=2))
    pieces = engine.run(cyclegan_config(*domains, tmp_path / "pieces", steps=1, batch_size=2, precision="fp32"))
    whole_state, pieces_state = (load_checkpoint(result.checkpoint) for result in (whole, pieces))
    assert pieces_state["micro_batches"] == 2
    for name in ("optimizer_g", "optimizer_d"):
        for moment in ("exp_avg", "exp_avg_sq"):
            assert largest_relative_difference(whole_state["recipe"][name], pieces_state["recipe"][name], moment) \
                < 1e-4, (name, moment)
        assert differences(whole_state["recipe"][name], pieces_state["recipe"][name]) != []  # added in another order
    assert torch.allclose(whole_state["history"]["values"], pieces_state["history"]["values"], rtol=1e-5)


def test_resume_keeps_the_micro_batches(tmp_path, monkeypatch):
    write_pictures(tmp_path / "pictures", 40)
    failing = FailOnce(dcgan.generator_loss, calls_per_step=1, whole_batch=8)
    monkeypatch.setattr(dcgan, "generator_loss", lambda kind, logits: failing(kind, logits))
    engine.run(tiny_config(tmp_path / "pictures", tmp_path / "run", steps=STEPS))
    monkeypatch.undo()
    pieces = []
    original = dcgan.DCGANRecipe.train_step
    monkeypatch.setattr(dcgan.DCGANRecipe, "train_step",
                        lambda self, *args: pieces.append(self.split.micro_batches) or original(self, *args))
    engine.resume(tmp_path / "run", steps=STEPS + 2)
    assert pieces == [2, 2]


def test_out_of_memory_at_one_picture_a_piece_ends_plainly_with_the_checkpoint_kept(tmp_path, monkeypatch):
    write_pictures(tmp_path / "pictures", 40)
    engine.run(tiny_config(tmp_path / "pictures", tmp_path / "run", steps=2))
    kept = RunFolder(tmp_path / "run").latest_checkpoint()

    def never_fits(kind, logits):
        raise out_of_memory()

    monkeypatch.setattr(dcgan, "generator_loss", never_fits)
    sink = ListSink()
    with pytest.raises(DeviceError, match="Out of memory while training at 32 px with batch size 8"):
        engine.resume(tmp_path / "run", sink, steps=4)
    warnings = [event.message for event in of_type(sink, ev.Warning)]
    assert ["2 micro-batches" in warnings[0], "4 micro-batches" in warnings[1], "8 micro-batches" in warnings[2]] \
        == [True, True, True] and len(warnings) == 3
    finished = of_type(sink, ev.RunFinished)[-1]
    assert finished.reason == "error" and finished.checkpoint == str(kept)
    assert RunFolder(tmp_path / "run").latest_checkpoint() == kept
    assert int(load_checkpoint(kept)["counters"]["step"]) == 2


def test_the_automatic_batch_halves_until_a_step_fits_with_headroom():
    tried = []

    def probe(batch: int) -> int:
        tried.append(batch)
        if batch > 16:
            raise out_of_memory()
        return batch * 2**30

    assert autobatch.fit_batch_size(64, probe, capacity_bytes=16 * 2**30) == (8, 8 * 2**30)
    assert tried == [64, 32, 16, 8]  # 16 fits, but not within 80% of 16 GB
    assert autobatch.fit_batch_size(4, lambda batch: 10, capacity_bytes=100) == (4, 10)  # never above the model's own
    assert autobatch.fit_batch_size(4, lambda batch: 1000, capacity_bytes=100) == (1, None)


def test_an_automatic_batch_is_measured_recorded_and_said(tmp_path, monkeypatch):
    """The engine's wiring, with an injected probe in place of CUDA's: a GPU of 1 GB, 100 MB a picture a step."""
    write_pictures(tmp_path / "pictures", 40)
    tried = []

    def probe(batch: int) -> int:
        tried.append(batch)
        return batch * 100 * 2**20

    monkeypatch.setattr(engine, "device_probe", lambda *args: (probe, 2**30))
    sink = ListSink()
    config = tiny_config(tmp_path / "pictures", tmp_path / "run", steps=1, batch_size=0)
    engine.run(config, sink)
    assert tried == [16, 8]  # DCGAN's own CPU batch first, then half
    started = of_type(sink, ev.RunStarted)[0]
    assert started.batch_size == 8 and RunFolder(tmp_path / "run").load_config().train.batch_size == 8
    assert [event.message for event in of_type(sink, ev.Warning)] == [
        "Automatic batch size: 8 instead of 16, to leave 20% of the GPU's 1 GB free (a step of 8 peaks at 0.8 GB)."]
    lines = (tmp_path / "run" / "metrics.jsonl").read_text()
    assert "Automatic batch size: 8 instead of 16" in lines


def test_a_batch_the_user_chose_is_not_searched(tmp_path, monkeypatch):
    write_pictures(tmp_path / "pictures", 40)
    monkeypatch.setattr(engine, "device_probe", lambda *args: pytest.fail("a chosen batch needs no probe"))
    engine.run(tiny_config(tmp_path / "pictures", tmp_path / "run", steps=1, batch_size=8))
