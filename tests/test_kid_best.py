"""The best checkpoint by quality score: kept as checkpoints/best.pt, recorded in the lineage with its step and
score, never removed by rotation, replaced only by a better score, and remembered when a run continues."""

from __future__ import annotations

import json

import torch

from ganstudio.core.checkpoint import load_checkpoint
from ganstudio.core.runs import RunFolder
from ganstudio.core.training.checkpointer import BEST_NAME, Checkpointer
from test_checkpoint import good_state

SCORE = "KID ×10³"


def state_of(step: int, weight: float) -> dict:
    state = good_state()
    state["counters"]["step"] = step
    state["recipe"]["weights"] = torch.full((3,), weight)
    return state


def make_checkpointer(tmp_path, keep: int = 2, resumed_from=None) -> tuple[RunFolder, Checkpointer]:
    folder = RunFolder(tmp_path / "run")
    folder.create_folders()
    return folder, Checkpointer(folder, keep=keep, resumed_from=resumed_from)


def best_weight(folder: RunFolder) -> float:
    return float(load_checkpoint(folder.checkpoints_dir / BEST_NAME)["recipe"]["weights"][0])


def test_a_better_score_is_kept_as_best_and_survives_rotation(tmp_path):
    folder, checkpointer = make_checkpointer(tmp_path, keep=2)
    checkpointer.save(state_of(10, 1.0), 10)
    assert checkpointer.offer_best(10, SCORE, 50.0, higher_is_better=False) == folder.checkpoints_dir / BEST_NAME
    checkpointer.save(state_of(20, 2.0), 20)
    assert checkpointer.offer_best(20, SCORE, 80.0, higher_is_better=False) is None, "a worse score changes nothing"
    checkpointer.save(state_of(30, 3.0), 30)
    checkpointer.save(state_of(40, 4.0), 40)
    assert [step for step, _ in folder.checkpoints()] == [30, 40], "rotation removed step 10's own file"
    assert best_weight(folder) == 1.0
    record = json.loads(folder.lineage_path.read_text())["best"]
    assert record == {"checkpoint": folder.checkpoint_path(10).name, "step": 10, "score_name": SCORE, "score": 50.0}
    assert checkpointer.offer_best(40, SCORE, 12.5, higher_is_better=False) is not None
    assert best_weight(folder) == 4.0 and json.loads(folder.lineage_path.read_text())["best"]["step"] == 40
    assert folder.latest_checkpoint() == folder.checkpoint_path(40), "best.pt is never taken for the newest"


def test_a_score_for_a_step_without_a_checkpoint_or_not_finite_marks_nothing(tmp_path):
    folder, checkpointer = make_checkpointer(tmp_path)
    checkpointer.save(state_of(10, 1.0), 10)
    assert checkpointer.offer_best(15, SCORE, 1.0, higher_is_better=False) is None
    assert checkpointer.offer_best(10, SCORE, float("nan"), higher_is_better=False) is None
    assert not (folder.checkpoints_dir / BEST_NAME).exists()
    assert "best" not in json.loads(folder.lineage_path.read_text())


def test_higher_is_better_scores_rank_the_other_way(tmp_path):
    folder, checkpointer = make_checkpointer(tmp_path, keep=3)
    checkpointer.save(state_of(10, 1.0), 10)
    checkpointer.save(state_of(20, 2.0), 20)
    checkpointer.offer_best(10, "accuracy", 0.5, higher_is_better=True)
    checkpointer.offer_best(20, "accuracy", 0.4, higher_is_better=True)
    assert best_weight(folder) == 1.0


def test_a_continued_run_remembers_its_best_and_continues_from_best_pt_along_its_line(tmp_path):
    folder, checkpointer = make_checkpointer(tmp_path, keep=3)
    for step in (10, 20, 30):
        checkpointer.save(state_of(step, float(step)), step)
    checkpointer.offer_best(20, SCORE, 30.0, higher_is_better=False)
    again = Checkpointer(folder, keep=3, resumed_from=None)
    assert again.offer_best(30, SCORE, 40.0, higher_is_better=False) is None, "the old best still counts"
    from_best = Checkpointer(folder, keep=3, resumed_from=folder.checkpoints_dir / BEST_NAME)
    assert from_best.lineage == [folder.checkpoint_path(10).name, folder.checkpoint_path(20).name]
    from_best.save(state_of(25, 25.0), 25)
    assert [step for step, _ in folder.checkpoints()] == [10, 20, 25]
    assert best_weight(folder) == 20.0


def test_a_record_whose_best_pt_is_gone_is_forgotten(tmp_path):
    folder, checkpointer = make_checkpointer(tmp_path)
    checkpointer.save(state_of(10, 1.0), 10)
    checkpointer.offer_best(10, SCORE, 30.0, higher_is_better=False)
    (folder.checkpoints_dir / BEST_NAME).unlink()
    again = Checkpointer(folder, keep=2, resumed_from=None)
    assert again.best is None
    assert again.offer_best(10, SCORE, 90.0, higher_is_better=False) is not None
