"""Runs written before models declared their own options (config version 1) still open, train on and generate."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import resave_checkpoint, tiny_config
from ganstudio.core import engine
from ganstudio.core.checkpoint import load_checkpoint
from ganstudio.core.config import RunConfig
from ganstudio.core.errors import ConfigError
from ganstudio.core.runs import RunFolder


def as_version_1(body: dict, **legacy) -> dict:
    """`body` (a config's dict) as version 1 wrote it: the model's settings in the shared sections."""
    old = json.loads(json.dumps(body))
    old.pop("version", None)
    options = old["model"].pop("options")
    old["train"]["loss"] = legacy.get("loss", options.get("loss", "nonsat"))
    old["train"]["ema"] = legacy.get("ema", options.get("ema", True))
    old["model"]["preset"] = legacy.get("preset", "default")
    return old


def test_a_version_1_dcgan_config_moves_its_settings_into_the_models_options():
    raw = RunConfig().to_dict()
    raw["data"]["demo"] = True
    old = as_version_1(raw, loss="hinge", ema=False) | {"version": 1}
    config = RunConfig.from_dict(old)
    # v1's 'default' preset was no DCGAN size; its widths were already scaled, so the default applies.
    assert config.model.options == {"preset": "standard", "loss": "hinge", "ema": False}


def test_a_version_1_cyclegan_config_keeps_its_preset_and_drops_the_loss_it_ignored():
    old = RunConfig().to_dict()
    old["data"]["demo"] = True
    old["model"]["name"] = "cyclegan"
    old = as_version_1(old, loss="lsgan", preset="light")
    config = RunConfig.from_dict(old)
    assert config.model.options == {"preset": "light"}


def test_an_unknown_option_in_a_new_config_is_a_plain_error():
    raw = RunConfig().to_dict()
    raw["data"]["demo"] = True
    raw["model"]["options"] = {"loss": "hinge", "sharpen": True}
    with pytest.raises(ConfigError, match="dcgan model has no option sharpen"):
        RunConfig.from_dict(raw)


def test_a_version_1_run_resumes_and_keeps_its_loss(tiny_dataset, tmp_path):
    config = tiny_config(tiny_dataset, tmp_path / "run", steps=4)
    config.model.options = {"loss": "hinge"}
    result = engine.run(config.validate())
    folder = RunFolder(result.run_dir)
    # Rewrite the run as version 1 left it: config.json and the checkpoint's own copy of the config.
    folder.config_path.write_text(json.dumps(as_version_1(json.loads(folder.config_path.read_text())) |
                                             {"version": 1}), encoding="utf-8")
    state = torch.load(result.checkpoint, weights_only=True)
    state["config"] = as_version_1(state["config"])
    resave_checkpoint(result.checkpoint, state)
    resumed = engine.resume(folder.path, steps=6)
    assert resumed.step == 6
    assert load_checkpoint(resumed.checkpoint)["config"]["model"]["options"]["loss"] == "hinge"
    assert folder.load_config().model.options["loss"] == "hinge"


def test_a_run_saved_before_adaptive_augmentation_resumes(tiny_dataset, tmp_path):
    """A checkpoint without the balance stats' history columns or the augmentation strength continues, the new
    columns a gap (NaN) for the steps saved before them."""
    result = engine.run(tiny_config(tiny_dataset, tmp_path / "run", steps=4))
    state = torch.load(result.checkpoint, weights_only=True)
    names = state["history"]["names"]
    old_names = [name for name in names if name not in ("sign D(x)", "sign D(G(z))", "augment p")]
    assert len(old_names) < len(names), "the model reports the new stats"
    state["history"] = {"names": old_names,
                        "values": state["history"]["values"][:, [names.index(name) for name in old_names]]}
    del state["recipe"]["augment_strength"]
    resave_checkpoint(result.checkpoint, state)
    resumed = engine.resume(result.run_dir, steps=6)
    assert resumed.step == 6
    history = load_checkpoint(resumed.checkpoint)["history"]
    column = history["values"][:, history["names"].index("sign D(x)")]
    assert torch.isnan(column[:4]).all() and torch.isfinite(column[4:]).all()
    assert load_checkpoint(resumed.checkpoint)["recipe"]["augment_strength"] >= 0.0
