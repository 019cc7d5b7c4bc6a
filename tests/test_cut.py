"""CUT and FastCUT: the declarations, PatchNCE's arithmetic, the gallery, exact resume, and converting with a CUT run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import resave_checkpoint, resume_with_a_fresh_piece, scramble_global_rngs
from ganstudio.core import engine
from ganstudio.core import events as ev
from ganstudio.core.checkpoint import load_checkpoint
from ganstudio.core.config import RunConfig
from ganstudio.core.control import Control
from ganstudio.core.errors import ConfigError
from ganstudio.core.generator_files import open_generator
from ganstudio.core.models import contrastive
from ganstudio.core.models.translation import GeneratorSpec, ResnetGenerator
from ganstudio.core.recipes.base import BatchSplit
from ganstudio.core.registry import TRANSLATE, get_recipe, recipes_of_kind
from ganstudio.core.runs import RunFolder
from ganstudio.core.sinks import ListSink
from ganstudio.core.translate import open_translator
from ganstudio.core.training import meter
from test_cyclegan_cli import command, parsed_config
from test_cyclegan_training import two_domains
from test_resume import differences, final_state

TOTAL_STEPS = 12  # 8 pictures in A, batch 1: 12 steps end mid-epoch, in the decay
STOP_AT = 7


def cut_config(domain_a: Path, domain_b: Path, run_dir: Path, preset: str = "cut", resampling: str = "strided",
               **train) -> RunConfig:
    """A CUT small enough to take a step in a few hundredths of a second on a CPU."""
    config = RunConfig()
    config.model.name, config.model.options = "cut", {"preset": preset, "resampling": resampling}
    config.model.g_width = config.model.d_width = 4
    config.data.paths, config.data.paths_b = [str(domain_a)], [str(domain_b)]
    config.data.size = 32
    config.train.batch_size, config.train.device, config.train.seed = 1, "cpu", 5
    config.run.dir = str(run_dir)
    config.run.log_every_steps = 1
    for key, value in train.items():
        setattr(config.train, key, value)
    return config.validate()


def run_stopped_at(config: RunConfig, step: int) -> engine.RunResult:
    control = Control()

    def stop(event: ev.Event) -> None:
        if isinstance(event, ev.StepProgress) and event.step >= step:
            control.request_stop()

    saved, meter.STEP_EVENT_INTERVAL_S = meter.STEP_EVENT_INTERVAL_S, 0.0  # an event every step: the stop lands
    try:
        return engine.run(config, stop, control)
    finally:
        meter.STEP_EVENT_INTERVAL_S = saved


@pytest.fixture(scope="module")
def domains(tmp_path_factory) -> tuple[Path, Path]:
    return two_domains(tmp_path_factory.mktemp("domains"))


@pytest.fixture(scope="module")
def straight_run(domains, tmp_path_factory) -> tuple[Path, dict]:
    run_dir = tmp_path_factory.mktemp("straight") / "run"
    scramble_global_rngs()
    engine.run(cut_config(*domains, run_dir, steps=TOTAL_STEPS))
    return run_dir, final_state(run_dir)


def test_declares_one_direction_and_the_losses_of_its_preset():
    recipe = get_recipe("cut")
    assert recipe.kind == TRANSLATE and recipe.directions == {"AtoB": "generator"}
    assert recipe.visual_names == ("real_A", "fake_B", "real_B", "idt_B")
    config = RunConfig()
    config.model.name, config.model.options = "cut", {"preset": "cut"}
    assert recipe.reported_names(config) == (("D_real", "D_fake", "G_GAN", "NCE", "NCE_Y", "idt_B"), ("lr",))
    config.model.options = {"preset": "fastcut"}
    assert recipe.reported_names(config) == (("D_real", "D_fake", "G_GAN", "NCE", "idt_B"), ("lr",))
    config.model.options = {"preset": "fastcut", "identity_l1": 0.0}
    assert recipe.reported_names(config) == (("D_real", "D_fake", "G_GAN", "NCE"), ("lr",))
    assert [model.name for model in recipes_of_kind(TRANSLATE)][:2] == ["cyclegan", "cut"]


def test_the_cli_flag_comes_from_the_declaration(tmp_path, capsys):
    config = parsed_config("--model", "cut", "--demo", "--preset", "fastcut")
    defaults = {"preset": "fastcut", "resampling": "strided", "identity_l1": 5.0, "nce_weight": 0.0}
    assert config.model.options == defaults
    assert config.data.size == 128
    default = parsed_config("--model", "cut", "--demo")
    assert default.model.options == defaults
    chosen = parsed_config("--model", "cut", "--demo", "--resampling", "antialiased", "--identity-l1", "0",
                           "--nce-weight", "2.5")
    assert chosen.model.options == {**defaults, "resampling": "antialiased", "identity_l1": 0.0, "nce_weight": 2.5}
    get_recipe("cut").resolve_config(default, torch.device("cpu"))
    assert (default.train.batch_size, default.model.g_width, default.model.d_width) == (1, 32, 32)
    assert default.model.options["nce_weight"] == 4.0  # what config.json keeps: the automatic weight, resolved
    code, _, err = command(capsys, "train", "--model", "cut", "--demo", "--preset", "light")
    assert code == 2 and "usage:" in err  # CycleGAN's preset is not CUT's
    code, out, _ = command(capsys, "train", "--help")
    assert code == 0 and "fastcut" in out


def test_patch_nce_is_softmax_cross_entropy_over_the_pictures_own_patches():
    """Against the loss written out plainly: -log of the positive's share among all of the same picture's keys."""
    generator = torch.Generator().manual_seed(0)
    queries = torch.nn.functional.normalize(torch.randn(2 * 5, 8, generator=generator), dim=1)
    keys = torch.nn.functional.normalize(torch.randn(2 * 5, 8, generator=generator), dim=1)
    expected = []
    for picture in range(2):
        q, k = queries[picture * 5:(picture + 1) * 5], keys[picture * 5:(picture + 1) * 5]
        logits = q @ k.T / contrastive.TEMPERATURE
        expected.append(torch.logsumexp(logits, dim=1) - logits.diagonal())  # other pictures' patches are not negatives
    assert float(contrastive.patch_nce(queries, keys, pictures=2)) == pytest.approx(float(torch.cat(expected).mean()),
                                                                                    rel=1e-5)
    # A translation whose patches keep their own features scores lower than one whose patches are shuffled.
    assert contrastive.patch_nce(keys, keys, 2) < contrastive.patch_nce(keys.roll(1, dims=0), keys, 2)


@pytest.mark.parametrize("sampling, expected", [
    # Padded pixels, the two downsampling convolutions, the first and the fifth residual blocks.
    ("strided", [(3, 38, 38), (8, 16, 16), (16, 8, 8), (16, 8, 8), (16, 8, 8)]),
    # The anti-aliased layout convolves before it halves: its first downsampling convolution sees the whole grid.
    ("antialiased", [(3, 38, 38), (8, 32, 32), (16, 16, 16), (16, 8, 8), (16, 8, 8)]),
])
def test_the_nce_layers_are_the_papers(sampling, expected):
    generator = ResnetGenerator(GeneratorSpec(filters=4, blocks=6, sampling=sampling))
    features = contrastive.encode(generator, torch.zeros(1, 3, 32, 32))
    assert [tuple(feature.shape[1:]) for feature in features] == expected
    assert contrastive.layer_channels(generator) == [3, 8, 16, 16, 16]
    output, same = contrastive.translate_with_features(generator, torch.zeros(1, 3, 32, 32))
    assert all(torch.equal(a, b) for a, b in zip(same, features)) and output.shape == (1, 3, 32, 32)
    layers = contrastive.nce_layers(generator.spec)
    assert [type(generator.model[index]).__name__ for index in layers[-2:]] == ["ResidualBlock", "ResidualBlock"]
    assert layers == ((0, 4, 8, 12, 16) if sampling == "antialiased" else (0, 4, 7, 10, 14))


def test_the_discriminator_and_identity_losses_match_the_reference_arithmetic():
    config = cut_config(Path("."), Path("."), Path("."))
    torch.manual_seed(0)
    recipe = get_recipe("cut")(config, torch.device("cpu"), "fp32")
    real_a, real_b = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        fake_b, same_b = recipe.generator(real_a), recipe.generator(real_b)
        real_scores, fake_scores = recipe.discriminator(real_b), recipe.discriminator(fake_b)
    values = recipe.train_step([real_a, real_b], 0)
    assert float(values[0]) == pytest.approx(float((real_scores - 1).square().mean()), rel=1e-4)
    assert float(values[1]) == pytest.approx(float(fake_scores.square().mean()), rel=1e-4)
    # CycleGAN's identity loss: the mean absolute difference of B and its pass through G, weighed 5.
    assert float(values[5]) == pytest.approx(5 * float((same_b - real_b).abs().mean()), rel=1e-4)
    assert len(values) == 7 and float(values[-1]) == pytest.approx(2e-4)


@pytest.mark.parametrize("preset, identity, chosen, expected", [
    ("fastcut", 5.0, 0.0, 4.0), ("fastcut", 0.0, 0.0, 10.0), ("cut", 5.0, 0.0, 1.0), ("cut", 0.0, 0.0, 1.0),
    ("fastcut", 5.0, 2.5, 2.5), ("cut", 0.0, 7.0, 7.0)])
def test_the_nce_weight_is_the_chosen_one_or_the_variants(preset, identity, chosen, expected):
    """Automatic (0): the paper's (FastCUT 10, CUT 1), but FastCUT 4 beside the identity L1."""
    config = cut_config(Path("."), Path("."), Path("."), preset=preset)
    config.model.options.update(identity_l1=identity, nce_weight=chosen)
    torch.manual_seed(0)
    recipe = get_recipe("cut")(config, torch.device("cpu"), "fp32")
    real_a, real_b = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    # The NCE reported is the weighed one: against the same step at weight 1, it is `expected` times as much.
    config.model.options["nce_weight"] = 1.0
    torch.manual_seed(0)
    unweighed = get_recipe("cut")(config, torch.device("cpu"), "fp32")
    assert float(recipe.train_step([real_a, real_b], 0)[3]) == pytest.approx(
        expected * float(unweighed.train_step([real_a, real_b], 0)[3]), rel=1e-5)


@pytest.mark.parametrize("identity, pictures_per_pass", [(5.0, 2), (0.0, 1)])
def test_fastcut_passes_b_through_the_generator_only_for_the_identity_loss(identity, pictures_per_pass):
    config = cut_config(Path("."), Path("."), Path("."), preset="fastcut")
    config.model.options["identity_l1"] = identity
    recipe = get_recipe("cut")(config, torch.device("cpu"), "fp32")
    batches = []
    recipe.generator.model[0].register_forward_hook(lambda module, inputs, output: batches.append(len(inputs[0])))
    values = recipe.train_step([torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1], 0)
    # The translation's pass (A, with B alongside for the identity loss), then PatchNCE's encoding of fake B.
    assert batches[0] == pictures_per_pass and batches[1:] == [1]
    assert len(values) == (6 if identity else 5)


@pytest.mark.parametrize("preset", ["cut", "fastcut"])
def test_run_writes_the_gallery_events_and_a_reference_generator(domains, tmp_path, preset, monkeypatch):
    monkeypatch.setattr(meter, "STEP_EVENT_INTERVAL_S", 0.0)  # an event every step, however fast the machine
    sink = ListSink()
    result = engine.run(cut_config(*domains, tmp_path / "run", preset, steps=3), sink)
    assert result.reason == "completed" and result.step == 3
    started = sink.of(ev.RunStarted)[0]
    assert started.visual_names == ("real_A", "fake_B", "real_B", "idt_B")
    assert set(sink.of(ev.StepProgress)[-1].losses) == set(started.loss_names)
    assert ("NCE_Y" in started.loss_names) == (preset == "cut") and "idt_B" in started.loss_names
    grid = np.asarray(Image.open(sink.of(ev.SamplesSaved)[-1].path))
    assert grid.shape == (4 * 34 + 2, 6 * 34 + 2, 3)  # four rows of the 6 fixed pictures (B has 6) of 32 px
    state = load_checkpoint(RunFolder(tmp_path / "run").latest_checkpoint())
    assert set(state["recipe"]["generator"]) == set(ResnetGenerator(GeneratorSpec(4, 6)).state_dict())
    assert all(torch.isfinite(value).all() for value in state["recipe"]["generator"].values())


def test_an_antialiased_run_resumes_exactly_and_its_export_converts_as_the_run_does(domains, tmp_path, capsys):
    straight = engine.run(cut_config(*domains, tmp_path / "straight", steps=4, resampling="antialiased"))
    assert any(key.endswith(".filt") for key in load_checkpoint(straight.checkpoint)["recipe"]["generator"])
    run_dir = tmp_path / "run"
    assert run_stopped_at(cut_config(*domains, run_dir, steps=4, resampling="antialiased"), 2).step == 2
    scramble_global_rngs()
    engine.resume(run_dir)
    assert differences(final_state(straight.run_dir), final_state(run_dir)) == []
    exported = tmp_path / "g.pth"
    code, out, err = command(capsys, "export-generator", str(run_dir), "--out", str(exported))
    assert code == 0 and "Exported the AtoB generator" in out, err
    assert open_generator(exported).spec == GeneratorSpec(filters=4, blocks=6, sampling="antialiased")
    picture = np.asarray(Image.open(next(domains[0].iterdir())).convert("RGB"))
    with_run = open_translator(run=run_dir, scale="full").translate_picture(picture)
    assert np.array_equal(open_translator(weights=exported).translate_picture(picture), with_run)


def forget_option(result: engine.RunResult, name: str) -> RunFolder:
    """Make a finished run look saved before the model had option `name`: gone from config.json and the checkpoint."""
    folder = RunFolder(result.run_dir)
    stored = json.loads(folder.config_path.read_text())
    del stored["model"]["options"][name]
    folder.config_path.write_text(json.dumps(stored), encoding="utf-8")
    state = torch.load(result.checkpoint, weights_only=True)
    del state["config"]["model"]["options"][name]
    resave_checkpoint(result.checkpoint, state)
    return folder


def test_a_run_saved_before_the_resampling_option_continues_strided(domains, tmp_path):
    """CUT runs saved before the option trained the strided layout; their config says nothing of it."""
    result = engine.run(cut_config(*domains, tmp_path / "run", steps=2))
    folder = forget_option(result, "resampling")
    resumed = engine.resume(folder.path, steps=3)
    assert resumed.step == 3 and folder.load_config().model.options["resampling"] == "strided"
    assert not any(key.endswith(".filt") for key in load_checkpoint(resumed.checkpoint)["recipe"]["generator"])


def test_a_run_saved_before_the_identity_option_continues_without_it(domains, tmp_path, monkeypatch):
    """CUT runs saved before the option had no identity L1; their config says nothing of it, today's default is 5."""
    config = cut_config(*domains, tmp_path / "run", preset="fastcut", steps=2)
    config.model.options["identity_l1"] = 0.0  # as those runs trained
    result = engine.run(config)
    folder = forget_option(result, "identity_l1")
    monkeypatch.setattr(meter, "STEP_EVENT_INTERVAL_S", 0.0)
    sink = ListSink()
    resumed = engine.resume(folder.path, sink, steps=3)
    assert resumed.step == 3 and folder.load_config().model.options["identity_l1"] == 0.0
    assert "idt_B" not in sink.of(ev.RunStarted)[0].loss_names
    assert set(sink.of(ev.StepProgress)[-1].losses) == {"D_real", "D_fake", "G_GAN", "NCE"}


@pytest.mark.parametrize("preset, trained_with", [("fastcut", 10.0), ("cut", 1.0)])
def test_a_run_saved_before_the_nce_weight_option_continues_with_the_papers(domains, tmp_path, preset, trained_with):
    """Those runs weighed NCE as the paper, whatever their identity L1; today's automatic FastCUT weight is 4."""
    config = cut_config(*domains, tmp_path / "run", preset=preset, steps=2)
    config.model.options["nce_weight"] = trained_with
    folder = forget_option(engine.run(config), "nce_weight")
    resumed = engine.resume(folder.path, steps=3)
    assert resumed.step == 3 and folder.load_config().model.options["nce_weight"] == trained_with


def test_stop_then_resume_is_bitwise_exact(domains, straight_run, tmp_path):
    _, expected = straight_run
    run_dir = tmp_path / "run"
    result = run_stopped_at(cut_config(*domains, run_dir, steps=TOTAL_STEPS), STOP_AT)
    assert result.reason == "stopped" and result.step == STOP_AT
    scramble_global_rngs()
    engine.resume(run_dir)
    assert differences(expected, final_state(run_dir)) == []


# Negative control: each piece of state, when replaced by an unrelated run's, must break exactness.
PIECES = [("recipe", "generator"), ("recipe", "discriminator"), ("recipe", "sampler"), ("recipe", "optimizer_g"),
          ("recipe", "optimizer_f"), ("recipe", "optimizer_d"), ("recipe", "patch_rng"), ("data",), ("history",),
          ("counters",)]


@pytest.fixture(scope="module")
def interrupted_and_fresh(domains, tmp_path_factory):
    root = tmp_path_factory.mktemp("control")
    run_stopped_at(cut_config(*domains, root / "interrupted", steps=TOTAL_STEPS), STOP_AT)
    engine.run(cut_config(*domains, root / "fresh", steps=2, seed=11))
    return root / "interrupted", load_checkpoint(RunFolder(root / "fresh").latest_checkpoint())


@pytest.mark.parametrize("piece", PIECES, ids=["/".join(p) for p in PIECES])
def test_leaving_out_any_piece_breaks_exactness(straight_run, interrupted_and_fresh, tmp_path, piece):
    _, expected = straight_run
    interrupted, fresh = interrupted_and_fresh
    run_dir = resume_with_a_fresh_piece(interrupted, fresh, piece, tmp_path / "run", TOTAL_STEPS)
    assert differences(expected, final_state(run_dir)) != [], f"leaving out {'/'.join(piece)} went unnoticed"


def test_translate_with_the_run_and_with_its_exported_generator(domains, straight_run, tmp_path, capsys):
    run_dir, _ = straight_run
    domain_a = domains[0]
    # A .pth export (the reference's layout) does not know the training scale, so it matches the run at full
    # resolution; a .safetensors export knows it, so it matches the run's default, the trained scale.
    for scale, export in (("full", "g.pth"), ("trained", "g.safetensors")):
        code, out, err = command(capsys, "translate", "--run", str(run_dir), "--input", str(domain_a),
                                 "--output", str(tmp_path / f"from_run_{scale}"), "--scale", scale)
        assert code == 0 and "Converted 8 pictures A to B" in out, err
        code, out, err = command(capsys, "export-generator", str(run_dir), "--out", str(tmp_path / export))
        assert code == 0 and "Exported the AtoB generator" in out, err
        assert open_generator(tmp_path / export).spec == GeneratorSpec(filters=4, blocks=6)
        code, _, err = command(capsys, "translate", "--weights", str(tmp_path / export), "--input", str(domain_a),
                               "--output", str(tmp_path / f"from_file_{scale}"))
        assert code == 0, err
        for path in (tmp_path / f"from_run_{scale}").iterdir():
            ours = np.asarray(Image.open(path))
            assert ours.shape == (40, 40, 3)
            assert np.array_equal(ours, np.asarray(Image.open(tmp_path / f"from_file_{scale}" / path.name)))
    code, _, err = command(capsys, "translate", "--run", str(run_dir), "--direction", "BtoA", "--input",
                           str(domain_a), "--output", str(tmp_path / "back"))
    assert code == 1 and "converts AtoB only" in err


def test_the_image_to_image_page_offers_it_with_its_sentence(qtbot, make_window):
    window = make_window()
    picker = window.pages["image-to-image"].models
    picker.ensure_listed()
    choice = picker.choice
    offered = [choice.itemData(index) for index in range(choice.count())]
    assert offered[:2] == [model.name for model in recipes_of_kind(TRANSLATE)][:2]
    index = offered.index("cut")
    assert choice.itemText(index) == get_recipe("cut").label
    assert choice.itemData(index, 3) == get_recipe("cut").summary  # Qt's ToolTipRole
    choice.setCurrentIndex(index)
    page = window.pages["image-to-image"]
    weight = page.model_options.widget("nce_weight")
    assert weight.value() == 0.0 and weight.text() == "Automatic"  # the variant's weight, in words
    weight.setValue(2.5)
    assert weight.text() == "2.50" and page.build_config().model.options["nce_weight"] == 2.5


def gradients_after_a_step(preset: str, split: BatchSplit, pictures: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each optimiser's gradients, flattened, after one step at batch 4 from the same start, taken as `split` says."""
    config = cut_config(Path("."), Path("."), Path("."), preset=preset, batch_size=4)
    config.model.g_width = config.model.d_width = 8
    torch.manual_seed(0)
    recipe = get_recipe("cut")(config, torch.device("cpu"), "fp32")
    recipe.split = split
    recipe.train_step(pictures, 0)
    return {name: torch.cat([parameter.grad.flatten() for group in optimizer.param_groups
                             for parameter in group["params"] if parameter.grad is not None])
            for name, optimizer in recipe.optimizers().items()}


def relative_difference(one: torch.Tensor, other: torch.Tensor) -> float:
    return float((one - other).abs().max() / one.abs().max())


@pytest.mark.parametrize("preset", ["fastcut", "cut"])
def test_a_step_in_micro_batches_is_the_whole_batchs_step(preset):
    """The patch positions are the step's, not a piece's, so the pieces add up to the whole batch (two processes
    under torchrun: tests/test_distributed.py)."""
    torch.manual_seed(1)
    pictures = [torch.rand(4, 3, 32, 32) * 2 - 1, torch.rand(4, 3, 32, 32) * 2 - 1]
    whole = gradients_after_a_step(preset, BatchSplit(), pictures)
    for pieces in (2, 4):
        in_pieces = gradients_after_a_step(preset, BatchSplit(micro_batches=pieces), pictures)
        for name in whole:
            # Float noise in channels a tiny network leaves nearly constant, scaled up by instance norm.
            assert relative_difference(whole[name], in_pieces[name]) < 1e-3, (pieces, name)


def test_instance_norm_gives_one_picture_the_right_gradient_whatever_its_layout():
    """torch's CPU kernel got a single picture's input gradient wrong when the gradient arriving was channels-last
    strided (off by about its own size); ours hands it a contiguous one. Checked against float64 by hand."""
    torch.manual_seed(0)
    norm = ResnetGenerator(GeneratorSpec(filters=8, blocks=1)).model[2]
    for layout in (torch.contiguous_format, torch.channels_last):
        pictures = torch.randn(1, 8, 16, 16).requires_grad_()
        arriving = torch.randn(1, 8, 16, 16).contiguous(memory_format=layout)
        gradient, = torch.autograd.grad(norm(pictures), pictures, arriving)
        exact = pictures.detach().double().requires_grad_()
        mean, variance = exact.mean(dim=(2, 3), keepdim=True), exact.var(dim=(2, 3), keepdim=True, unbiased=False)
        expected, = torch.autograd.grad((exact - mean) / torch.sqrt(variance + norm.eps), exact, arriving.double())
        assert torch.allclose(gradient.double(), expected, atol=1e-5), layout


@pytest.mark.parametrize("preset", ["fastcut", "cut"])
def test_patch_nce_trains_one_picture_as_it_trains_that_picture_twice(preset):
    """At batch 1, CUT's default, PatchNCE's gradient reaches the generator's normalisations through a transpose
    (channels-last strided); it must be the gradient of the same picture twice in a batch (where the kernel was right)."""
    config = cut_config(Path("."), Path("."), Path("."), preset=preset)
    config.model.g_width = config.model.d_width = 8
    torch.manual_seed(0)
    recipe = get_recipe("cut")(config, torch.device("cpu"), "fp32")
    picture = torch.rand(1, 3, 32, 32) * 2 - 1

    def generator_gradient(pictures: torch.Tensor) -> torch.Tensor:
        recipe.generator.zero_grad(set_to_none=True)
        translated, features = contrastive.translate_with_features(recipe.generator, pictures)
        positions = recipe.sampler.positions(features, contrastive.PATCHES, torch.Generator().manual_seed(1))
        contrastive.nce_loss(recipe.generator, recipe.sampler, features, translated, positions).backward()
        return torch.cat([parameter.grad.flatten() for parameter in recipe.generator.parameters()])

    once, twice = generator_gradient(picture), generator_gradient(torch.cat([picture, picture]))
    assert (once - twice).abs().max() / twice.abs().max() < 1e-4
