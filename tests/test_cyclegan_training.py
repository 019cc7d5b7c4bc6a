"""CycleGAN training: the reference's step, the schedule, the pools, the gallery, and resume that is exact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import resume_with_a_fresh_piece, scramble_global_rngs, write_pictures
from ganstudio.core import engine
from ganstudio.core.training import meter
from ganstudio.core import events as ev
from ganstudio.core.checkpoint import load_checkpoint
from ganstudio.core.config import RunConfig
from ganstudio.core.control import Control
from ganstudio.core.recipes import cyclegan
from ganstudio.core.registry import get_recipe
from ganstudio.core.runs import RunFolder
from ganstudio.core.sinks import ListSink
from test_resume import differences, final_state

TOTAL_STEPS = 12  # 8 pictures in A, 6 in B, batch 1: an epoch is 8 steps, so 12 ends mid-epoch, in the decay
POOL = 4  # a pool of 50 would not fill in 12 steps, and an unfilled pool never hands back an old fake


@pytest.fixture(autouse=True)
def small_pools(monkeypatch):
    monkeypatch.setattr(cyclegan, "POOL_SIZE", POOL)


def two_domains(root: Path) -> tuple[Path, Path]:
    domain_a, domain_b = root / "A", root / "B"
    write_pictures(domain_a, 8, size=40, seed=1)
    write_pictures(domain_b, 6, size=40, seed=2, suffix=".jpg")
    return domain_a, domain_b


def cyclegan_config(domain_a: Path, domain_b: Path, run_dir: Path, **train) -> RunConfig:
    """A CycleGAN small enough to take a step in a few hundredths of a second on a CPU."""
    config = RunConfig()
    config.model.name = "cyclegan"
    config.model.options = {"preset": "light"}
    config.model.g_width = config.model.d_width = 4
    config.data.paths, config.data.paths_b = [str(domain_a)], [str(domain_b)]
    config.data.size = 32
    config.train.batch_size = 1
    config.train.device = "cpu"
    config.train.seed = 5
    config.run.dir = str(run_dir)
    config.run.log_every_steps = 1
    for key, value in train.items():
        setattr(config.train, key, value)
    return config.validate()


@pytest.fixture(scope="module")
def domains(tmp_path_factory) -> tuple[Path, Path]:
    return two_domains(tmp_path_factory.mktemp("domains"))


@pytest.fixture(scope="module")
def straight_run(domains, tmp_path_factory) -> dict:
    import ganstudio.core.recipes.cyclegan as module
    saved, module.POOL_SIZE = module.POOL_SIZE, POOL  # module scope: the autouse fixture is per test
    try:
        root = tmp_path_factory.mktemp("straight")
        scramble_global_rngs()
        engine.run(cyclegan_config(*domains, root / "run", steps=TOTAL_STEPS))
    finally:
        module.POOL_SIZE = saved
    return final_state(root / "run")


def test_registered_with_the_reference_names():
    recipe = get_recipe("cyclegan")
    assert recipe.loss_names == ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B")
    assert recipe.visual_names == ("real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B")
    assert recipe.domains == ("A", "B") and recipe.default_size == 128


def test_presets_and_load_size():
    config = RunConfig()
    config.model.name, config.model.options, config.data.size = "cyclegan", {"preset": "auto"}, 128
    recipe = get_recipe("cyclegan")
    recipe.resolve_config(config, torch.device("cpu"))
    assert config.model.options == {"preset": "light"} and config.model.g_width == 32
    assert config.train.batch_size == 1
    assert recipe.load_size(config) == 143 and recipe.generator_spec(config).blocks == 6
    config = RunConfig()
    config.model.name, config.model.options, config.data.size = "cyclegan", {"preset": "default"}, 256
    recipe.resolve_config(config, torch.device("cpu"))
    assert (config.model.g_width, config.model.d_width) == (64, 64)
    assert recipe.load_size(config) == 286 and recipe.generator_spec(config).blocks == 9
    config.model.options = {"preset": "huge"}
    with pytest.raises(Exception, match="preset is one of auto, default, light"):
        recipe.resolve_config(config, torch.device("cpu"))


def test_learning_rate_is_constant_then_falls_linearly():
    factor = cyclegan.learning_rate_factor
    assert [factor(step, 200) for step in (0, 50, 100)] == [1.0, 1.0, 1.0]
    assert factor(150, 200) == pytest.approx(0.5) and factor(199, 200) == pytest.approx(0.01)
    assert factor(30.0, None) == 1.0 and factor(450.0, 600.0) == pytest.approx(0.5)


def test_pool_returns_older_fakes_once_full():
    pool = cyclegan.FakeImagePool(3, seed=0)
    images = [torch.full((1, 1, 2, 2), float(index)) for index in range(40)]
    returned = [float(pool.query(image)[0, 0, 0, 0]) for image in images]
    assert returned[:3] == [0.0, 1.0, 2.0]  # filling: the new fake itself
    older = [index for index, value in enumerate(returned) if value != index]
    assert 8 < len(older) < 32  # about half of the later queries hand back a stored, older fake
    assert all(returned[index] < index for index in older)
    restored = cyclegan.FakeImagePool(3, seed=99)
    restored.load_state_dict(pool.state_dict(), torch.device("cpu"))
    assert all(torch.equal(pool.query(image), restored.query(image)) for image in images)


def test_step_matches_the_reference_losses():
    """One step of ours against the reference's arithmetic written out plainly, from the same weights."""
    config = RunConfig()
    config.model.name, config.model.options, config.data.size = "cyclegan", {"preset": "light"}, 32
    config.model.g_width = config.model.d_width = 4
    torch.manual_seed(0)
    recipe = get_recipe("cyclegan")(config, torch.device("cpu"), "fp32")
    g_a, g_b, d_a, d_b = (recipe.generator_a, recipe.generator_b, recipe.discriminator_a, recipe.discriminator_b)
    real_a, real_b = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        fake_b, fake_a = g_a(real_a), g_b(real_b)
        mse = torch.nn.functional.mse_loss
        l1 = torch.nn.functional.l1_loss
        expected = [
            None,  # D_A is computed after G's step, on the updated generators' fakes: checked below
            mse(d_a(fake_b), torch.ones_like(d_a(fake_b))),
            l1(g_b(fake_b), real_a) * 10, l1(g_a(real_b), real_b) * 5,
            None,
            mse(d_b(fake_a), torch.ones_like(d_b(fake_a))),
            l1(g_a(fake_a), real_b) * 10, l1(g_b(real_a), real_a) * 5,
        ]
        d_a_before = [p.clone() for p in d_a.parameters()]
    values = recipe.train_step([real_a, real_b], 0)
    for index, value in enumerate(expected):
        if value is not None:
            assert float(values[index]) == pytest.approx(float(value), rel=1e-4), recipe.loss_names[index]
    # D_A's loss is on real B and the (pooled, here first and so current) fake B made before G's step.
    with torch.no_grad():
        copy = cyclegan.PatchDiscriminator(4)
        copy.load_state_dict({name: value for name, value in zip(copy.state_dict(), d_a_before)})
        real_scores, fake_scores = copy(real_b), copy(fake_b)
        loss = 0.5 * (mse(real_scores, torch.ones_like(real_scores)) + mse(fake_scores, torch.zeros_like(fake_scores)))
    assert float(values[0]) == pytest.approx(float(loss), rel=1e-4)


def test_run_writes_the_gallery_and_events(domains, tmp_path):
    sink = ListSink()
    result = engine.run(cyclegan_config(*domains, tmp_path / "run", epochs=1), sink)
    assert result.reason == "completed" and result.step == 8
    started = sink.of(ev.RunStarted)[0]
    assert started.visual_names == ("real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B")
    assert set(sink.of(ev.StepProgress)[-1].losses) == set(started.loss_names)
    grid = np.asarray(Image.open(sink.of(ev.SamplesSaved)[-1].path))
    assert grid.shape == (6 * 34 + 2, 6 * 34 + 2, 3)  # six rows of the 6 fixed pictures (B has 6) of 32 px
    state = load_checkpoint(RunFolder(tmp_path / "run").latest_checkpoint())
    assert state["recipe"]["fixed_a"].shape == (6, 32, 32, 3)
    assert float(state["history"]["values"][-1, -1]) == pytest.approx(2e-4 / 4)  # the 8th of 8 steps: decaying
    assert set(state["recipe"]["generator_a"]) == set(cyclegan.ResnetGenerator(cyclegan.GeneratorSpec(4, 6))
                                                      .state_dict())


def test_demo_trains_on_the_day_night_pair(tmp_path):
    config = RunConfig()
    config.model.name, config.model.options, config.data.demo, config.data.size = "cyclegan", {"preset": "light"}, True, 32
    config.model.g_width = config.model.d_width = 4
    config.train.batch_size, config.train.steps, config.train.device = 1, 2, "cpu"
    config.run.dir = str(tmp_path / "run")
    sink = ListSink()
    engine.run(config, sink)
    names = [event.name for event in sink.of(ev.DatasetReady)]
    assert names == ["demo-day", "demo-night"]
    grid = np.asarray(Image.open(sink.of(ev.SamplesSaved)[-1].path))
    assert grid.shape == (6 * 34 + 2, 8 * 34 + 2, 3)


def test_stop_then_resume_is_bitwise_exact(domains, straight_run, tmp_path, monkeypatch):
    monkeypatch.setattr(meter, "STEP_EVENT_INTERVAL_S", 0.0)
    run_dir = tmp_path / "run"
    control = Control()

    def stop_at_step_7(event: ev.Event) -> None:
        if isinstance(event, ev.StepProgress) and event.step >= 7:
            control.request_stop()

    result = engine.run(cyclegan_config(*domains, run_dir, steps=TOTAL_STEPS), stop_at_step_7, control)
    assert result.reason == "stopped" and result.step == 7
    scramble_global_rngs()
    engine.resume(run_dir)
    assert differences(straight_run, final_state(run_dir)) == []
    lr = straight_run["history"]["values"][:, -1]
    assert lr[0] == pytest.approx(2e-4) and lr[-1] == pytest.approx(2e-4 / 6)  # the decay resumed exactly


def test_a_shorter_target_then_more_steps_differs(domains, straight_run, tmp_path):
    """The schedule follows the run's target: 7 steps planned (decaying from 3.5) then extended is another run."""
    run_dir = tmp_path / "run"
    engine.run(cyclegan_config(*domains, run_dir, steps=7))
    engine.resume(run_dir, steps=TOTAL_STEPS)
    assert differences(straight_run, final_state(run_dir)) != []


# Negative control: each piece of state, when not restored (replaced by an unrelated run's), must break
# exactness. Training draws nothing from the global RNGs (data order, crops, flips and pools each have
# their own saved generator), so those are not pieces here; the learning rate follows the step counter.
PIECES = [
    ("recipe", "generator_a"), ("recipe", "generator_b"), ("recipe", "discriminator_a"),
    ("recipe", "discriminator_b"), ("recipe", "optimizer_g"), ("recipe", "optimizer_d"),
    ("recipe", "pool_fake_a"), ("recipe", "pool_fake_b"), ("data",), ("history",), ("counters",),
]


@pytest.fixture(scope="module")
def interrupted_and_fresh(domains, tmp_path_factory):
    import ganstudio.core.recipes.cyclegan as module
    saved, module.POOL_SIZE = module.POOL_SIZE, POOL
    try:
        root = tmp_path_factory.mktemp("control")
        control = Control()

        def stop_at_step_7(event: ev.Event) -> None:
            if isinstance(event, ev.StepProgress) and event.step >= 7:
                control.request_stop()

        saved_interval, meter.STEP_EVENT_INTERVAL_S = meter.STEP_EVENT_INTERVAL_S, 0.0
        try:
            engine.run(cyclegan_config(*domains, root / "interrupted", steps=TOTAL_STEPS), stop_at_step_7, control)
        finally:
            meter.STEP_EVENT_INTERVAL_S = saved_interval
        engine.run(cyclegan_config(domains[0], domains[1], root / "fresh", steps=2, seed=11))
    finally:
        module.POOL_SIZE = saved
    return root / "interrupted", load_checkpoint(RunFolder(root / "fresh").latest_checkpoint())


@pytest.mark.parametrize("piece", PIECES, ids=["/".join(p) for p in PIECES])
def test_leaving_out_any_piece_breaks_exactness(straight_run, interrupted_and_fresh, tmp_path, piece):
    interrupted, fresh = interrupted_and_fresh
    run_dir = resume_with_a_fresh_piece(interrupted, fresh, piece, tmp_path / "run", TOTAL_STEPS)
    assert differences(straight_run, final_state(run_dir)) != [], f"leaving out {'/'.join(piece)} went unnoticed"


def test_a_time_target_keeps_the_full_learning_rate(domains, tmp_path):
    """A run cut by the clock is short and still learning: the rate stays at 2e-4 rather than decaying."""
    engine.run(cyclegan_config(*domains, tmp_path / "run", minutes=0.05))
    state = load_checkpoint(RunFolder(tmp_path / "run").latest_checkpoint())
    lr = state["history"]["values"][:, -1]
    assert state["counters"]["step"] > 1 and torch.allclose(lr.double(), torch.full_like(lr.double(), 2e-4))
    config = cyclegan_config(*domains, tmp_path / "other", steps=8)
    assert cyclegan.decay_target(config, 8) == 8  # a step target decays as the reference does, tested above
