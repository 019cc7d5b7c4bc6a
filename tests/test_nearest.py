"""Is it copying my pictures? The nearest training pictures of a generated one, the `nearest` command, and the
memorisation figure, on a tiny trained run and tiny pictures."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import train_tiny_run, write_pictures
from ganstudio.cli import main
from ganstudio.core.config import DataConfig
from ganstudio.core.data.scan import scan
from ganstudio.core.export import read_png_metadata
from ganstudio.core.memorisation import COPYING, measure_memorisation, memorisation_figure, run_memorisation
from ganstudio.core.nearest import (TrainingDataMissing, check_training_data, comparison_file_names,
                                    nearest_to_pictures, picture_features, safe_stem, training_features, Neighbour)
from ganstudio.core.runs import RunFolder


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A tiny run on 40 pictures (tests/conftest.py), trained once for this module."""
    return train_tiny_run(tmp_path_factory, "nearest", epochs=1)


@pytest.fixture
def run_cache(trained_run, monkeypatch):
    """The run's own cache folder, so the tests of this module share its decoded pictures and their features."""
    monkeypatch.setenv("GANSTUDIO_CACHE_DIR", str(trained_run.parent / "cache"))
    return trained_run.parent / "cache"


def run_data(run) -> DataConfig:
    return RunFolder(run).load_config().data


def test_a_training_picture_is_its_own_nearest_at_distance_zero(trained_run, run_cache):
    training = training_features(run_data(trained_run))
    assert training.count == 40 and training.labels[3].endswith("picture_003.png")
    found = nearest_to_pictures(training, np.asarray(training.pixels)[[3, 17]], 4)
    for picture, neighbours in zip((3, 17), found):
        assert neighbours[0].index == picture and neighbours[0].distance < 1e-4
        distances = [neighbour.distance for neighbour in neighbours]
        assert distances == sorted(distances) and distances[1] > 1e-3
    # Each training picture's nearest other is not itself: the spacing a copy is judged against is above 0.
    assert float(training.nearest_other.min()) > 1e-3 and training.typical_distance > 1e-3


def test_features_are_cached_and_made_again_when_the_pictures_change(tmp_path):
    folder = tmp_path / "pictures"
    write_pictures(folder, 6, size=24)
    data = DataConfig(paths=[str(folder)], size=32)
    first = training_features(data)
    again = training_features(data)
    assert not first.from_cache and again.from_cache
    assert np.allclose(first.features.numpy(), again.features.numpy())
    write_pictures(tmp_path / "more", 1, size=24, seed=5)
    shutil.move(tmp_path / "more" / "picture_000.png", folder / "picture_new.png")
    changed = training_features(data)
    assert not changed.from_cache and changed.count == 7 and changed.labels[-1].endswith("picture_new.png")
    (folder / "picture_new.png").rename(folder / "renamed.png")
    renamed = training_features(data)
    assert not renamed.from_cache and any(label.endswith("renamed.png") for label in renamed.labels)


def test_the_command_writes_the_picture_its_nearest_and_a_strip(trained_run, run_cache, tmp_path, capsys):
    out = tmp_path / "nearest"
    assert main(["nearest", str(trained_run), "--seed", "7", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    names = sorted(path.name for path in out.iterdir())
    assert names[0] == "generated_seed_0000007.png" and names[-1] == "strip_seed_0000007.png"
    nearest = names[1:-1]
    assert [name[:10] for name in nearest] == [f"nearest_{rank}_" for rank in range(1, 6)]
    assert all(name.startswith("nearest_") and "_picture_0" in name for name in nearest)
    listed = [line.split() for line in printed.splitlines() if line.strip()[:2] in {f"{k}." for k in range(1, 6)}]
    assert len(listed) == 5
    distances = [float(fields[1]) for fields in listed]
    assert distances == sorted(distances)
    # Each file is the training picture it names, as the dataset decoded it, with its distance in its metadata.
    for name, fields in zip(nearest, listed):
        assert fields[2].endswith(name.split("_", 2)[2])
        metadata = read_png_metadata(out / name)
        assert metadata["seed"] == "7" and abs(float(metadata["distance"]) - float(fields[1])) < 1e-3
    with Image.open(out / names[0]) as generated, Image.open(out / names[-1]) as strip:
        assert generated.size == (32, 32)
        assert strip.height > 32 and strip.width > 6 * 32
    assert str(out) in printed


def test_the_command_as_json_and_the_overwrite_rule(trained_run, run_cache, tmp_path, capsys):
    out = tmp_path / "nearest"
    assert main(["nearest", str(trained_run), "--seed", "2", "--count", "3", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["seed"] == 2 and report["training_pictures"] == 40 and len(report["nearest"]) == 3
    assert [item["rank"] for item in report["nearest"]] == [1, 2, 3]
    assert all(item["picture"].startswith("pictures/picture_") for item in report["nearest"])
    strip = out / "strip_seed_0000002.png"
    before = strip.read_bytes()
    assert main(["nearest", str(trained_run), "--seed", "2", "--count", "3", "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert "already exists" in error and "--overwrite" in error and "Traceback" not in error
    assert strip.read_bytes() == before
    assert main(["nearest", str(trained_run), "--seed", "2", "--count", "3", "--out", str(out), "--overwrite"]) == 0


def test_the_command_refuses_to_write_among_the_training_pictures(trained_run, run_cache, capsys):
    inside = trained_run.parent / "pictures" / "compared"
    assert main(["nearest", str(trained_run), "--seed", "1", "--out", str(inside)]) == 1
    assert "inside the run's training pictures" in capsys.readouterr().err
    assert not inside.exists()


def test_the_command_writes_into_the_run_by_default_and_pads_ranks_to_sort(trained_run, run_cache, capsys):
    target = RunFolder(trained_run).exports_dir / "nearest_seed_4"
    try:
        assert main(["nearest", str(trained_run), "--seed", "4", "--count", "12"]) == 0
        names = sorted(path.name for path in target.iterdir())
        assert names[1].startswith("nearest_01_") and names[10].startswith("nearest_10_") and len(names) == 14
    finally:
        shutil.rmtree(target, ignore_errors=True)


def test_a_missing_data_folder_is_a_plain_sentence(trained_run, run_cache, tmp_path, capsys):
    pictures = trained_run.parent / "pictures"
    hidden = trained_run.parent / "pictures-moved"
    pictures.rename(hidden)
    try:
        assert main(["nearest", str(trained_run), "--seed", "1", "--out", str(tmp_path / "out")]) == 1
        error = capsys.readouterr().err
    finally:
        hidden.rename(pictures)
    assert "no longer there" in error and str(pictures) in error and "Traceback" not in error
    assert not (tmp_path / "out").exists()
    with pytest.raises(TrainingDataMissing, match="no longer there"):
        check_training_data(DataConfig(paths=[str(tmp_path / "gone")]), "my-run")


def test_file_names_from_any_training_name():
    assert safe_stem("pictures/cat 01.jpg") == "cat_01"
    assert safe_stem("set.zip:a/b/..\x1b[31m.png") == "x1b_31m"
    assert safe_stem("pictures/.png") == "png" and safe_stem("pictures/___") == "picture"
    assert "/" not in safe_stem("a/b\\c:d.png") and safe_stem("a/b\\c:d.png") == "d"
    names = comparison_file_names(3, [Neighbour(0, "x/a.png", 0.1), Neighbour(1, "x/b.png", 0.2)])
    assert names == ["generated_seed_0000003.png", "nearest_1_a.png", "nearest_2_b.png", "strip_seed_0000003.png"]
    assert names == sorted(names)


def test_memorisation_figure_is_near_zero_for_copies_and_about_one_or_more_for_new_pictures(tmp_path, trained_run,
                                                                                           run_cache):
    training = training_features(run_data(trained_run))
    training_pixels = np.asarray(training.pixels)

    def copying_generator(seeds):
        return training_pixels[[seed % training.count for seed in seeds]]

    copies = measure_memorisation(copying_generator, training, count=training.count)
    assert copies.figure < 0.01 and copies.figure < COPYING and copies.verdict.startswith("copying")
    new_pixels, _ = scan([str(write_pictures_folder(tmp_path))], size=32)
    new = memorisation_figure(picture_features(new_pixels), training)
    assert new.figure > 0.8 and new.verdict.startswith("new pictures")
    noise = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    assert memorisation_figure(picture_features(noise), training).figure >= 1.0


def write_pictures_folder(tmp_path):
    """40 new pictures drawn the way the run's were, with other random numbers."""
    write_pictures(tmp_path / "new", 40, seed=1)
    return tmp_path / "new"


def test_memorisation_of_a_run(trained_run, run_cache):
    from ganstudio.core.generate import load_generator
    figure = run_memorisation(load_generator(trained_run, device="cpu"), count=6, first_seed=10)
    assert figure.generated_count == 6 and figure.training_count == 40
    assert 10 <= figure.closest_seed < 16 and figure.closest_picture.startswith("pictures/picture_")
    assert np.isfinite(figure.figure) and figure.figure > 0
    assert json.loads(json.dumps(figure.to_dict()))["verdict"] == figure.verdict
