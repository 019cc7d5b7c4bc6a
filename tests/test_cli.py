"""The ganstudio command as a user types it: exit codes, plain errors, training, Ctrl-C, resume and generate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganstudio import __version__
from ganstudio.core.export import read_png_metadata
from test_resume import differences, final_state

TINY = ["--size", "32", "--width", "8", "--batch-size", "8", "--device", "cpu", "--seed", "3"]
# Only a safety net for a hung command: no test passes or fails on how fast a command runs. With three
# heavy jobs on 2 cores, training 600 tiny steps took over 120 s.
HANG_TIMEOUT_S = 900


def ganstudio(*args: str, env_extra: dict | None = None, timeout: float = HANG_TIMEOUT_S) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "ganstudio", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_version_and_help():
    result = ganstudio("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"ganstudio {__version__}"
    result = ganstudio("--help")
    assert result.returncode == 0
    for command in ("train", "resume", "check", "generate", "animate", "bench"):
        assert command in result.stdout


def test_usage_errors_exit_2():
    assert ganstudio("train").returncode == 2  # no dataset
    assert ganstudio("train", "--demo", "--epochs", "3", "--steps", "4").returncode == 2
    assert ganstudio("train", "--demo", "--size", "48").returncode == 2
    assert ganstudio("train", "--demo", "--loss", "wasserstein").returncode == 2
    assert ganstudio("generate", "somewhere").returncode == 2  # --count, --seed, --out missing


def test_user_errors_exit_1_with_one_plain_sentence(tmp_path):
    result = ganstudio("train", "--data", str(tmp_path / "missing"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"ganstudio: {tmp_path / 'missing'} does not exist."
    result = ganstudio("resume", str(tmp_path))
    assert result.returncode == 1 and "not a GAN Studio run folder" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    bogus = tmp_path / "weights.pt"
    bogus.write_text("<html>not found</html>")
    result = ganstudio("generate", str(bogus), "--count", "1", "--seed", "1", "--out", str(tmp_path / "out"))
    assert result.returncode == 1 and "is a web page" in result.stderr
    result = ganstudio("train", "--demo", "--device", "cuda") if not _has_cuda() else None
    if result is not None:
        assert result.returncode == 1 and "no CUDA GPU" in result.stderr


def _has_cuda() -> bool:
    import torch
    return torch.cuda.is_available()


def test_train_writes_a_readable_run_folder(tiny_dataset, tmp_path):
    run_dir = tmp_path / "run"
    result = ganstudio("train", "--data", str(tiny_dataset), "--steps", "12", "--run", str(run_dir), *TINY)
    assert result.returncode == 0, result.stderr
    assert "Finished: 12 steps" in result.stdout
    assert (run_dir / "config.json").is_file() and (run_dir / "metrics.jsonl").is_file()
    # 40 pictures: a grid every 50 epochs (2,000 images) would be the rule, and one always at the end.
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["step_000000012.png"]
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["lineage.json", "step_000000012.pt"]
    grid = Image.open(run_dir / "samples" / "step_000000012.png")
    assert grid.size == (8 * 34 + 2, 8 * 34 + 2)  # 64 fixed samples of 32 px with 2 px gaps


def test_train_without_run_folder_uses_the_user_data_folder(tiny_dataset):
    result = ganstudio("train", "--data", str(tiny_dataset), "--steps", "2", *TINY)
    assert result.returncode == 0, result.stderr
    runs = list((Path(os.environ["GANSTUDIO_DATA_DIR"]) / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("tiny-dcgan-32px-")
    assert str(runs[0]) in result.stdout


def test_ctrl_c_saves_a_checkpoint_and_resume_is_exact(tiny_dataset, tmp_path):
    total = 600
    straight = tmp_path / "straight"
    assert ganstudio("train", "--data", str(tiny_dataset), "--steps", str(total), "--run", str(straight),
                     *TINY).returncode == 0
    run_dir = tmp_path / "interrupted"
    process = subprocess.Popen([sys.executable, "-m", "ganstudio", "train", "--data", str(tiny_dataset),
                                "--steps", str(total), "--run", str(run_dir), *TINY],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("step"):  # training is under way
            process.send_signal(signal.SIGINT)
            break
    out, err = process.communicate(timeout=HANG_TIMEOUT_S)
    assert process.returncode == 0, err
    assert "Stopped at step" in out and "ganstudio resume" in out
    checkpoints = sorted((run_dir / "checkpoints").glob("step_*.pt"))
    assert len(checkpoints) == 1
    stopped_at = int(checkpoints[0].stem.split("_")[1])
    assert 0 < stopped_at < total
    result = ganstudio("resume", str(run_dir))
    assert result.returncode == 0, result.stderr
    assert f"Finished: {total} steps" in result.stdout
    assert differences(final_state(straight), final_state(run_dir)) == []


def test_resume_targets(tiny_dataset, tmp_path):
    run_dir = tmp_path / "run"
    assert ganstudio("train", "--data", str(tiny_dataset), "--epochs", "1", "--run", str(run_dir), *TINY).returncode == 0
    again = ganstudio("resume", str(run_dir))
    assert again.returncode == 1 and "already finished 1 epochs" in again.stderr
    more = ganstudio("resume", str(run_dir), "--epochs", "2")
    assert more.returncode == 0 and "Finished: 10 steps, 2 epochs" in more.stdout
    timed = ganstudio("resume", str(run_dir), "--minutes", "0.001")
    assert timed.returncode == 0 and "Time is up" in timed.stdout


def test_generate_is_deterministic_and_carries_metadata(tiny_dataset, tmp_path):
    run_dir = tmp_path / "run"
    assert ganstudio("train", "--data", str(tiny_dataset), "--steps", "6", "--run", str(run_dir), *TINY).returncode == 0
    first = ganstudio("generate", str(run_dir), "--count", "5", "--seed", "7", "--out", str(tmp_path / "a"), "--grid")
    assert first.returncode == 0, first.stderr
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["grid_seed_7-11.png"] + [f"seed_{s:07d}.png" for s in range(7, 12)]
    single = ganstudio("generate", str(run_dir), "--count", "1", "--seed", "9", "--out", str(tmp_path / "b"))
    assert single.returncode == 0
    same = np.asarray(Image.open(tmp_path / "a" / "seed_0000009.png"))
    assert np.array_equal(same, np.asarray(Image.open(tmp_path / "b" / "seed_0000009.png")))
    assert not np.array_equal(same, np.asarray(Image.open(tmp_path / "a" / "seed_0000008.png")))
    metadata = read_png_metadata(tmp_path / "a" / "seed_0000009.png")
    assert metadata["seed"] == "9" and metadata["run"] == "run" and metadata["epoch"] == "1"
    assert metadata["step"] == "6" and metadata["app_version"] == __version__ and metadata["model"] == "dcgan"


def test_python_dash_m_and_entry_point_agree():
    result = subprocess.run([sys.executable, "-c", "from ganstudio.cli import main; raise SystemExit(main(['--version']))"],
                            capture_output=True, text=True)
    assert result.stdout.strip() == f"ganstudio {__version__}"
