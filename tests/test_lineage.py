"""Checkpoint lineage: continuing from an older checkpoint makes a new line of training whose checkpoints are
the newest, and retention keeps that line's newest ones (never the one just written)."""

from __future__ import annotations

from conftest import tiny_config
from ganstudio.core import engine
from ganstudio.core.generate import load_generator
from ganstudio.core.runs import RunFolder


def train_with_a_checkpoint_each_epoch(data, run_dir, keep: int):
    config = tiny_config(data, run_dir, steps=15)  # 40 pictures, batch 8: five steps an epoch
    config.run.checkpoint_every_minutes = 1e-9
    config.run.keep_checkpoints = keep
    engine.run(config)
    return RunFolder(run_dir)


def test_continuing_from_an_older_checkpoint_makes_the_new_one_the_latest(tiny_dataset, tmp_path):
    folder = train_with_a_checkpoint_each_epoch(tiny_dataset, tmp_path / "run", keep=3)
    assert [step for step, _ in folder.checkpoints()] == [5, 10, 15]
    older = folder.checkpoint_path(5)
    assert folder.latest_checkpoint() == folder.checkpoint_path(15)

    result = engine.resume(folder.path, steps=8, checkpoint=older)
    assert result.step == 8 and result.checkpoint == folder.checkpoint_path(8)
    assert folder.latest_checkpoint() == folder.checkpoint_path(8), "the branch just trained is the newest"
    assert [step for step, _ in folder.checkpoints()] == [5, 8]
    assert not folder.checkpoint_path(15).exists(), "the abandoned branch is not kept beside the new line"
    assert load_generator(folder.path).step == 8
    assert engine.resume(folder.path, steps=12).step == 12, "a plain resume continues the new line"


def test_keeping_one_checkpoint_never_deletes_the_one_just_written(tiny_dataset, tmp_path):
    folder = train_with_a_checkpoint_each_epoch(tiny_dataset, tmp_path / "run", keep=3)
    config = folder.load_config()
    config.run.keep_checkpoints = 1  # as a user might edit config.json before continuing
    folder.config_path.write_text(config.to_json(), encoding="utf-8")
    result = engine.resume(folder.path, steps=8, checkpoint=folder.checkpoint_path(5))
    assert result.checkpoint.exists()
    assert [path.name for _, path in folder.checkpoint_files()] == ["step_000000008.pt"]


def test_stopping_before_the_first_new_checkpoint_still_continues_the_chosen_line(tiny_dataset, tmp_path):
    folder = train_with_a_checkpoint_each_epoch(tiny_dataset, tmp_path / "run", keep=3)
    older = folder.checkpoint_path(10)
    # A resume that ends at once (its target is its checkpoint's own step plus one) writes one checkpoint.
    engine.resume(folder.path, steps=11, checkpoint=older)
    assert folder.latest_checkpoint() == folder.checkpoint_path(11)
    assert [step for step, _ in folder.checkpoints()] == [5, 10, 11]


def test_a_run_from_before_lineages_goes_by_step(tiny_dataset, tmp_path):
    folder = train_with_a_checkpoint_each_epoch(tiny_dataset, tmp_path / "run", keep=3)
    folder.lineage_path.unlink()
    assert folder.latest_checkpoint() == folder.checkpoint_path(15)
    assert [step for step, _ in folder.checkpoints()] == [5, 10, 15]
    assert engine.resume(folder.path, steps=20).step == 20
    assert [step for step, _ in folder.checkpoints()] == [10, 15, 20]
