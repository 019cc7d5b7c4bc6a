"""Resume is exact: k steps, quit, resume to N gives bitwise the state of N steps straight, and every piece matters."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import resave_checkpoint, resume_with_a_fresh_piece, scramble_global_rngs, tiny_config
from ganstudio.core import engine
from ganstudio.core import events as ev
from ganstudio.core.checkpoint import load_checkpoint
from ganstudio.core.control import Control
from ganstudio.core.errors import CheckpointError
from ganstudio.core.generate import load_generator
from ganstudio.core.runs import RunFolder
from ganstudio.core.training import meter

TOTAL_STEPS = 12  # 40 pictures in batches of 8: five steps an epoch, so 12 ends mid-epoch
HANG_TIMEOUT_S = 900  # a safety net for a hung subprocess only: a loaded machine may take minutes


def final_state(run_dir: Path) -> dict:
    """Everything in the run's last checkpoint that training depends on (wall-clock time aside)."""
    state = load_checkpoint(RunFolder(run_dir).latest_checkpoint())
    counters = dict(state["counters"])
    counters.pop("train_seconds")
    return {"recipe": state["recipe"], "data": state["data"], "history": state["history"], "rng": state["rng"],
            "counters": counters}


def differences(a, b, path: str = "") -> list[str]:
    """Where two nested states differ; tensors must be bitwise equal (same dtype, shape and bits)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        same = (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype
                and a.shape == b.shape and torch.equal(a.view(torch.uint8) if a.dtype == torch.bool else a, b))
        return [] if same else [path]
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(map(str, set(a) ^ set(b)))}"]
        return [d for key in a for d in differences(a[key], b[key], f"{path}/{key}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [d for index, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}/{index}")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("straight")
    from conftest import write_pictures
    data = root / "pictures"
    write_pictures(data, 40)
    scramble_global_rngs()
    engine.run(tiny_config(data, root / "run", steps=TOTAL_STEPS))
    return data, final_state(root / "run")


@pytest.mark.parametrize("stop_after", [5, 7], ids=["at-epoch-boundary", "mid-epoch"])
def test_steps_then_resume_is_bitwise_exact(straight_run, tmp_path, stop_after):
    data, expected = straight_run
    run_dir = tmp_path / "run"
    engine.run(tiny_config(data, run_dir, steps=stop_after))
    scramble_global_rngs()
    result = engine.resume(run_dir, steps=TOTAL_STEPS)
    assert result.step == TOTAL_STEPS and result.reason == "completed"
    assert differences(expected, final_state(run_dir)) == []


def test_stop_request_then_resume_is_bitwise_exact(straight_run, tmp_path, monkeypatch):
    monkeypatch.setattr(meter, "STEP_EVENT_INTERVAL_S", 0.0)  # an event every step, so the stop lands on step 6
    data, expected = straight_run
    run_dir = tmp_path / "run"
    control = Control()

    def stop_at_step_6(event: ev.Event) -> None:
        if isinstance(event, ev.StepProgress) and event.step >= 6:
            control.request_stop()

    result = engine.run(tiny_config(data, run_dir, steps=TOTAL_STEPS), stop_at_step_6, control)
    assert result.reason == "stopped" and result.step == 6
    scramble_global_rngs()
    engine.resume(run_dir)  # no target given: continues to the 12 steps the run was started with
    assert differences(expected, final_state(run_dir)) == []


def test_resumed_loss_history_is_whole(straight_run, tmp_path):
    data, expected = straight_run
    run_dir = tmp_path / "run"
    engine.run(tiny_config(data, run_dir, steps=4))
    engine.resume(run_dir, steps=TOTAL_STEPS)
    history = final_state(run_dir)["history"]
    assert history["values"].shape == (TOTAL_STEPS, 8)
    assert history["names"] == ["D/real", "D/fake", "G/adv", "D(x)", "D(G(z))", "sign D(x)", "sign D(G(z))",
                                "augment p"]


# Negative control: each piece of state, when not restored (it keeps what a fresh start would have,
# here taken from an unrelated run's checkpoint), must make the comparison above fail.
PIECES = [
    ("recipe", "generator"), ("recipe", "discriminator"), ("recipe", "generator_average"),
    ("recipe", "optimizer_g"), ("recipe", "optimizer_d"), ("recipe", "fixed_latents"),
    ("data",), ("history",), ("counters",), ("rng", "python"), ("rng", "numpy"), ("rng", "torch"),
]


@pytest.fixture(scope="module")
def interrupted_and_fresh(straight_run, tmp_path_factory):
    data, _ = straight_run
    root = tmp_path_factory.mktemp("control")
    engine.run(tiny_config(data, root / "interrupted", steps=7))
    engine.run(tiny_config(data, root / "fresh", steps=1, seed=11))
    return root / "interrupted", load_checkpoint(RunFolder(root / "fresh").latest_checkpoint())


@pytest.mark.parametrize("piece", PIECES, ids=["/".join(p) for p in PIECES])
def test_leaving_out_any_piece_breaks_exactness(straight_run, interrupted_and_fresh, tmp_path, piece):
    _, expected = straight_run
    interrupted, fresh = interrupted_and_fresh
    run_dir = resume_with_a_fresh_piece(interrupted, fresh, piece, tmp_path / "run", TOTAL_STEPS)
    assert differences(expected, final_state(run_dir)) != [], f"leaving out {'/'.join(piece)} went unnoticed"


def checkpoint_without(interrupted: Path, piece: tuple, run_dir: Path) -> Path:
    """A copy of the interrupted run whose latest checkpoint lacks one piece (a key path into it)."""
    shutil.copytree(interrupted, run_dir)
    path = RunFolder(run_dir).latest_checkpoint()
    state = torch.load(path, weights_only=True)
    holder = state
    for key in piece[:-1]:
        holder = holder[key]
    del holder[piece[-1]]
    resave_checkpoint(path, state)
    return path


# Parts load_checkpoint checks, parts only the model knows (its optimisers, its fixed latents), and a key
# missing deep inside an optimiser's state, which only the model's load_state_dict finds.
MISSING = [("counters",), ("rng",), ("data",), ("history",), ("recipe", "optimizer_g"), ("recipe", "optimizer_d"),
           ("recipe", "fixed_latents"), ("rng", "numpy"), ("recipe", "optimizer_g", "param_groups", 0, "params")]


@pytest.mark.parametrize("piece", MISSING, ids=["/".join(map(str, p)) for p in MISSING])
def test_resuming_a_checkpoint_missing_a_part_is_one_sentence(interrupted_and_fresh, tmp_path, piece):
    interrupted, _ = interrupted_and_fresh
    path = checkpoint_without(interrupted, piece, tmp_path / "run")
    with pytest.raises(CheckpointError) as raised:
        engine.resume(tmp_path / "run", steps=TOTAL_STEPS)
    message = str(raised.value)
    assert message.startswith(f"{path.name} ") and "\n" not in message
    assert "earlier checkpoint of the run" in message


def test_generate_opens_a_checkpoint_training_could_not_continue(interrupted_and_fresh, tmp_path):
    interrupted, _ = interrupted_and_fresh
    checkpoint_without(interrupted, ("rng",), tmp_path / "run")
    assert load_generator(tmp_path / "run").step == 7, "generating needs no random number generator state"
    checkpoint_without(interrupted, ("config",), tmp_path / "other")
    with pytest.raises(CheckpointError, match="lacks the settings of its run, so it cannot be opened"):
        load_generator(tmp_path / "other")


def test_the_command_line_says_what_a_checkpoint_lacks_without_a_traceback(interrupted_and_fresh, tmp_path):
    interrupted, _ = interrupted_and_fresh
    path = checkpoint_without(interrupted, ("recipe", "optimizer_d"), tmp_path / "run")
    result = subprocess.run([sys.executable, "-m", "ganstudio", "resume", str(tmp_path / "run"),
                             "--steps", str(TOTAL_STEPS)],
                            capture_output=True, text=True, timeout=HANG_TIMEOUT_S)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"ganstudio: {path.name} is incomplete: its model's state lacks 'optimizer_d', "
                                     "so it cannot continue training; resume from an earlier checkpoint of the run, "
                                     "or start a new run.")
