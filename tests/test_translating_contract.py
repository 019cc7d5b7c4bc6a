"""Translating models are served by what they declare: a one-way model (tests/toy_one_way.py) converts, exports
and is offered in the Convert tab in its one direction only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ganstudio.core import engine
from ganstudio.core.registry import PLUGINS_VARIABLE
from ganstudio.core.runs import RunFolder
from test_cli import ganstudio
from test_cyclegan_training import cyclegan_config, two_domains

ONE_WAY = Path(__file__).with_name("toy_one_way.py")


@pytest.fixture(autouse=True)
def one_way_registered(monkeypatch):
    monkeypatch.setenv(PLUGINS_VARIABLE, os.pathsep.join([str(ONE_WAY), os.environ.get(PLUGINS_VARIABLE, "")]))


@pytest.fixture
def one_way_run(tmp_path):
    domain_a, domain_b = two_domains(tmp_path)
    config = cyclegan_config(domain_a, domain_b, tmp_path / "run", steps=2)
    config.model.name = "one-way"
    engine.run(config.validate())
    return RunFolder(tmp_path / "run"), domain_a


def test_the_cli_converts_and_exports_only_the_declared_direction(one_way_run, tmp_path):
    folder, domain_a = one_way_run
    env = {PLUGINS_VARIABLE: str(ONE_WAY)}
    ok = ganstudio("translate", "--run", str(folder.path), "--input", str(domain_a), "--output", str(tmp_path / "out"),
                   env_extra=env)
    assert ok.returncode == 0, ok.stderr
    back = ganstudio("translate", "--run", str(folder.path), "--direction", "BtoA", "--input", str(domain_a),
                     "--output", str(tmp_path / "back"), env_extra=env)
    assert back.returncode == 1 and "converts AtoB only, not 'BtoA'" in back.stderr
    exported = ganstudio("export-generator", str(folder.path), "--direction", "BtoA", "--out",
                         str(tmp_path / "g.pth"), env_extra=env)
    assert exported.returncode == 1 and "AtoB only" in exported.stderr and not (tmp_path / "g.pth").exists()


def test_the_convert_tab_offers_one_direction_for_a_one_way_run(qtbot, make_window, one_way_run):
    folder, _ = one_way_run
    window = make_window()
    page = window.pages["image-to-image"]
    page.show_convert(str(folder.path))
    panel = page.converter
    assert panel.chosen_source().path == str(folder.path)
    choice = panel.direction_choice
    assert [choice.itemData(index) for index in range(choice.count())] == ["AtoB"] and not choice.isEnabled()
    qtbot.waitUntil(lambda: panel.translator is not None, timeout=60_000)
